//! One registered verification key: an id, a verifier bound to one
//! algorithm, and an optional expiry.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{Error, Escaped};
use crate::{Algorithm, KeyVerifier, PublicKey, Verifier};

/// A verification key as a [`KeySet`](crate::KeySet) holds it.
///
/// Immutable once built; cheap to clone (the verifier is shared).
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{Algorithm, VerificationKey};
/// let pem = include_str!("../../tests/data/keys/rsa2048.spki.pem");
/// let key = VerificationKey::from_pem("sandbox-2026", pem, Algorithm::RS256)?;
/// assert_eq!((key.kid(), key.algorithm()), ("sandbox-2026", Algorithm::RS256));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct VerificationKey {
    kid: Arc<str>,
    verifier: Arc<dyn Verifier>,
    public_key: Option<PublicKey>,
    expires_at: Option<SystemTime>,
}

impl VerificationKey {
    /// A key with id `kid`, bound to `algorithm`.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for an empty `kid`, [`Error::KeyRejected`] if the
    /// backend refuses the key.
    pub fn new(
        kid: impl Into<String>,
        key: PublicKey,
        algorithm: Algorithm,
    ) -> Result<Self, Error> {
        let kid = checked_kid(kid.into())?;
        let verifier = KeyVerifier::new(key.clone(), algorithm)?;
        Ok(VerificationKey {
            kid,
            verifier: Arc::new(verifier),
            public_key: Some(key),
            expires_at: None,
        })
    }

    /// A key whose verification is done elsewhere (an HSM, a remote
    /// service). Such a key cannot be exported to JWKS, and its id can never
    /// be registered again once removed, since its material is unknown.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for an empty `kid`.
    pub fn from_verifier(
        kid: impl Into<String>,
        verifier: Arc<dyn Verifier>,
    ) -> Result<Self, Error> {
        Ok(VerificationKey {
            kid: checked_kid(kid.into())?,
            verifier,
            public_key: None,
            expires_at: None,
        })
    }

    /// Reads a public key in any supported PEM form, with the id the caller gives it.
    ///
    /// # Errors
    ///
    /// As for [`PublicKey::from_pem`] and [`VerificationKey::new`].
    pub fn from_pem(
        kid: impl Into<String>,
        pem: &str,
        algorithm: Algorithm,
    ) -> Result<Self, Error> {
        Self::new(kid, PublicKey::from_pem(pem)?, algorithm)
    }

    /// Sets the instant after which the key no longer verifies.
    #[must_use]
    pub fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn shared_kid(&self) -> Arc<str> {
        Arc::clone(&self.kid)
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.verifier.algorithm()
    }

    /// The public key, unless verification happens elsewhere.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_key.as_ref()
    }

    /// When the key stops verifying, if ever.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The verifier.
    pub fn verifier(&self) -> &dyn Verifier {
        &*self.verifier
    }

    /// True once `now` has reached the expiry.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// What identifies the key material, to refuse rebinding an id: the
    /// RFC 7638 thumbprint and the algorithm.
    pub(crate) fn fingerprint(&self) -> Option<String> {
        self.public_key
            .as_ref()
            .map(|k| format!("{}/{}", k.thumbprint(), self.algorithm()))
    }

    pub(crate) fn check_not_expired(&self, now: SystemTime) -> Result<(), Error> {
        if self.is_expired(now) {
            return Err(Error::KeyExpired(Escaped::new(&self.kid)));
        }
        Ok(())
    }
}

fn checked_kid(kid: String) -> Result<Arc<str>, Error> {
    if kid.is_empty() {
        return Err(Error::key("a key id must not be empty"));
    }
    Ok(kid.into())
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &Escaped::new(&self.kid))
            .field("algorithm", &self.algorithm())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
