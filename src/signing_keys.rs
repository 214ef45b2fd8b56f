//! The signing side of rotation: several signers with expiries, and the
//! rule for which one signs now.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::error::{Error, Escaped};
use crate::{Clock, Signer, SystemClock};

#[derive(Clone)]
struct Entry {
    signer: Arc<dyn Signer>,
    expires_at: Option<SystemTime>,
}

/// The signing keys of one usage, each with an optional expiry.
///
/// [`SigningKeys::current`] picks, among keys not yet expired, the one with
/// the latest expiry (a key without expiry counts as latest; among equals,
/// the one added last). Its [`Signer::key_id`] goes into the token's `kid`,
/// so verifiers know which key signed. Reads are lock-free, as in
/// [`KeyRegistry`](crate::KeyRegistry).
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use signed_payloads::{Algorithm, PrivateKey, KeySigner, SigningKeys};
/// let pem = include_str!("../tests/data/keys/rsa2048.pkcs8.pem");
/// let keys = SigningKeys::new();
/// let day = Duration::from_secs(86_400);
/// let now = SystemTime::now();
/// keys.add(Arc::new(KeySigner::new(PrivateKey::from_pem(pem)?, Algorithm::PS384)?.with_key_id("old")), Some(now + day))?;
/// keys.add(Arc::new(KeySigner::new(PrivateKey::from_pem(pem)?, Algorithm::PS384)?.with_key_id("new")), Some(now + 2 * day))?;
/// assert_eq!(keys.current()?.key_id(), Some("new"));
/// # Ok(()) }
/// ```
pub struct SigningKeys {
    entries: ArcSwap<Vec<Entry>>,
    writer: Mutex<()>,
    clock: Arc<dyn Clock>,
}

impl SigningKeys {
    /// An empty set using the system clock.
    pub fn new() -> Self {
        SigningKeys {
            entries: ArcSwap::from_pointee(Vec::new()),
            writer: Mutex::new(()),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` to judge expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds a signer, which must have a key id, expiring at `expires_at`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a signer without key id,
    /// [`Error::DuplicateKeyId`] when the id is already present.
    pub fn add(
        &self,
        signer: Arc<dyn Signer>,
        expires_at: Option<SystemTime>,
    ) -> Result<(), Error> {
        let kid = signer
            .key_id()
            .ok_or_else(|| Error::Config("a signer added to SigningKeys needs a key id".into()))?
            .to_owned();
        self.write(|entries| {
            if entries
                .iter()
                .any(|e| e.signer.key_id() == Some(kid.as_str()))
            {
                return Err(Error::DuplicateKeyId(Escaped::new(&kid)));
            }
            entries.push(Entry { signer, expires_at });
            Ok(())
        })
    }

    /// Removes the signer with id `kid`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`] when no signer has that id.
    pub fn remove(&self, kid: &str) -> Result<(), Error> {
        self.write(|entries| {
            let at = entries
                .iter()
                .position(|e| e.signer.key_id() == Some(kid))
                .ok_or_else(|| Error::UnknownKeyId(Escaped::new(kid)))?;
            entries.remove(at);
            Ok(())
        })
    }

    fn write(
        &self,
        change: impl FnOnce(&mut Vec<Entry>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = self.entries.load().as_ref().clone();
        change(&mut entries)?;
        self.entries.store(Arc::new(entries));
        Ok(())
    }

    /// The signer to use now.
    ///
    /// # Errors
    ///
    /// [`Error::NoSigningKey`] when none is registered or all have expired.
    pub fn current(&self) -> Result<Arc<dyn Signer>, Error> {
        let now = self.clock.now();
        let entries = self.entries.load();
        entries
            .iter()
            .filter(|e| e.expires_at.is_none_or(|at| now < at))
            // max_by_key keeps the last of equal keys: the one added last.
            .max_by_key(|e| (e.expires_at.is_none(), e.expires_at))
            .map(|e| Arc::clone(&e.signer))
            .ok_or(Error::NoSigningKey)
    }

    /// The key ids in the order they were added.
    pub fn key_ids(&self) -> Vec<String> {
        self.entries
            .load()
            .iter()
            .filter_map(|e| e.signer.key_id().map(str::to_owned))
            .collect()
    }
}

impl Default for SigningKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}
