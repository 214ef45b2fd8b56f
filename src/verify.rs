//! Verifying: the pluggable [`Verifier`] trait and its RSA implementation.

use std::fmt::{self, Debug};
use std::sync::Arc;

use crate::backend::active as backend;
use crate::error::Error;
use crate::{Algorithm, Jwk, KeyPurpose, PublicKey};

/// Something that checks signatures for one algorithm.
///
/// A verifier answers only "valid" (`Ok(())`) or an error; a mismatch is
/// [`Error::BadSignature`], with no detail on purpose.
pub trait Verifier: Debug + Send + Sync {
    /// The one algorithm this verifier accepts.
    fn algorithm(&self) -> Algorithm;
    /// Checks `signature` over `message` (the JWS signing input).
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`] when it does not verify.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error>;
}

impl<V: Verifier + ?Sized> Verifier for Arc<V> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        (**self).verify(message, signature)
    }
}

impl<V: Verifier + ?Sized> Verifier for Box<V> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        (**self).verify(message, signature)
    }
}

/// A [`Verifier`] over a [`PublicKey`], bound to one algorithm and parsed once.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{Algorithm, PublicKey, RsaVerifier, Verifier};
/// let key = PublicKey::from_pem(include_str!("../tests/data/rfc7515/A2.rsa_public_spki.pem"))?;
/// let verifier = RsaVerifier::new(key, Algorithm::RS256)?;
/// assert!(verifier.verify(b"input", &[0; 256]).is_err());
/// # Ok(()) }
/// ```
pub struct RsaVerifier {
    key: PublicKey,
    algorithm: Algorithm,
    parsed: backend::PublicKey,
}

impl RsaVerifier {
    /// Binds `key` to `algorithm`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyRejected`] if the backend refuses the key.
    pub fn new(key: PublicKey, algorithm: Algorithm) -> Result<Self, Error> {
        let parsed = backend::PublicKey::new(key.to_pkcs1_der(), algorithm)?;
        Ok(RsaVerifier {
            key,
            algorithm,
            parsed,
        })
    }

    /// Builds a verifier from a JWK: the algorithm is the JWK's `alg`, or
    /// `default_alg` when it has none; `use` and `key_ops` must allow verification.
    ///
    /// # Errors
    ///
    /// [`Error::KeyRejected`] for a key not meant for signatures,
    /// [`Error::UnsupportedAlgorithm`] for an `alg` outside the supported set.
    pub fn from_jwk(jwk: &Jwk, default_alg: Algorithm) -> Result<Self, Error> {
        let algorithm = jwk.algorithm_for(KeyPurpose::Verify, None, default_alg)?;
        Self::new(PublicKey::from_jwk(jwk)?, algorithm)
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

impl Debug for RsaVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaVerifier")
            .field("algorithm", &self.algorithm)
            .field("key", &self.key)
            .finish()
    }
}

impl Verifier for RsaVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.parsed.verify(message, signature)
    }
}
