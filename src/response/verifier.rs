//! The integrator's side: verifying each response.

use std::sync::Arc;

use std::time::Duration;

use super::profile::{MAX_TOKEN_LEN, ResponseMode, ResponseProfile};
use crate::async_sign::{needs_async, now_or_never};
use crate::error::{Error, Escaped, Malformed};
use crate::nonce::refuse_replay;
use crate::{KeyRegistry, Limits, NonceStore};

/// Whether a verified embedded response was encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encryption {
    /// Not encrypted.
    None,
    /// Encrypted, and decrypted with the configured decrypter.
    Decrypted,
    /// A signed JWE and no decrypter configured: the body is the JWE, untouched.
    Encrypted,
}

/// A response whose signature was checked. Only this crate builds it.
#[derive(Debug, Clone)]
pub struct VerifiedResponse {
    body: Vec<u8>,
    key_id: String,
    nonce: Option<String>,
    encryption: Encryption,
}

impl VerifiedResponse {
    /// The verified body: the raw body in header mode, the JWS payload (or its
    /// decryption) in embedded mode.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Takes the body.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The id of the key that signed.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The nonce token (header mode).
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// Whether the body was encrypted.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }
}

/// Verifies signed responses against the API's registered keys.
///
/// Replay defence is off by default; [`ResponseVerifier::with_nonce_store`]
/// turns it on for header mode (a token seen before is [`Error::Replayed`]).
///
/// The keys come from a [`KeyRegistry`] ([`ResponseVerifier::new`]) or, with
/// feature `jwks-http`, from the API's JWKS endpoint
/// ([`ResponseVerifier::remote`]). The sync methods serve whenever nothing
/// has to wait (a registry, a fresh cached JWKS, the in-memory nonce store);
/// the `*_async` methods also wait for a JWKS fetch or a network nonce store.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, KeyRegistry, PrivateKey, RsaSigner, VerificationKey};
/// use signed_payloads::response::{ResponseSigner, ResponseVerifier};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let registry = KeyRegistry::new(VerificationKey::new("api-2026", key.public_key().clone(), Algorithm::PS384)?);
/// let signer = ResponseSigner::new(Arc::new(RsaSigner::new(key, Algorithm::PS384).with_key_id("api-2026")));
///
/// let headers = signer.sign_headers(200, b"{}")?;
/// let verifier = ResponseVerifier::new(Arc::new(registry));
/// let verified = verifier.verify_headers(200, headers.iter(), b"{}")?;
/// assert_eq!(verified.key_id(), "api-2026");
/// assert!(verifier.verify_headers(201, headers.iter(), b"{}").is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ResponseVerifier {
    keys: Keys,
    profile: ResponseProfile,
    limits: Limits,
    nonces: Option<(Arc<dyn NonceStore>, Duration)>,
    #[cfg(feature = "jwe")]
    decrypter: Option<Arc<dyn crate::jwe::Decrypter>>,
}

impl ResponseVerifier {
    /// A verifier over the API's keys, with the default profile and limits.
    pub fn new(registry: Arc<KeyRegistry>) -> Self {
        Self::with_keys(Keys::Registry(registry))
    }

    /// A verifier over the keys the API publishes at a JWKS endpoint.
    #[cfg(feature = "jwks-http")]
    pub fn remote(jwks: Arc<crate::RemoteJwks>) -> Self {
        Self::with_keys(Keys::Remote(jwks))
    }

    fn with_keys(keys: Keys) -> Self {
        ResponseVerifier {
            keys,
            profile: ResponseProfile::default(),
            limits: Limits::default(),
            nonces: None,
            #[cfg(feature = "jwe")]
            decrypter: None,
        }
    }

    /// Uses another profile.
    #[must_use]
    pub fn with_profile(mut self, profile: ResponseProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Sets the input limits (the body size limit is `max_token_bytes`).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Refuses header-mode responses whose token was seen within `window`.
    ///
    /// Header-mode responses carry no timestamp, so a replay older than the
    /// window is not detected: choose it to cover the time a response can
    /// usefully be replayed. Share one store (Redis) between the instances
    /// of a fleet; a store that has to wait needs the `*_async` methods.
    #[must_use]
    pub fn with_nonce_store(mut self, store: Arc<dyn NonceStore>, window: Duration) -> Self {
        self.nonces = Some((store, window));
        self
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

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

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
    ) -> Result<VerifiedResponse, Error>
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

    /// As [`ResponseVerifier::verify`], waiting for a JWKS fetch or a network nonce store.
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
    ) -> Result<VerifiedResponse, Error>
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
    ) -> Result<VerifiedResponse, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let signed = self.read_headers(headers, body)?;
        now_or_never(self.check_headers(status, signed, body))
            .unwrap_or_else(|| Err(needs_async("verify_headers_async")))
    }

    /// As [`ResponseVerifier::verify_headers`], waiting for a JWKS fetch or
    /// a network nonce store.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify_headers`], and [`Error::Unavailable`].
    pub async fn verify_headers_async<I, N, V>(
        &self,
        status: u16,
        headers: I,
        body: &[u8],
    ) -> Result<VerifiedResponse, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let signed = self.read_headers(headers, body)?;
        self.check_headers(status, signed, body).await
    }

    /// Picks the three signature headers out of `headers`.
    fn read_headers<I, N, V>(&self, headers: I, body: &[u8]) -> Result<[String; 3], Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        self.limits.check_size("response body", body.len())?;
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
        Ok([
            key_id.ok_or_else(|| missing(0))?,
            token.ok_or_else(|| missing(1))?,
            signature.ok_or_else(|| missing(2))?,
        ])
    }

    async fn check_headers(
        &self,
        status: u16,
        [key_id, token, signature]: [String; 3],
        body: &[u8],
    ) -> Result<VerifiedResponse, Error> {
        let signature = self.profile.decode_signature(signature.as_bytes())?;
        let input = self.profile.signing_input(body, status, &token)?;
        let registry = self.keys.registry(Some(&key_id)).await?;
        let key = registry.select(Some(&key_id), |key| {
            key.verifier().verify(&input, &signature)
        })?;
        if let Some((store, window)) = &self.nonces {
            refuse_replay(&**store, "response", &token, *window).await?;
        }
        Ok(VerifiedResponse {
            body: body.to_vec(),
            key_id: key.kid().to_owned(),
            nonce: Some(token),
            encryption: Encryption::None,
        })
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
    /// The errors of [`KeyRegistry::verify`], [`Error::DecryptionFailed`], and
    /// [`Malformed::Jwe`] for an encrypted body that cannot be handled.
    pub fn verify_embedded(&self, body: &[u8]) -> Result<VerifiedResponse, Error> {
        now_or_never(self.verify_embedded_async(body))
            .unwrap_or_else(|| Err(needs_async("verify_embedded_async")))
    }

    /// As [`ResponseVerifier::verify_embedded`], waiting for a JWKS fetch.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify_embedded`], and [`Error::Unavailable`].
    pub async fn verify_embedded_async(&self, body: &[u8]) -> Result<VerifiedResponse, Error> {
        let token = std::str::from_utf8(body)
            .map_err(|_| Malformed::NotUtf8)?
            .trim_ascii();
        if looks_like_jwe(token.as_bytes()) {
            return self.verify_encrypted_jws(token).await;
        }
        let verified = self.verify_jws(token).await?;
        let key_id = verified.key_id().unwrap_or_default().to_owned();
        let payload = verified.into_payload();
        if !looks_like_jwe(&payload) {
            return Ok(VerifiedResponse {
                body: payload,
                key_id,
                nonce: None,
                encryption: Encryption::None,
            });
        }
        #[cfg(feature = "jwe")]
        if let Some(decrypter) = &self.decrypter {
            let jwe = std::str::from_utf8(&payload).map_err(|_| Malformed::NotUtf8)?;
            let decrypted = crate::jwe::decrypt(jwe, &**decrypter, &self.limits)?;
            return Ok(VerifiedResponse {
                body: decrypted.plaintext,
                key_id,
                nonce: None,
                encryption: Encryption::Decrypted,
            });
        }
        Ok(VerifiedResponse {
            body: payload,
            key_id,
            nonce: None,
            encryption: Encryption::Encrypted,
        })
    }

    /// Verifies a compact JWS against the keys, whichever their source.
    async fn verify_jws(&self, token: &str) -> Result<crate::Verified<Vec<u8>>, Error> {
        let registry = match &self.keys {
            Keys::Registry(registry) => Arc::clone(registry),
            #[cfg(feature = "jwks-http")]
            Keys::Remote(jwks) => {
                let kid = crate::jws::parse(token, &self.limits)?.header.kid;
                jwks.registry_for(kid.as_deref()).await?
            }
        };
        registry.verify(token, &self.limits)
    }

    #[cfg(feature = "jwe")]
    async fn verify_encrypted_jws(&self, token: &str) -> Result<VerifiedResponse, Error> {
        let decrypter = self.decrypter.as_ref().ok_or_else(|| {
            Error::from(Malformed::Jwe(
                "the response is encrypted and no decrypter is configured".into(),
            ))
        })?;
        let decrypted = crate::jwe::decrypt(token, &**decrypter, &self.limits)?;
        let inner = std::str::from_utf8(&decrypted.plaintext).map_err(|_| Malformed::NotUtf8)?;
        if inner.bytes().filter(|&b| b == b'.').count() != 2 {
            return Err(Malformed::Jwe(
                "the encrypted response holds no signed JWS; refused, since anyone can encrypt to a public key".into(),
            )
            .into());
        }
        let verified = self.verify_jws(inner).await?;
        let key_id = verified.key_id().unwrap_or_default().to_owned();
        Ok(VerifiedResponse {
            body: verified.into_payload(),
            key_id,
            nonce: None,
            encryption: Encryption::Decrypted,
        })
    }

    #[cfg(not(feature = "jwe"))]
    async fn verify_encrypted_jws(&self, _token: &str) -> Result<VerifiedResponse, Error> {
        Err(Malformed::Jwe(
            "the response is encrypted; enable the `jwe` feature to decrypt it".into(),
        )
        .into())
    }
}

/// Where a response verifier's keys come from.
#[derive(Debug, Clone)]
enum Keys {
    Registry(Arc<KeyRegistry>),
    #[cfg(feature = "jwks-http")]
    Remote(Arc<crate::RemoteJwks>),
}

impl Keys {
    /// The registry to check a signature by key `kid` against.
    #[cfg_attr(not(feature = "jwks-http"), allow(unused_variables))]
    async fn registry(&self, kid: Option<&str>) -> Result<Arc<KeyRegistry>, Error> {
        match self {
            Keys::Registry(registry) => Ok(Arc::clone(registry)),
            #[cfg(feature = "jwks-http")]
            Keys::Remote(jwks) => jwks.registry_for(kid).await,
        }
    }
}

/// A compact JWE: five base64url segments, the first a JSON header with
/// `enc`. (Counting dots alone would take a body like `{"ip":"1.2.3.4","v":"x.y"}`
/// for a JWE.)
fn looks_like_jwe(token: &[u8]) -> bool {
    let base64url = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'.';
    if token.iter().filter(|&&b| b == b'.').count() != 4 || !token.iter().all(base64url) {
        return false;
    }
    let header = token.split(|&b| b == b'.').next().unwrap_or_default();
    crate::base64url::decode(header)
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|header| header.contains_key("enc"))
}
