//! The value a successful verification returns, whichever the profile.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::claims::Claims;
use crate::error::{Error, Segment};
use crate::{Header, Limits, json};

/// Whether a verified message was encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encryption {
    /// Not encrypted.
    None,
    /// Encrypted, and decrypted with the configured decrypter.
    Decrypted,
    /// A signed JWE and no decrypter configured: the payload is the JWE, untouched.
    Encrypted,
}

/// Proof that a signature was checked, from every profile: the payload, the
/// id of the key that verified it, and what else the message carried (its
/// JOSE header, a response nonce). Only this crate can construct it.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    payload: T,
    header: Option<Header>,
    key_id: Option<Arc<str>>,
    nonce: Option<String>,
    encryption: Encryption,
    /// What the claims pass found (JWT profiles), for the replay check.
    claims: Option<Claims>,
    /// The payload's JSON structure was already checked to this depth.
    checked_depth: Option<usize>,
    /// The JWS signature bytes, for a replay store that remembers tokens
    /// without `jti` by a digest of their signature; empty in header mode.
    signature: Vec<u8>,
}

impl<T> Verified<T> {
    pub(crate) fn new(payload: T, header: Option<Header>, key_id: Option<Arc<str>>) -> Self {
        Verified {
            payload,
            header,
            key_id,
            nonce: None,
            encryption: Encryption::None,
            claims: None,
            checked_depth: None,
            signature: Vec::new(),
        }
    }

    pub(crate) fn with_signature(mut self, signature: Vec<u8>) -> Self {
        self.signature = signature;
        self
    }

    /// SHA-256 of the signature bytes: what identifies a token without `jti`.
    pub(crate) fn signature_digest(&self) -> [u8; 32] {
        crate::backend::active::sha256(&self.signature)
    }

    /// The verified payload: the JWS payload, or the body a response
    /// signature covered.
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// Takes the payload.
    pub fn into_payload(self) -> T {
        self.payload
    }

    /// The verified protected header, when the message was a JWS (not for
    /// signatures carried in HTTP headers).
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The id of the registered key that verified the signature; `None`
    /// only from [`jws::verify`](crate::jws::verify) with a bare
    /// [`Verifier`](crate::Verifier), which has no id (read the token's own
    /// `kid` through [`Verified::header`]).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The response's nonce token (header mode).
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// Whether the payload was encrypted.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }

    pub(crate) fn with_nonce(mut self, nonce: String) -> Self {
        self.nonce = Some(nonce);
        self
    }

    pub(crate) fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    pub(crate) fn with_claims(mut self, claims: Claims, checked_depth: usize) -> Self {
        self.claims = Some(claims);
        self.checked_depth = Some(checked_depth);
        self
    }

    pub(crate) fn claims(&self) -> Option<&Claims> {
        self.claims.as_ref()
    }

    /// The same proof over another payload (a decryption, a typed value).
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Verified<U> {
        Verified {
            payload: f(self.payload),
            header: self.header,
            key_id: self.key_id,
            nonce: self.nonce,
            encryption: self.encryption,
            claims: self.claims,
            checked_depth: self.checked_depth,
            signature: self.signature,
        }
    }
}

impl Verified<Vec<u8>> {
    /// Deserializes the payload as strict JSON (no duplicate members, depth
    /// within `limits`) into `T`. A payload whose claims a verifier already
    /// read was checked for strictness then, and is not scanned again.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] if the payload is not JSON or does not fit `T`.
    pub fn deserialize_json<T: DeserializeOwned>(
        self,
        limits: &Limits,
    ) -> Result<Verified<T>, Error> {
        let payload = self.parse_json(limits)?;
        Ok(self.map(|_| payload))
    }

    /// Deserializes the payload as strict JSON into a `T` that may borrow
    /// from it (`&str` fields, `Cow`), saving an allocation per string: the
    /// zero-copy twin of [`Verified::deserialize_json`].
    ///
    /// # Errors
    ///
    /// As for [`Verified::deserialize_json`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), signed_payloads::Error> {
    /// use serde::Deserialize;
    /// use signed_payloads::{jws, Algorithm, Header, Limits, PrivateKey, KeySigner, KeyVerifier};
    ///
    /// #[derive(Deserialize)]
    /// struct User<'a> { name: &'a str }
    ///
    /// let key = PrivateKey::from_pem(include_str!("../tests/data/keys/rsa2048.pkcs8.pem"))?;
    /// let verifier = KeyVerifier::new(key.public_key().clone(), Algorithm::RS256)?;
    /// let signer = KeySigner::new(key, Algorithm::RS256)?;
    /// let token = jws::sign(&Header::for_signer(&signer), br#"{"name":"Ada"}"#, &signer)?;
    /// let verified = jws::verify(&token, &verifier, &Limits::default())?;
    /// let user: User<'_> = verified.parse_json(&Limits::default())?;
    /// assert_eq!(user.name, "Ada");
    /// # Ok(()) }
    /// ```
    pub fn parse_json<'a, T: serde::Deserialize<'a>>(
        &'a self,
        limits: &Limits,
    ) -> Result<T, Error> {
        let depth = limits.max_json_depth();
        if self.checked_depth.is_some_and(|checked| checked <= depth) {
            json::from_slice_checked(&self.payload)
        } else {
            json::from_slice_strict(&self.payload, Segment::Payload, depth)
        }
    }
}
