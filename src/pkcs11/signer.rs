//! A [`Signer`] whose RSA, EC or Ed25519 key stays on a PKCS#11 token.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;

use super::location::{KeyLocation, KeyMatch, Pin, TokenMatch};
use crate::backend::active as backend;
use crate::error::{Error, Escaped};
use crate::{Algorithm, PublicKey, Signer};

/// Signs with a private key that never leaves a PKCS#11 token (an HSM, a
/// cloud HSM cluster, SoftHSM): RSA keys RS256/384/512 with
/// `CKM_SHA*_RSA_PKCS` and PS256/384/512 with `CKM_SHA*_RSA_PKCS_PSS` (MGF1
/// with the same hash, salt as long as the hash); EC keys ES256/384/512 with
/// `CKM_ECDSA` over the message's SHA-2 digest, taken here (the token's
/// `R || S` is already the JWS form); Ed25519 keys EdDSA/Ed25519 with
/// `CKM_EDDSA`.
///
/// Opening it finds the token and the key, checks that the key is of a
/// supported kind, allows the algorithm, may sign (`CKA_SIGN`) and that the
/// token offers the mechanism, logs in once and reads the public half (RSA:
/// the private key's `CKA_MODULUS`, `CKA_PUBLIC_EXPONENT`; EC and Ed25519:
/// `CKA_EC_PARAMS`, and `CKA_EC_POINT` of the public key object with the
/// same `CKA_ID`), so the verifying side and the JWKS need no separate file
/// ([`Pkcs11Signer::public_key`]).
///
/// Signing takes a session from a bounded pool (4 by default; PKCS#11
/// sessions cannot be shared mid-operation), waiting when all are busy. A
/// session the module invalidated (closed underneath, logged out, token
/// reinserted) is replaced and the user logged in again, once per
/// signature. A PIN the token refuses is a configuration error and is never
/// tried again: tokens lock after a few wrong PINs. A token that cannot
/// answer is [`Error::Unavailable`].
///
/// Calls into the module block the calling thread for the signature's
/// duration, like any local signer.
///
/// ```no_run
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::Algorithm;
/// use signed_payloads::pkcs11::{KeyLocation, Pkcs11Signer};
/// use signed_payloads::request::RequestSigner;
/// let at = KeyLocation::from_uri(
///     "pkcs11:token=payments;object=api-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin",
/// )?;
/// let hsm = Pkcs11Signer::open(at, Algorithm::PS256)?.with_key_id("api-2026");
/// let public = hsm.public_key().clone(); // for the verifier and the JWKS
/// let signer = RequestSigner::new(Arc::new(hsm));
/// let token = signer.sign_json(br#"{"amount":100}"#)?;
/// # Ok(()) }
/// ```
pub struct Pkcs11Signer {
    context: Pkcs11,
    slot: Slot,
    key: KeyMatch,
    pin: Pin,
    algorithm: Algorithm,
    key_id: Option<String>,
    public: PublicKey,
    pool: Mutex<Pool>,
    returned: Condvar,
    max_sessions: usize,
}

/// Idle sessions, and how many are open in all (idle or signing).
struct Pool {
    idle: Vec<(Session, ObjectHandle)>,
    open: usize,
    /// Set once the token refused the PIN: nothing is tried again.
    pin_refused: bool,
}

/// What the token is called in errors.
const WHAT: &str = "the PKCS#11 token";

impl Pkcs11Signer {
    /// Loads the module, finds the token and the key, and logs in.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a module that does not load, a token or key
    /// that is not there (or is there twice), a key of a kind the crate does
    /// not sign with or that may not sign, a mechanism the token lacks, or a
    /// refused PIN; [`Error::KeyRejected`] for a public half the crate
    /// refuses (an RSA modulus under 2048 bits, say) or an algorithm the
    /// key's kind does not allow;
    /// [`Error::Unavailable`] when the token cannot answer.
    pub fn open(location: KeyLocation, algorithm: Algorithm) -> Result<Self, Error> {
        let context = loaded(&location.module)?;
        Self::with_context(context, location, algorithm)
    }

    /// As [`Pkcs11Signer::open`], on a module the application has loaded and
    /// initialized itself (PKCS#11 wants one context per module and process;
    /// [`Pkcs11Signer::open`] keeps one per module path).
    ///
    /// # Errors
    ///
    /// As for [`Pkcs11Signer::open`].
    pub fn with_context(
        context: Pkcs11,
        location: KeyLocation,
        algorithm: Algorithm,
    ) -> Result<Self, Error> {
        let slot = find_token(&context, &location.token)?;
        let mechanism = mechanism(algorithm)?;
        let offered = context.get_mechanism_list(slot).map_err(fault)?;
        if !offered.contains(&mechanism.mechanism_type()) {
            return Err(Error::Config(format!(
                "the token does not offer {} ({algorithm})",
                mechanism.mechanism_type()
            )));
        }
        let session = context.open_ro_session(slot).map_err(fault)?;
        log_in(&session, &location.pin)?;
        let handle = find_key(&session, &location.key)?;
        let public = public_half(&session, handle)?;
        public.kind().check_algorithm(algorithm)?;
        Ok(Pkcs11Signer {
            context,
            slot,
            key: location.key,
            pin: location.pin,
            algorithm,
            key_id: None,
            public,
            pool: Mutex::new(Pool {
                idle: vec![(session, handle)],
                open: 1,
                pin_refused: false,
            }),
            returned: Condvar::new(),
            max_sessions: 4,
        })
    }

    /// Announces `key_id` as the `kid`.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// At most `sessions` (at least 1) signatures at once; more wait.
    #[must_use]
    pub fn with_max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions.max(1);
        self
    }

    /// The public half, read from the token.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// How many sessions are open now (never more than the maximum).
    pub fn open_sessions(&self) -> usize {
        self.lock().open
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle session, a new one while under the maximum, or the next one
    /// returned.
    fn take(&self) -> Result<(Session, ObjectHandle), Error> {
        let mut pool = self.lock();
        loop {
            if pool.pin_refused {
                return Err(pin_refused());
            }
            if let Some(idle) = pool.idle.pop() {
                return Ok(idle);
            }
            if pool.open < self.max_sessions {
                pool.open += 1;
                drop(pool);
                return self.fresh_session().inspect_err(|_| self.lock().open -= 1);
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A new session, logged in, with the key found in it.
    fn fresh_session(&self) -> Result<(Session, ObjectHandle), Error> {
        let session = self.context.open_ro_session(self.slot).map_err(fault)?;
        if let Err(e) = log_in(&session, &self.pin) {
            if matches!(e, Error::Config(_)) {
                self.lock().pin_refused = true;
            }
            return Err(e);
        }
        let handle = find_key(&session, &self.key)?;
        Ok((session, handle))
    }

    fn give_back(&self, session: (Session, ObjectHandle)) {
        self.lock().idle.push(session);
        self.returned.notify_one();
    }

    /// Closes every idle session, freeing their places.
    fn discard_idle(&self) {
        let idle = {
            let mut pool = self.lock();
            let idle = std::mem::take(&mut pool.idle);
            pool.open -= idle.len();
            idle
        };
        drop(idle);
        self.returned.notify_all();
    }

    /// A session that failed for good: closed, its place freed.
    fn discard(&self, session: Session) {
        drop(session);
        self.lock().open -= 1;
        self.returned.notify_one();
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mechanism = mechanism(self.algorithm)?;
        // CKM_ECDSA signs a digest: the hash is taken here.
        let digest = match self.algorithm {
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => self
                .algorithm
                .sha2_bits()
                .map(|bits| backend::sha2(bits, message)),
            _ => None,
        };
        let input = digest.as_deref().unwrap_or(message);
        let mut replaced = false;
        loop {
            let (session, handle) = self.take()?;
            match session.sign(&mechanism, handle, input) {
                Ok(signature) => {
                    self.give_back((session, handle));
                    return Ok(signature);
                }
                Err(e) => {
                    self.discard(session);
                    if replaced || !invalidated(&e) {
                        return Err(fault(e));
                    }
                    // Logins and closes are token-wide: the idle sessions
                    // went with this one. Replace them (and the login), once.
                    self.discard_idle();
                    replaced = true;
                }
            }
        }
    }
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("slot", &self.slot.id())
            .field("key", &self.key)
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .field("public_key", &self.public.thumbprint())
            .field("max_sessions", &self.max_sessions)
            .finish_non_exhaustive()
    }
}

/// The process's one context for the module at `path`, loaded and
/// initialized on first use and kept for the process's life: PKCS#11 wants
/// one initialization per process, and unloading a module that others in
/// the process still use (or reloading it) is not safe for every module.
fn loaded(path: &Path) -> Result<Pkcs11, Error> {
    static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, context)) = modules.iter().find(|(loaded, _)| loaded == path) {
        return Ok(context.clone());
    }
    let context = Pkcs11::new(path).map_err(|e| {
        Error::Config(format!(
            "cannot load the PKCS#11 module {}: {e}",
            path.display()
        ))
    })?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(fault(e)),
    }
    modules.push((path.to_owned(), context.clone()));
    Ok(context)
}

/// The mechanism that makes `algorithm`'s signatures.
fn mechanism(algorithm: Algorithm) -> Result<Mechanism<'static>, Error> {
    let pss = |hash_alg, mgf, s_len: u64| PkcsPssParams {
        hash_alg,
        mgf,
        s_len: s_len.into(),
    };
    Ok(match algorithm {
        Algorithm::RS256 => Mechanism::Sha256RsaPkcs,
        Algorithm::RS384 => Mechanism::Sha384RsaPkcs,
        Algorithm::RS512 => Mechanism::Sha512RsaPkcs,
        Algorithm::PS256 => {
            Mechanism::Sha256RsaPkcsPss(pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32))
        }
        Algorithm::PS384 => {
            Mechanism::Sha384RsaPkcsPss(pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48))
        }
        Algorithm::PS512 => {
            Mechanism::Sha512RsaPkcsPss(pss(MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, 64))
        }
        Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => Mechanism::Ecdsa,
        Algorithm::EdDSA | Algorithm::Ed25519 => {
            Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))
        }
    })
}

/// The slot whose token matches.
fn find_token(context: &Pkcs11, token: &TokenMatch) -> Result<Slot, Error> {
    let mut found = Vec::new();
    for slot in context.get_slots_with_token().map_err(fault)? {
        let info = context.get_token_info(slot).map_err(fault)?;
        let matches = match token {
            TokenMatch::Label(label) => info.label().trim_end() == label,
            TokenMatch::Serial(serial) => info.serial_number().trim_end() == serial,
        };
        if matches {
            found.push(slot);
        }
    }
    match found[..] {
        [slot] => Ok(slot),
        [] => Err(Error::Config(format!(
            "no PKCS#11 token {} is present",
            describe_token(token)
        ))),
        _ => Err(Error::Config(format!(
            "more than one PKCS#11 token {}; name it by serial",
            describe_token(token)
        ))),
    }
}

fn describe_token(token: &TokenMatch) -> String {
    match token {
        TokenMatch::Label(label) => format!("labelled {}", Escaped::new(label)),
        TokenMatch::Serial(serial) => format!("with serial {}", Escaped::new(serial)),
    }
}

/// Logs the user in; already logged in (by another session) is fine.
fn log_in(session: &Session, pin: &Pin) -> Result<(), Error> {
    match session.login(UserType::User, Some(&pin.0)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(
            RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
            _,
        )) => Err(pin_refused()),
        Err(CkError::Pkcs11(RvError::PinLocked | RvError::PinExpired, _)) => Err(Error::Config(
            "the PKCS#11 token's user PIN is locked or expired".into(),
        )),
        Err(e) => Err(fault(e)),
    }
}

fn pin_refused() -> Error {
    Error::Config("the PKCS#11 token refused the PIN (not tried again: tokens lock)".into())
}

/// The one private key that matches, checked to be RSA, EC or EC_EDWARDS
/// and allowed to sign.
fn find_key(session: &Session, key: &KeyMatch) -> Result<ObjectHandle, Error> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    let described = match key {
        KeyMatch::Label(label) => {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
            format!("labelled {}", Escaped::new(label))
        }
        KeyMatch::Id(id) => {
            template.push(Attribute::Id(id.clone()));
            format!("with id {}", crate::base64url::encode(id))
        }
    };
    let handle = match session.find_objects(&template).map_err(fault)?[..] {
        [handle] => handle,
        [] => {
            return Err(Error::Config(format!(
                "no private key {described} on the PKCS#11 token"
            )));
        }
        _ => {
            return Err(Error::Config(format!(
                "more than one private key {described} on the PKCS#11 token"
            )));
        }
    };
    let attributes = session
        .get_attributes(handle, &[AttributeType::KeyType, AttributeType::Sign])
        .map_err(fault)?;
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(kind)
                if ![KeyType::RSA, KeyType::EC, KeyType::EC_EDWARDS].contains(&kind) =>
            {
                return Err(Error::Config(format!(
                    "the private key {described} is {kind}; RSA, EC and EC_EDWARDS keys sign"
                )));
            }
            Attribute::Sign(false) => {
                return Err(Error::Config(format!(
                    "the private key {described} may not sign (CKA_SIGN is false)"
                )));
            }
            _ => {}
        }
    }
    Ok(handle)
}

/// The public half: an RSA private key's own modulus and exponent; for EC
/// and Ed25519 keys, the curve the private key names (`CKA_EC_PARAMS`) and
/// the point of the public key object with the same `CKA_ID` (PKCS#11
/// private EC keys do not carry it).
fn public_half(session: &Session, handle: ObjectHandle) -> Result<PublicKey, Error> {
    let attributes = session
        .get_attributes(
            handle,
            &[
                AttributeType::KeyType,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::EcParams,
                AttributeType::Id,
            ],
        )
        .map_err(fault)?;
    let (mut kind, mut modulus, mut exponent, mut params, mut id) = (None, None, None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(k) => kind = Some(k),
            Attribute::Modulus(n) => modulus = Some(n),
            Attribute::PublicExponent(e) => exponent = Some(e),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::Id(i) => id = Some(i),
            _ => {}
        }
    }
    if kind == Some(KeyType::RSA) {
        return match (modulus, exponent) {
            (Some(n), Some(e)) => PublicKey::from_components(&n, &e),
            _ => Err(Error::Config(
                "the PKCS#11 token does not show the key's modulus and public exponent".into(),
            )),
        };
    }
    let params = params.ok_or_else(|| {
        Error::Config("the PKCS#11 token does not show the key's curve (CKA_EC_PARAMS)".into())
    })?;
    let curve = crate::key::curve_of_ec_params(&params)?;
    let id = id.ok_or_else(|| {
        Error::Config("the PKCS#11 private key has no CKA_ID to find its public key by".into())
    })?;
    let template = [Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::Id(id)];
    let point = match session.find_objects(&template).map_err(fault)?[..] {
        [public] => session
            .get_attributes(public, &[AttributeType::EcPoint])
            .map_err(fault)?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(point) => Some(point),
                _ => None,
            }),
        _ => None,
    }
    .ok_or_else(|| {
        Error::Config(
            "the PKCS#11 token holds no one public key object with the private key's CKA_ID, whose CKA_EC_POINT gives the public half"
                .into(),
        )
    })?;
    crate::key::public_from_ec_point_attribute(curve, &point)
}

/// True for the failures a new session (and login) cures.
fn invalidated(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent,
            _
        )
    )
}

/// Any other failure: the caller's configuration when it names a setting,
/// else the token that cannot answer.
fn fault(e: CkError) -> Error {
    match &e {
        CkError::Pkcs11(
            RvError::MechanismInvalid
            | RvError::MechanismParamInvalid
            | RvError::KeyTypeInconsistent
            | RvError::KeyFunctionNotPermitted
            | RvError::KeySizeRange,
            _,
        ) => Error::Config(format!("the PKCS#11 token refused the request: {e}")),
        _ => Error::Unavailable {
            what: WHAT,
            source: Box::new(e),
        },
    }
}
