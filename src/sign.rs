//! Signing: the pluggable [`Signer`] trait and its implementation over an
//! in-process [`PrivateKey`].

use std::fmt::Debug;
use std::sync::Arc;

use crate::error::Error;
use crate::{Algorithm, PrivateKey};

/// Something that produces signatures for one algorithm.
///
/// Implement it to keep the private key in an HSM or a cloud KMS: return the
/// raw signature bytes (for RSA, exactly the modulus length) of `message`
/// under [`Signer::algorithm`] (for RSA, exactly the modulus length; for
/// ECDSA, the fixed-length `R || S` of RFC 7518 §3.4, not DER; for
/// Ed25519, 64 bytes). Wrap failures with [`Error::backend`].
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{Algorithm, Error, Signer};
///
/// #[derive(Debug)]
/// struct Kms { key_name: String }
///
/// impl Signer for Kms {
///     fn algorithm(&self) -> Algorithm { Algorithm::PS256 }
///     fn key_id(&self) -> Option<&str> { Some(&self.key_name) }
///     fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
///         // call the KMS here; this sketch has none
///         Err(Error::backend(format!("no KMS reachable for {} bytes", message.len())))
///     }
/// }
/// let kms = Kms { key_name: "prod-2026".into() };
/// assert!(kms.sign(b"x").is_err());
/// # Ok(()) }
/// ```
pub trait Signer: Debug + Send + Sync {
    /// The one algorithm this signer produces.
    fn algorithm(&self) -> Algorithm;
    /// The key id to put in the `kid` header, if any.
    fn key_id(&self) -> Option<&str>;
    /// Signs `message` (the JWS signing input).
    ///
    /// # Errors
    ///
    /// Whatever the key's home reports, as [`Error::Backend`].
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

impl<S: Signer + ?Sized> Signer for Arc<S> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn key_id(&self) -> Option<&str> {
        (**self).key_id()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).sign(message)
    }
}

impl<S: Signer + ?Sized> Signer for Box<S> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn key_id(&self) -> Option<&str> {
        (**self).key_id()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).sign(message)
    }
}

/// A [`Signer`] over an in-process [`PrivateKey`] of any kind, bound to one
/// algorithm that fits the key ([`Algorithm::fits`]).
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{Algorithm, PrivateKey, KeySigner, Signer};
/// let key = PrivateKey::from_pem(include_str!("../tests/data/rfc7515/A2.rsa_private_pkcs1.pem"))?;
/// let signer = KeySigner::new(key, Algorithm::RS256)?.with_key_id("2026-11");
/// assert_eq!(signer.key_id(), Some("2026-11"));
/// assert_eq!(signer.sign(b"input")?.len(), 256);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct KeySigner {
    key: PrivateKey,
    algorithm: Algorithm,
    key_id: Option<String>,
}

impl KeySigner {
    /// Binds `key` to `algorithm`, with no key id.
    ///
    /// # Errors
    ///
    /// [`KeyRejected::WrongAlgorithm`](crate::KeyRejected::WrongAlgorithm)
    /// when the key's kind does not allow `algorithm`.
    pub fn new(key: PrivateKey, algorithm: Algorithm) -> Result<Self, Error> {
        key.public_key().kind().check_algorithm(algorithm)?;
        Ok(KeySigner {
            key,
            algorithm,
            key_id: None,
        })
    }

    /// A signer from a private JWK, as its declarations say: its `use` and
    /// `key_ops` must allow signing, its `alg` is the algorithm (or must
    /// equal `algorithm` when the caller names one; the key kind's own
    /// algorithm when neither does), and its `kid` is the key id.
    ///
    /// # Errors
    ///
    /// The errors of [`PrivateKey::from_jwk`] and of
    /// [`Jwk::algorithm_for`](crate::Jwk::algorithm_for).
    pub fn from_jwk(json: &str, algorithm: Option<Algorithm>) -> Result<Self, Error> {
        let key = PrivateKey::from_jwk(json)?;
        // The same text as a public JWK: its declarations, without secrets.
        let declared = crate::Jwk::from_json(json)?;
        let kind = key.public_key().kind();
        let algorithm =
            declared.algorithm_for(crate::KeyPurpose::Sign, algorithm, kind.default_algorithm())?;
        let signer = Self::new(key, algorithm)?;
        Ok(match declared.kid {
            Some(kid) => signer.with_key_id(kid),
            None => signer,
        })
    }

    /// Sets the key id written into the `kid` header.
    #[must_use]
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// Uses the key's RFC 7638 thumbprint as its key id.
    #[must_use]
    pub fn with_thumbprint_key_id(self) -> Self {
        let kid = self.key.public_key().thumbprint();
        self.with_key_id(kid)
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }
}

impl Signer for KeySigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.key.sign(self.algorithm, message)
    }
}
