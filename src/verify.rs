//! Verifying: the pluggable [`Verifier`] trait and its implementation over
//! a [`PublicKey`].

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

/// A [`Verifier`] over a [`PublicKey`] of any kind, bound to one algorithm
/// that fits the key ([`Algorithm::fits`]) and parsed once.
///
/// ECDSA signatures are the fixed-length `R || S` of RFC 7518 §3.4: a DER
/// signature, a wrong length, or `r` or `s` zero or not below the group
/// order are refused; high `s` is valid, as in JOSE.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{Algorithm, PublicKey, KeyVerifier, Verifier};
/// let key = PublicKey::from_pem(include_str!("../tests/data/rfc7515/A2.rsa_public_spki.pem"))?;
/// let verifier = KeyVerifier::new(key, Algorithm::RS256)?;
/// assert!(verifier.verify(b"input", &[0; 256]).is_err());
/// # Ok(()) }
/// ```
pub struct KeyVerifier {
    key: PublicKey,
    algorithm: Algorithm,
    parsed: backend::PublicKey,
}

impl KeyVerifier {
    /// Binds `key` to `algorithm`.
    ///
    /// # Errors
    ///
    /// [`KeyRejected::WrongAlgorithm`](crate::KeyRejected::WrongAlgorithm)
    /// when the key's kind does not allow `algorithm`, [`Error::KeyRejected`]
    /// if the backend refuses the key, [`Error::Config`] for ES512 on the
    /// ring backend.
    pub fn new(key: PublicKey, algorithm: Algorithm) -> Result<Self, Error> {
        key.kind().check_algorithm(algorithm)?;
        let parsed = backend::PublicKey::new(key.backend_bytes(), algorithm)?;
        Ok(KeyVerifier {
            key,
            algorithm,
            parsed,
        })
    }

    /// Builds a verifier from a JWK: the algorithm is the JWK's `alg`, or
    /// `default_alg` when it has none and fits the key, else the key kind's
    /// own algorithm; `use` and `key_ops` must allow verification.
    ///
    /// # Errors
    ///
    /// [`Error::KeyRejected`] for a key not meant for signatures or an
    /// `alg` its kind does not allow, [`Error::UnsupportedAlgorithm`] for
    /// an `alg` outside the supported set.
    pub fn from_jwk(jwk: &Jwk, default_alg: Algorithm) -> Result<Self, Error> {
        let key = PublicKey::from_jwk(jwk)?;
        let default = key.kind().algorithm_or(default_alg);
        let algorithm = jwk.algorithm_for(KeyPurpose::Verify, None, default)?;
        Self::new(key, algorithm)
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

impl Debug for KeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVerifier")
            .field("algorithm", &self.algorithm)
            .field("key", &self.key)
            .finish()
    }
}

impl Verifier for KeyVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.parsed.verify(message, signature)
    }
}
