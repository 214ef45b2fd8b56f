//! Shared secrets for `hmac-sha256`: a key type of their own, which no
//! public-key API takes, so a secret can never stand where a public key is
//! expected (and no JWS is ever checked with one).

use std::fmt;

use zeroize::Zeroizing;

use crate::KeyPurpose;
use crate::backend::active as backend;
use crate::base64url;
use crate::error::{Error, Escaped};
use crate::key::{Excluded, excluded_by};

/// A secret shared by signer and verifier, for RFC 9421 `hmac-sha256`
/// only: at least 32 bytes, wiped on drop, never printed.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::httpsig::SharedSecret;
/// let secret = SharedSecret::from_bytes(&[7; 32])?;
/// assert!(!format!("{secret:?}").contains('7'));
/// assert!(SharedSecret::from_bytes(&[7; 16]).is_err());
/// # Ok(()) }
/// ```
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// The smallest secret accepted, in bytes (the output size of SHA-256).
    pub const MIN_BYTES: usize = 32;

    /// A secret from its bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] (a key error) for fewer than 32 bytes.
    pub fn from_bytes(secret: &[u8]) -> Result<Self, Error> {
        if secret.len() < Self::MIN_BYTES {
            return Err(Error::key(format!(
                "a shared secret needs at least {} bytes, this one has {}",
                Self::MIN_BYTES,
                secret.len()
            )));
        }
        Ok(SharedSecret(Zeroizing::new(secret.to_vec())))
    }

    /// A secret from standard base64 (padding and line breaks optional).
    ///
    /// # Errors
    ///
    /// As for [`SharedSecret::from_bytes`], and for text that is not base64.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        let compact: Zeroizing<Vec<u8>> =
            Zeroizing::new(text.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
        let bytes = base64url::decode_standard(&compact)
            .map(Zeroizing::new)
            .ok_or_else(|| Error::key("the shared secret is not base64"))?;
        Self::from_bytes(&bytes)
    }

    /// A secret from a JWK with `kty` `oct` (RFC 7518 §6.4), as a key
    /// file holds one. Its declarations apply: `use` other than `sig`,
    /// `key_ops` without the operation for `purpose`, or an `alg` other than
    /// `HS256` / `hmac-sha256` is refused.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] (a key error) naming what is wrong; never the
    /// secret.
    pub fn from_jwk(json: &str, purpose: KeyPurpose) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct OctJwk {
            kty: String,
            k: Option<String>,
            alg: Option<String>,
            #[serde(rename = "use")]
            use_: Option<String>,
            key_ops: Option<Vec<String>>,
        }
        let mut jwk: OctJwk = serde_json::from_str(json)
            .map_err(|e| Error::key(format!("the JWK does not parse: line {}", e.line())))?;
        let k = jwk.k.take().map(Zeroizing::new);
        if jwk.kty != "oct" {
            return Err(Error::key(format!(
                "a shared secret is a JWK with kty oct, not {}",
                Escaped::new(&jwk.kty)
            )));
        }
        if let Some(alg) = jwk
            .alg
            .as_deref()
            .filter(|a| !matches!(*a, "HS256" | "hmac-sha256"))
        {
            return Err(Error::key(format!(
                "the JWK's alg {} is not HS256 (hmac-sha256)",
                Escaped::new(alg)
            )));
        }
        match excluded_by(jwk.use_.as_deref(), jwk.key_ops.as_deref(), purpose) {
            Some(Excluded::Use) => return Err(Error::key("the JWK's use is not sig")),
            Some(Excluded::KeyOps) => {
                return Err(Error::key(format!(
                    "the JWK's key_ops do not include {}",
                    purpose.key_op()
                )));
            }
            None => {}
        }
        let k = k.ok_or_else(|| Error::key("the oct JWK has no k"))?;
        let bytes = base64url::decode(k.as_bytes())
            .map(Zeroizing::new)
            .ok_or_else(|| Error::key("the JWK's k is not base64url"))?;
        Self::from_bytes(&bytes)
    }

    pub(super) fn sign(&self, data: &[u8]) -> Vec<u8> {
        backend::hmac_sha256(&self.0, data)
    }

    pub(super) fn verify(&self, data: &[u8], tag: &[u8]) -> Result<(), Error> {
        backend::hmac_sha256_verify(&self.0, data, tag)
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSecret")
            .field("bytes", &self.0.len())
            .finish_non_exhaustive()
    }
}
