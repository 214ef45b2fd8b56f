//! The integrator's side: verifying each response.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::profile::{MAX_TOKEN_LEN, ResponseMode, ResponseProfile};
use crate::error::{Error, Escaped, Malformed};
use crate::jws::{Parsed, is_compact_jwe};
use crate::nonce::{ReplayEntry, refuse_replay, refuse_replay_async};
use crate::pipeline::{Core, Rules};
use crate::{
    AsyncKeySource, AsyncNonceStore, Clock, Encryption, KeyRegistry, KeySet, KeySource,
    MemoryNonceStore, NonceStore, Verified,
};

/// The replay scope of response nonces.
const SCOPE: &str = "response";

/// Verifies signed responses against the API's keys, in header or embedded mode.
///
/// Replay defence is off by default; [`ResponseVerifier::with_replay_store`]
/// turns it on for header mode (a token seen before is [`Error::Replayed`]).
///
/// `K` is where the keys come from: a [`KeyRegistry`] (or any
/// [`KeySource`]) gives sync methods; the API's JWKS endpoint, a
/// [`RemoteJwks`](crate::RemoteJwks) (feature `jwks-http`), is an
/// [`AsyncKeySource`] and gives only the `*_async` methods, as does an
/// [`AsyncNonceStore`] such as Redis. Both kinds go through the same checks.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, KeyRegistry, PrivateKey, KeySigner, VerificationKey};
/// use signed_payloads::response::{ResponseSigner, ResponseVerifier};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let registry = KeyRegistry::new(VerificationKey::new("api-2026", key.public_key().clone(), Algorithm::PS384)?);
/// let signer = ResponseSigner::new(Arc::new(KeySigner::new(key, Algorithm::PS384)?.with_key_id("api-2026")));
///
/// let headers = signer.sign_headers(200, b"{}")?;
/// let verifier = ResponseVerifier::new(Arc::new(registry));
/// let verified = verifier.verify_headers(200, headers.iter(), b"{}")?;
/// assert_eq!(verified.key_id(), Some("api-2026"));
/// assert!(verifier.verify_headers(201, headers.iter(), b"{}").is_err());
/// # Ok(()) }
/// ```
pub struct ResponseVerifier<K: ?Sized = KeyRegistry, R: ?Sized = MemoryNonceStore> {
    core: Core<K, R>,
    profile: ResponseProfile,
    #[cfg(feature = "jwe")]
    decrypter: Option<Arc<dyn crate::jwe::Decrypter>>,
}

/// The signature headers of a response, read and checked for shape.
struct SignedHeaders {
    key_id: String,
    token: String,
    signature: Vec<u8>,
    /// What the signature covers: the profile's layout of body, status, token.
    input: Vec<u8>,
}

impl<K: ?Sized> ResponseVerifier<K> {
    /// A verifier over the API's keys, with the default profile and limits.
    pub fn new(keys: Arc<K>) -> Self {
        ResponseVerifier {
            core: Core::new(keys, Rules::jws()),
            profile: ResponseProfile::default(),
            #[cfg(feature = "jwe")]
            decrypter: None,
        }
    }
}

impl<K: ?Sized, R: ?Sized> ResponseVerifier<K, R> {
    /// Uses another profile.
    #[must_use]
    pub fn with_profile(mut self, profile: ResponseProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Uses `clock` to judge key expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.core.rules.clock = clock;
        self
    }

    /// Refuses header-mode responses whose token was seen within `window`.
    ///
    /// Header-mode responses carry no timestamp, so a replay older than the
    /// window is not detected: choose it to cover the time a response can
    /// usefully be replayed. Share one store (Redis) between the instances
    /// of a fleet.
    #[must_use]
    pub fn with_replay_store<S: ?Sized>(
        self,
        store: Arc<S>,
        window: Duration,
    ) -> ResponseVerifier<K, S> {
        ResponseVerifier {
            core: self.core.with_replay(store, Some(window)),
            profile: self.profile,
            #[cfg(feature = "jwe")]
            decrypter: self.decrypter,
        }
    }

    /// Decrypts embedded responses encrypted to the client (message-level encryption).
    #[cfg(feature = "jwe")]
    #[must_use]
    pub fn with_decrypter(mut self, decrypter: Arc<dyn crate::jwe::Decrypter>) -> Self {
        self.decrypter = Some(decrypter);
        self
    }

    /// The profile in use.
    pub fn profile(&self) -> &ResponseProfile {
        &self.profile
    }

    crate::pipeline::shared_settings!();

    /// Picks the three signature headers out of `headers`.
    fn read_headers<I, N, V>(
        &self,
        headers: I,
        body: &[u8],
        status: u16,
    ) -> Result<SignedHeaders, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        self.core
            .rules
            .limits
            .check_size("response body", body.len())?;
        let names = [
            self.profile.key_id_header(),
            self.profile.token_header(),
            self.profile.signature_header(),
        ];
        let mut values: [Option<String>; 3] = [None, None, None];
        for (name, value) in headers {
            let Some(slot) = names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name.as_ref()))
            else {
                continue;
            };
            if values[slot].is_some() {
                return Err(Malformed::DuplicateHeader(Escaped::new(names[slot])).into());
            }
            let value = value.as_ref();
            if value.len() > MAX_TOKEN_LEN * 8 || !value.iter().all(u8::is_ascii_graphic) {
                return Err(Malformed::BadHeaderValue(Escaped::new(names[slot])).into());
            }
            values[slot] = Some(String::from_utf8_lossy(value).into_owned());
        }
        let [key_id, token, signature] = values;
        let missing = |i: usize| Error::from(Malformed::MissingHeader(Escaped::new(names[i])));
        let (key_id, token) = (
            key_id.ok_or_else(|| missing(0))?,
            token.ok_or_else(|| missing(1))?,
        );
        let signature = self
            .profile
            .decode_signature(signature.ok_or_else(|| missing(2))?.as_bytes())?;
        let input = self.profile.signing_input(body, status, &token)?;
        Ok(SignedHeaders {
            key_id,
            token,
            signature,
            input,
        })
    }

    /// The header-mode core: the signature by the key the key-id header names.
    fn check_headers(
        &self,
        signed: &SignedHeaders,
        keys: &KeySet,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error> {
        let key = self.core.rules.check_signature(
            keys,
            &signed.key_id,
            &signed.input,
            &signed.signature,
        )?;
        Ok(Verified::new(body.to_vec(), None, Some(key.shared_kid()))
            .with_nonce(signed.token.clone()))
    }

    /// The response nonce to check, when a replay store is set: kept for
    /// the window, and (a nonce saying nothing of its age) possibly first
    /// used as long as one window ago.
    fn replay_entry(&self, nonce: &str) -> Result<Option<(&R, ReplayEntry)>, Error> {
        let Some(replay) = &self.core.replay else {
            return Ok(None);
        };
        match replay.window {
            Some(window) if !window.is_zero() => {
                let now = self.core.rules.clock.now();
                let earliest_use = now.checked_sub(window).unwrap_or(UNIX_EPOCH);
                let entry = ReplayEntry::new(SCOPE, nonce, window, now, earliest_use);
                Ok(Some((&*replay.store, entry)))
            }
            _ => Err(Error::Config(
                "the replay window is zero, which would remember nothing; give a positive window"
                    .into(),
            )),
        }
    }

    /// The compact JWS inside an embedded body: the body itself, or the
    /// plaintext of an encrypted body (which must be a JWS: anyone can
    /// encrypt to a public key). `true` when it was decrypted.
    fn embedded_jws<'b>(&self, body: &'b [u8]) -> Result<(std::borrow::Cow<'b, str>, bool), Error> {
        let token = std::str::from_utf8(body)
            .map_err(|_| Malformed::NotUtf8)?
            .trim_ascii();
        if !is_compact_jwe(token.as_bytes()) {
            return Ok((token.into(), false));
        }
        let inner = self.decrypt(token)?;
        let inner = String::from_utf8(inner).map_err(|_| Malformed::NotUtf8)?;
        if memchr::memchr_iter(b'.', inner.as_bytes()).count() != 2 {
            return Err(Malformed::Jwe(
                "the encrypted response holds no signed JWS; refused, since anyone can encrypt to a public key".into(),
            )
            .into());
        }
        Ok((inner.into(), true))
    }

    /// After the signature: a payload that is itself a JWE is decrypted when
    /// a decrypter is configured and returned untouched otherwise.
    fn open_payload(
        &self,
        verified: Verified<Vec<u8>>,
        decrypted: bool,
    ) -> Result<Verified<Vec<u8>>, Error> {
        if decrypted {
            return Ok(verified.with_encryption(Encryption::Decrypted));
        }
        if !is_compact_jwe(verified.payload()) {
            return Ok(verified);
        }
        #[cfg(feature = "jwe")]
        if self.decrypter.is_some() {
            let jwe = std::str::from_utf8(verified.payload()).map_err(|_| Malformed::NotUtf8)?;
            let plaintext = self.decrypt(jwe)?;
            return Ok(verified
                .map(|_| plaintext)
                .with_encryption(Encryption::Decrypted));
        }
        Ok(verified.with_encryption(Encryption::Encrypted))
    }

    #[cfg(feature = "jwe")]
    fn decrypt(&self, jwe: &str) -> Result<Vec<u8>, Error> {
        let decrypter = self.decrypter.as_ref().ok_or_else(|| {
            Error::from(Malformed::Jwe(
                "the response is encrypted and no decrypter is configured".into(),
            ))
        })?;
        Ok(crate::jwe::decrypt(jwe, &**decrypter, &self.core.rules.limits)?.plaintext)
    }

    #[cfg(not(feature = "jwe"))]
    fn decrypt(&self, _jwe: &str) -> Result<Vec<u8>, Error> {
        Err(Malformed::Jwe(
            "the response is encrypted; enable the `jwe` feature to decrypt it".into(),
        )
        .into())
    }

    fn parse<'t>(&self, token: &'t str) -> Result<Parsed<'t>, Error> {
        self.core.rules.parse(token)
    }
}

impl<K, R> ResponseVerifier<K, R>
where
    K: KeySource<Scope = ()> + ?Sized,
    R: NonceStore + ?Sized,
{
    /// Verifies a response in the given mode.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify_headers`] or [`ResponseVerifier::verify_embedded`].
    pub fn verify<I, N, V>(
        &self,
        mode: ResponseMode,
        status: u16,
        headers: I,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        match mode {
            ResponseMode::Headers => self.verify_headers(status, headers, body),
            ResponseMode::Embedded => self.verify_embedded(body),
        }
    }

    /// Header mode: checks the signature header over `{body};{status};{token}`
    /// with the key the key-id header names. Header names match
    /// case-insensitively; each must appear exactly once.
    ///
    /// A changed body, status or token all break the signature in the same
    /// way ([`Error::BadSignature`]): a verifier cannot tell which one changed.
    ///
    /// # Errors
    ///
    /// [`Malformed::MissingHeader`], [`Malformed::DuplicateHeader`],
    /// [`Malformed::BadHeaderValue`] (including bad base64), [`Error::UnknownKeyId`],
    /// [`Error::KeyExpired`], [`Error::BadSignature`], [`Error::Replayed`],
    /// [`Error::TooLarge`].
    pub fn verify_headers<I, N, V>(
        &self,
        status: u16,
        headers: I,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let signed = self.read_headers(headers, body, status)?;
        let keys = self.core.keys.key_set(&(), Some(&signed.key_id))?;
        let verified = self.check_headers(&signed, &keys, body)?;
        if let Some((store, entry)) = self.replay_entry(&signed.token)? {
            refuse_replay(store, &entry)?;
        }
        Ok(verified)
    }

    /// Embedded mode: the body is a compact JWS whose `kid` names the key.
    /// A JWS whose payload is a JWE is decrypted after verifying, when a
    /// decrypter is configured, and returned untouched (marked
    /// [`Encryption::Encrypted`]) otherwise. A JWE whose plaintext is a JWS is
    /// decrypted, then verified; its inner JWS must be signed by a registered
    /// key, since anyone can encrypt to a public key.
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`], [`Error::UnknownKeyId`], [`Error::KeyExpired`],
    /// [`Error::AlgorithmMismatch`], [`Error::Malformed`] and
    /// [`Error::TooLarge`] as for any JWS; [`Error::DecryptionFailed`], and
    /// [`Malformed::Jwe`] for an encrypted body that cannot be handled.
    pub fn verify_embedded(&self, body: &[u8]) -> Result<Verified<Vec<u8>>, Error> {
        let (token, decrypted) = self.embedded_jws(body)?;
        let token = self.parse(&token)?;
        let keys = self.core.keys.key_set(&(), token.kid())?;
        let verified = self.core.rules.check(token, &keys, None)?;
        self.open_payload(verified, decrypted)
    }
}

impl<K, R> ResponseVerifier<K, R>
where
    K: AsyncKeySource<Scope = ()> + ?Sized,
    R: AsyncNonceStore + ?Sized,
{
    /// As [`ResponseVerifier::verify`], waiting for the key source and the
    /// replay store.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify`], and [`Error::Unavailable`].
    pub async fn verify_async<I, N, V>(
        &self,
        mode: ResponseMode,
        status: u16,
        headers: I,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        match mode {
            ResponseMode::Headers => self.verify_headers_async(status, headers, body).await,
            ResponseMode::Embedded => self.verify_embedded_async(body).await,
        }
    }

    /// As [`ResponseVerifier::verify_headers`], waiting for the key source
    /// and the replay store.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify_headers`], and [`Error::Unavailable`].
    pub async fn verify_headers_async<I, N, V>(
        &self,
        status: u16,
        headers: I,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let signed = self.read_headers(headers, body, status)?;
        let keys = self
            .core
            .keys
            .key_set_async(&(), Some(&signed.key_id))
            .await?;
        let verified = self.check_headers(&signed, &keys, body)?;
        if let Some((store, entry)) = self.replay_entry(&signed.token)? {
            refuse_replay_async(store, &entry).await?;
        }
        Ok(verified)
    }

    /// As [`ResponseVerifier::verify_embedded`], waiting for the key source.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify_embedded`], and [`Error::Unavailable`].
    pub async fn verify_embedded_async(&self, body: &[u8]) -> Result<Verified<Vec<u8>>, Error> {
        let (token, decrypted) = self.embedded_jws(body)?;
        let token = self.parse(&token)?;
        let keys = self.core.keys.key_set_async(&(), token.kid()).await?;
        let verified = self.core.rules.check(token, &keys, None)?;
        self.open_payload(verified, decrypted)
    }
}

impl<K: ?Sized, R: ?Sized> Clone for ResponseVerifier<K, R> {
    fn clone(&self) -> Self {
        ResponseVerifier {
            core: self.core.clone(),
            profile: self.profile.clone(),
            #[cfg(feature = "jwe")]
            decrypter: self.decrypter.clone(),
        }
    }
}

impl<K: fmt::Debug + ?Sized, R: fmt::Debug + ?Sized> fmt::Debug for ResponseVerifier<K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ResponseVerifier");
        s.field("core", &self.core).field("profile", &self.profile);
        #[cfg(feature = "jwe")]
        s.field("decrypter", &self.decrypter);
        s.finish()
    }
}
