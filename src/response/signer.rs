//! The API's side: signing each response.

use std::fmt;
use std::sync::Arc;

use super::profile::ResponseProfile;
use crate::backend::active as backend;
use crate::error::Error;
use crate::{AsyncSigner, Header, Signer, SigningKeys, SigningSource, base64url, jws};

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
/// use signed_payloads::{Algorithm, PrivateKey, KeySigner};
/// use signed_payloads::response::ResponseSigner;
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let signer = ResponseSigner::new(Arc::new(KeySigner::new(key, Algorithm::PS384)?.with_key_id("api-2026")));
/// let headers = signer.sign_headers(200, br#"{"id":1}"#)?;
/// assert_eq!(headers.key_id(), "api-2026");
/// assert_eq!(headers.iter().count(), 3);
/// # Ok(()) }
/// ```
pub struct ResponseSigner<S = Arc<dyn Signer>> {
    keys: S,
    profile: ResponseProfile,
    #[cfg(feature = "jwe")]
    encryption: Option<(Arc<crate::jwe::RsaEncrypter>, NestingOrder)>,
}

impl ResponseSigner {
    /// Signs with one fixed signer.
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        Self::with_source(signer)
    }
}

impl ResponseSigner<Arc<SigningKeys>> {
    /// Signs with whichever of `keys` is current at each response.
    pub fn rotating(keys: Arc<SigningKeys>) -> Self {
        Self::with_source(keys)
    }
}

impl ResponseSigner<Arc<dyn AsyncSigner>> {
    /// Signs with a key behind a network call (KMS, HSM service): such a
    /// signer has only the `*_async` methods.
    pub fn remote(signer: Arc<dyn AsyncSigner>) -> Self {
        Self::with_source(signer)
    }
}

impl<S: SigningSource> ResponseSigner<S> {
    /// Signs with the signers `source` hands out.
    pub fn with_source(keys: S) -> Self {
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

    /// The signer to use now, which must name its key.
    fn current(&self) -> Result<(Arc<S::Current>, String), Error> {
        let signer = self.keys.current()?;
        let key_id = signer
            .key_id()
            .map(str::to_owned)
            .ok_or_else(|| Error::Config("response signing needs a signer with a key id".into()))?;
        Ok((signer, key_id))
    }

    /// Header mode, before the signature: a fresh 128-bit nonce token and
    /// the signing input over it.
    fn header_input(&self, status: u16, body: &[u8]) -> Result<(String, Vec<u8>), Error> {
        let mut nonce = [0u8; 16];
        backend::fill_random(&mut nonce)?;
        let token = base64url::encode(&nonce);
        let input = self.profile.signing_input(body, status, &token)?;
        Ok((token, input))
    }

    /// Header mode, after the signature.
    fn headers(&self, key_id: String, token: String, signature: &[u8]) -> SignatureHeaders {
        SignatureHeaders {
            names: [
                self.profile.key_id_header().to_owned(),
                self.profile.token_header().to_owned(),
                self.profile.signature_header().to_owned(),
            ],
            key_id,
            token,
            signature: self.profile.encode_signature(signature),
        }
    }

    /// As [`ResponseSigner::sign_headers`], waiting for an async signer.
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_headers`].
    // `impl Future + Send` rather than `async fn`, so that callers can
    // spawn it: see `RequestSigner::sign_json_async`.
    #[allow(clippy::manual_async_fn)] // the `Send` bound is the point
    pub fn sign_headers_async<'a>(
        &'a self,
        status: u16,
        body: &'a [u8],
    ) -> impl Future<Output = Result<SignatureHeaders, Error>> + Send + 'a {
        async move {
            let (signer, key_id) = self.current()?;
            let (token, input) = self.header_input(status, body)?;
            let signature = signer.sign_async(&input).await?;
            Ok(self.headers(key_id, token, &signature))
        }
    }

    /// As [`ResponseSigner::sign_embedded`], waiting for an async signer.
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_embedded`].
    #[allow(clippy::manual_async_fn)] // the `Send` bound is the point
    pub fn sign_embedded_async<'a>(
        &'a self,
        body: &'a [u8],
    ) -> impl Future<Output = Result<String, Error>> + Send + 'a {
        async move { self.sign_embedded_inner(body).await }
    }

    async fn sign_embedded_inner(&self, body: &[u8]) -> Result<String, Error> {
        let (signer, key_id) = self.current()?;
        let header = Header::new(signer.algorithm()).with_kid(key_id);
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

impl<S: SigningSource<Current = dyn Signer>> ResponseSigner<S> {
    /// Header mode: signs `{body};{status};{token}` with a fresh 128-bit nonce token.
    ///
    /// # Errors
    ///
    /// [`Error::NoSigningKey`], [`Error::Config`] for a signer without key
    /// id, or the signer's error.
    pub fn sign_headers(&self, status: u16, body: &[u8]) -> Result<SignatureHeaders, Error> {
        let (signer, key_id) = self.current()?;
        let (token, input) = self.header_input(status, body)?;
        let signature = signer.sign(&input)?;
        Ok(self.headers(key_id, token, &signature))
    }

    /// Embedded mode: the body becomes a compact JWS with the key id in
    /// `kid`; with encryption on, nested with a JWE for the client.
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_headers`], and encryption errors.
    pub fn sign_embedded(&self, body: &[u8]) -> Result<String, Error> {
        let (signer, key_id) = self.current()?;
        let header = Header::new(Signer::algorithm(&*signer)).with_kid(key_id);
        #[cfg(feature = "jwe")]
        if let Some((encrypter, order)) = &self.encryption {
            return match order {
                NestingOrder::SignedJwe => {
                    let jwe = encrypter.encrypt(body, None)?;
                    jws::sign(&header.with_cty("JOSE"), jwe.as_bytes(), &*signer)
                }
                NestingOrder::EncryptedJws => {
                    let jws = jws::sign(&header, body, &*signer)?;
                    encrypter.encrypt(jws.as_bytes(), Some("JOSE"))
                }
            };
        }
        jws::sign(&header, body, &*signer)
    }
}

impl<S: fmt::Debug> fmt::Debug for ResponseSigner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ResponseSigner");
        s.field("keys", &self.keys).field("profile", &self.profile);
        #[cfg(feature = "jwe")]
        s.field("encryption", &self.encryption);
        s.finish()
    }
}
