//! The API's side: signing each response.

use std::fmt;
use std::sync::Arc;

use super::profile::ResponseProfile;
use crate::async_sign::{KeySource, needs_async, now_or_never};
use crate::backend::active as backend;
use crate::error::Error;
use crate::{AsyncSigner, Header, Signer, SigningKeys, base64url, jws};

/// How a signed and encrypted embedded response nests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestingOrder {
    /// A JWS whose payload is the JWE of the body (the vendor's description).
    SignedJwe,
    /// A JWE whose plaintext is the JWS of the body.
    EncryptedJws,
}

/// The three signature headers of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    names: [String; 3],
    key_id: String,
    token: String,
    signature: String,
}

impl SignatureHeaders {
    /// The id of the key that signed.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The nonce token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The encoded signature.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// `(name, value)` for each of the three headers.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let values = [&self.key_id, &self.token, &self.signature];
        self.names
            .iter()
            .zip(values)
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Signs responses in header or embedded mode.
///
/// The signing key is the current one of a [`SigningKeys`] (the unexpired
/// key with the latest expiry) or one fixed signer; it must have a key id.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, PrivateKey, RsaSigner};
/// use signed_payloads::response::ResponseSigner;
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let signer = ResponseSigner::new(Arc::new(RsaSigner::new(key, Algorithm::PS384).with_key_id("api-2026")));
/// let headers = signer.sign_headers(200, br#"{"id":1}"#)?;
/// assert_eq!(headers.key_id(), "api-2026");
/// assert_eq!(headers.iter().count(), 3);
/// # Ok(()) }
/// ```
pub struct ResponseSigner {
    keys: KeySource,
    profile: ResponseProfile,
    #[cfg(feature = "jwe")]
    encryption: Option<(Arc<crate::jwe::RsaEncrypter>, NestingOrder)>,
}

impl ResponseSigner {
    /// Signs with one fixed signer.
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        Self::with_source(KeySource::Fixed(signer))
    }

    /// Signs with whichever of `keys` is current at each response.
    pub fn rotating(keys: Arc<SigningKeys>) -> Self {
        Self::with_source(KeySource::Rotating(keys))
    }

    /// Signs with a key behind a network call (KMS, HSM service); use the
    /// `*_async` methods, since the sync ones cannot wait for it.
    pub fn remote(signer: Arc<dyn AsyncSigner>) -> Self {
        Self::with_source(KeySource::Remote(signer))
    }

    fn with_source(keys: KeySource) -> Self {
        ResponseSigner {
            keys,
            profile: ResponseProfile::default(),
            #[cfg(feature = "jwe")]
            encryption: None,
        }
    }

    /// Uses another profile (header names, layout, encoding).
    #[must_use]
    pub fn with_profile(mut self, profile: ResponseProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Turns on message-level encryption for embedded mode: bodies are
    /// encrypted to the client's key and nested with the signature in `order`.
    #[cfg(feature = "jwe")]
    #[must_use]
    pub fn with_encryption(
        mut self,
        encrypter: crate::jwe::RsaEncrypter,
        order: NestingOrder,
    ) -> Self {
        self.encryption = Some((Arc::new(encrypter), order));
        self
    }

    /// The profile in use.
    pub fn profile(&self) -> &ResponseProfile {
        &self.profile
    }

    fn current(&self) -> Result<Arc<dyn AsyncSigner>, Error> {
        let signer = self.keys.current()?;
        if signer.key_id().is_none() {
            return Err(Error::MissingKeyId);
        }
        Ok(signer)
    }

    /// Header mode: signs `{body};{status};{token}` with a fresh 128-bit nonce token.
    ///
    /// # Errors
    ///
    /// [`Error::NoSigningKey`], [`Error::MissingKeyId`], or the signer's error.
    pub fn sign_headers(&self, status: u16, body: &[u8]) -> Result<SignatureHeaders, Error> {
        now_or_never(self.sign_headers_async(status, body))
            .unwrap_or_else(|| Err(needs_async("sign_headers_async")))
    }

    /// As [`ResponseSigner::sign_headers`], waiting for an async signer if needed.
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_headers`].
    pub async fn sign_headers_async(
        &self,
        status: u16,
        body: &[u8],
    ) -> Result<SignatureHeaders, Error> {
        let signer = self.current()?;
        let mut nonce = [0u8; 16];
        backend::fill_random(&mut nonce)?;
        let token = base64url::encode(&nonce);
        let input = self.profile.signing_input(body, status, &token)?;
        let signature = self
            .profile
            .encode_signature(&signer.sign_async(&input).await?);
        Ok(SignatureHeaders {
            names: [
                self.profile.key_id_header().to_owned(),
                self.profile.token_header().to_owned(),
                self.profile.signature_header().to_owned(),
            ],
            key_id: signer.key_id().unwrap_or_default().to_owned(),
            token,
            signature,
        })
    }

    /// Embedded mode: the body becomes a compact JWS with the key id in
    /// `kid`; with encryption on, nested with a JWE for the client.
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_headers`], and encryption errors.
    pub fn sign_embedded(&self, body: &[u8]) -> Result<String, Error> {
        now_or_never(self.sign_embedded_async(body))
            .unwrap_or_else(|| Err(needs_async("sign_embedded_async")))
    }

    /// As [`ResponseSigner::sign_embedded`], waiting for an async signer if needed.
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_embedded`].
    pub async fn sign_embedded_async(&self, body: &[u8]) -> Result<String, Error> {
        let signer = self.current()?;
        let mut header = Header::new(signer.algorithm());
        header.kid = signer.key_id().map(str::to_owned);
        #[cfg(feature = "jwe")]
        if let Some((encrypter, order)) = &self.encryption {
            return match order {
                NestingOrder::SignedJwe => {
                    let jwe = encrypter.encrypt(body, None)?;
                    jws::sign_async(&header.with_cty("JOSE"), jwe.as_bytes(), &*signer).await
                }
                NestingOrder::EncryptedJws => {
                    let jws = jws::sign_async(&header, body, &*signer).await?;
                    encrypter.encrypt(jws.as_bytes(), Some("JOSE"))
                }
            };
        }
        jws::sign_async(&header, body, &*signer).await
    }
}

impl fmt::Debug for ResponseSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ResponseSigner");
        s.field("keys", &self.keys).field("profile", &self.profile);
        #[cfg(feature = "jwe")]
        s.field("encryption", &self.encryption);
        s.finish()
    }
}
