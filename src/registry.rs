//! The key registry: at most two active verification keys chosen by `kid`,
//! rotated without stopping readers.

mod import;
mod rfc3339;
mod verification_key;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;

pub use verification_key::VerificationKey;

use crate::error::{Error, Escaped};
use crate::{Clock, JwkSet, Limits, SystemClock, Verified, jws};

/// The most keys a registry holds at once.
pub const MAX_ACTIVE_KEYS: usize = 2;

/// The active verification keys, as one consistent snapshot.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    /// The key with exactly this id (byte-for-byte, case-sensitive).
    pub fn get(&self, kid: &str) -> Option<&VerificationKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The keys in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &VerificationKey> {
        self.keys.iter()
    }

    /// How many keys are active.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Never true for a registry's set; present for completeness.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// At most two active verification keys, chosen by the token's `kid`.
///
/// The rules, each enforced and tested:
/// - one or two active keys: adding a third is [`Error::KeyLimit`], removing
///   the last is [`Error::LastKey`];
/// - ids are unique ([`Error::DuplicateKeyId`]) and never rebound to other
///   key material, even after removal ([`Error::KeyIdReused`]);
/// - a token with a `kid` is checked against that key only; an unknown `kid`
///   is [`Error::UnknownKeyId`], never a fallback to another key;
/// - a token without `kid` is tried against each active key in registration
///   order, unless [`KeyRegistry::require_kid`] is set;
/// - each key verifies one algorithm; an expired key does not verify.
///
/// Readers never block: verification loads an `Arc` snapshot of the key set
/// without a lock, while writers (serialized among themselves) publish a
/// complete new set in one atomic swap.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{jws, Algorithm, Header, KeyRegistry, Limits, PrivateKey, RsaSigner, VerificationKey};
/// let private = PrivateKey::from_pem(include_str!("../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let registry = KeyRegistry::new(VerificationKey::new("k1", private.public_key().clone(), Algorithm::RS256)?);
///
/// let signer = RsaSigner::new(private, Algorithm::RS256).with_key_id("k1");
/// let token = jws::sign(&Header::for_signer(&signer), b"{}", &signer)?;
/// assert_eq!(registry.verify(&token, &Limits::default())?.key_id(), Some("k1"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct KeyRegistry {
    active: ArcSwap<KeySet>,
    /// Every id ever registered and its key material; held while writing.
    history: Mutex<HashMap<String, Option<String>>>,
    require_kid: bool,
    clock: Arc<dyn Clock>,
    leeway: Duration,
}

impl KeyRegistry {
    /// A registry holding `first`.
    pub fn new(first: VerificationKey) -> Self {
        let history = HashMap::from([(first.kid().to_owned(), first.fingerprint())]);
        KeyRegistry {
            active: ArcSwap::from_pointee(KeySet { keys: vec![first] }),
            history: Mutex::new(history),
            require_kid: false,
            clock: Arc::new(SystemClock),
            leeway: Duration::ZERO,
        }
    }

    /// A registry holding one or two keys.
    ///
    /// # Errors
    ///
    /// [`Error::LastKey`] for none, [`Error::KeyLimit`] for more than two,
    /// [`Error::DuplicateKeyId`] for a repeated id.
    pub fn from_keys(keys: impl IntoIterator<Item = VerificationKey>) -> Result<Self, Error> {
        let mut keys = keys.into_iter();
        let registry = KeyRegistry::new(keys.next().ok_or(Error::LastKey)?);
        for key in keys {
            registry.add(key)?;
        }
        Ok(registry)
    }

    /// Refuses tokens without `kid` instead of trying each key.
    #[must_use]
    pub fn require_kid(mut self, require: bool) -> Self {
        self.require_kid = require;
        self
    }

    /// Uses `clock` for key expiry (tests, replays).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Lets a key verify for `leeway` past its expiry (clock skew).
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The clock the registry judges expiry by.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// A consistent snapshot of the active keys.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.active.load_full()
    }

    /// The active key ids in registration order.
    pub fn key_ids(&self) -> Vec<String> {
        self.active
            .load()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// Registers another key.
    ///
    /// # Errors
    ///
    /// [`Error::KeyLimit`], [`Error::DuplicateKeyId`] or [`Error::KeyIdReused`].
    pub fn add(&self, key: VerificationKey) -> Result<(), Error> {
        self.write(|keys, history| {
            if keys.len() >= MAX_ACTIVE_KEYS {
                return Err(Error::KeyLimit {
                    limit: MAX_ACTIVE_KEYS,
                });
            }
            admit(&key, keys, history)?;
            keys.push(key);
            Ok(())
        })
    }

    /// Retires the key with id `kid`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`] if it is not active, [`Error::LastKey`] if it is the only one.
    pub fn remove(&self, kid: &str) -> Result<(), Error> {
        self.write(|keys, _| {
            let at = position(keys, kid)?;
            if keys.len() == 1 {
                return Err(Error::LastKey);
            }
            keys.remove(at);
            Ok(())
        })
    }

    /// Retires `old_kid` and registers `key` in one step, so that readers
    /// see either the old set or the new one.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`] for `old_kid`, and the errors of [`KeyRegistry::add`].
    pub fn replace(&self, old_kid: &str, key: VerificationKey) -> Result<(), Error> {
        self.write(|keys, history| {
            let at = position(keys, old_kid)?;
            let removed = keys.remove(at);
            if let Err(e) = admit(&key, keys, history) {
                keys.insert(at, removed);
                return Err(e);
            }
            keys.insert(at, key);
            Ok(())
        })
    }

    /// Runs one change on a copy of the set and publishes it if it succeeds.
    fn write(
        &self,
        change: impl FnOnce(
            &mut Vec<VerificationKey>,
            &mut HashMap<String, Option<String>>,
        ) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // A panic in another writer cannot leave the history half-written:
        // entries are only ever inserted whole.
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let mut keys = self.active.load().keys.clone();
        change(&mut keys, &mut history)?;
        self.active.store(Arc::new(KeySet { keys }));
        Ok(())
    }

    /// Verifies a compact JWS against the active keys and returns the
    /// payload, the header and the id of the key that matched.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`], [`Error::MissingKeyId`], [`Error::KeyExpired`],
    /// [`Error::AlgorithmMismatch`], [`Error::BadSignature`], and every
    /// parsing error of [`jws::verify`].
    pub fn verify(&self, token: &str, limits: &Limits) -> Result<Verified<Vec<u8>>, Error> {
        self.verify_inner(token, None, limits)
    }

    /// As [`KeyRegistry::verify`], for a token whose payload is detached.
    ///
    /// # Errors
    ///
    /// As for [`KeyRegistry::verify`].
    pub fn verify_detached(
        &self,
        token: &str,
        payload: &[u8],
        limits: &Limits,
    ) -> Result<Verified<Vec<u8>>, Error> {
        self.verify_inner(token, Some(payload), limits)
    }

    fn verify_inner(
        &self,
        token: &str,
        detached: Option<&[u8]>,
        limits: &Limits,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let parsed = jws::parse(token, limits)?;
        let key = self.select(parsed.header.kid.as_deref(), |key| {
            parsed.check(key.verifier(), detached)
        })?;
        let kid = key.kid().to_owned();
        parsed.into_verified(detached, Some(kid))
    }

    /// Picks the key for a token: the one named by `kid`, or else the first
    /// active key for which `check` succeeds. Used by every verifier built
    /// on the registry.
    pub(crate) fn select(
        &self,
        kid: Option<&str>,
        check: impl Fn(&VerificationKey) -> Result<(), Error>,
    ) -> Result<VerificationKey, Error> {
        let set = self.active.load();
        let now = self.clock.now();
        if let Some(kid) = kid {
            let key = set
                .get(kid)
                .ok_or_else(|| Error::UnknownKeyId(Escaped::new(kid)))?;
            key.check_not_expired(now, self.leeway)?;
            check(key)?;
            return Ok(key.clone());
        }
        if self.require_kid {
            return Err(Error::MissingKeyId);
        }
        // No kid: try each key. The error reported is the most telling one:
        // a bad signature over an algorithm mismatch over an expired key.
        let mut failure: Option<Error> = None;
        for key in set.iter() {
            let outcome = key
                .check_not_expired(now, self.leeway)
                .and_then(|()| check(key));
            match outcome {
                Ok(()) => return Ok(key.clone()),
                Err(e) => {
                    if rank(&e) >= failure.as_ref().map_or(0, rank) {
                        failure = Some(e);
                    }
                }
            }
        }
        Err(failure.unwrap_or(Error::BadSignature))
    }

    /// The public keys as a JWKS (`kid`, `alg`, `use: sig`), in registration
    /// order. Keys verified elsewhere ([`VerificationKey::from_verifier`]) are left out.
    pub fn to_jwks(&self) -> JwkSet {
        let set = self.active.load();
        JwkSet::new(
            set.iter()
                .filter_map(|key| {
                    let jwk = key
                        .public_key()?
                        .to_jwk()
                        .with_kid(key.kid())
                        .with_alg(key.algorithm());
                    Some(jwk.for_signatures())
                })
                .collect(),
        )
    }
}

fn rank(e: &Error) -> u8 {
    match e {
        Error::KeyExpired(_) => 1,
        Error::AlgorithmMismatch { .. } => 2,
        _ => 3,
    }
}

fn position(keys: &[VerificationKey], kid: &str) -> Result<usize, Error> {
    keys.iter()
        .position(|k| k.kid() == kid)
        .ok_or_else(|| Error::UnknownKeyId(Escaped::new(kid)))
}

/// Checks the id rules for a key about to join `keys`, and records it.
fn admit(
    key: &VerificationKey,
    keys: &[VerificationKey],
    history: &mut HashMap<String, Option<String>>,
) -> Result<(), Error> {
    if keys.iter().any(|k| k.kid() == key.kid()) {
        return Err(Error::DuplicateKeyId(Escaped::new(key.kid())));
    }
    let fingerprint = key.fingerprint();
    match history.get(key.kid()) {
        // Same id, same material and algorithm: re-registering is allowed.
        Some(Some(seen)) if Some(seen) == fingerprint.as_ref() => {}
        Some(_) => return Err(Error::KeyIdReused(Escaped::new(key.kid()))),
        None => {
            history.insert(key.kid().to_owned(), fingerprint);
        }
    }
    Ok(())
}
