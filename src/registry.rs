//! The key registry: administration of at most two active verification
//! keys, rotated without stopping readers.

mod import;
mod rfc3339;
mod verification_key;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

pub use verification_key::VerificationKey;

use crate::error::{Error, Escaped};
use crate::{Algorithm, JwkSet, KeySet, KeySource, MAX_ACTIVE_KEYS};

/// The administration of one program's verification keys: at most two
/// active, rotated without stopping readers, ids never rebound.
///
/// The rules, each enforced and tested:
/// - one or two active keys: adding a third is [`Error::KeyLimit`], removing
///   the last is [`Error::LastKey`];
/// - ids are unique ([`Error::DuplicateKeyId`]) and never rebound to other
///   key material, even after removal ([`Error::KeyIdReused`]);
/// - verifiers read the active keys through [`KeySource`]: a token with a
///   `kid` is checked against that key only (an unknown `kid` is
///   [`Error::UnknownKeyId`], never a fallback to another key); a token
///   without `kid` is tried against each active key in registration order,
///   unless the verifier requires `kid`; each key verifies one algorithm and
///   an expired key does not verify.
///
/// Readers never block: verification loads an `Arc` snapshot of the key set
/// without a lock, while writers (serialized among themselves) publish a
/// complete new set in one atomic swap.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, KeyRegistry, PrivateKey, KeySigner, VerificationKey};
/// use signed_payloads::request::{RequestSigner, RequestVerifier};
/// let old = PrivateKey::from_pem(include_str!("../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let registry = Arc::new(KeyRegistry::new(VerificationKey::new("k1", old.public_key().clone(), Algorithm::RS256)?));
/// let verifier = RequestVerifier::new(Arc::clone(&registry));
///
/// let signer = RequestSigner::new(Arc::new(KeySigner::new(old, Algorithm::RS256)?.with_key_id("k1")));
/// let token = signer.sign_json(b"{}")?;
/// assert_eq!(verifier.verify_bytes(&token)?.key_id(), Some("k1"));
/// let next = PrivateKey::from_pem(include_str!("../tests/data/keys/rsa2048-second.pkcs8.pem"))?;
/// registry.add(VerificationKey::new("k2", next.public_key().clone(), Algorithm::RS256)?)?;
/// assert_eq!(registry.key_ids(), ["k1", "k2"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct KeyRegistry {
    active: ArcSwap<KeySet>,
    /// Every id ever registered and its key material; held while writing.
    history: Mutex<HashMap<String, Option<String>>>,
}

impl KeyRegistry {
    /// A registry holding `first`.
    pub fn new(first: VerificationKey) -> Self {
        let history = HashMap::from([(first.kid().to_owned(), first.fingerprint())]);
        KeyRegistry {
            active: ArcSwap::from_pointee(KeySet::single(first)),
            history: Mutex::new(history),
        }
    }

    /// A registry holding one or two keys.
    ///
    /// # Errors
    ///
    /// As for [`KeySet::new`].
    pub fn from_keys(keys: impl IntoIterator<Item = VerificationKey>) -> Result<Self, Error> {
        KeySet::new(keys).map(Self::from_key_set)
    }

    /// A registry holding the keys of `set`.
    pub fn from_key_set(set: KeySet) -> Self {
        let history = set
            .iter()
            .map(|k| (k.kid().to_owned(), k.fingerprint()))
            .collect();
        KeyRegistry {
            active: ArcSwap::from_pointee(set),
            history: Mutex::new(history),
        }
    }

    /// A registry holding the RSA signature keys of a JWKS; see [`KeySet::from_jwks`].
    ///
    /// # Errors
    ///
    /// As for [`KeySet::from_jwks`].
    pub fn from_jwks(json: &str, default_alg: Algorithm) -> Result<Self, Error> {
        KeySet::from_jwks(json, default_alg).map(Self::from_key_set)
    }

    /// A consistent snapshot of the active keys.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.active.load_full()
    }

    /// The active key ids in registration order.
    pub fn key_ids(&self) -> Vec<String> {
        self.active.load().key_ids().map(str::to_owned).collect()
    }

    /// Registers another key.
    ///
    /// # Errors
    ///
    /// [`Error::KeyLimit`], [`Error::DuplicateKeyId`] or [`Error::KeyIdReused`].
    pub fn add(&self, key: VerificationKey) -> Result<(), Error> {
        self.write(|keys, history| {
            // A retried add of a key already there says so, before the limit.
            refuse_duplicate(&key, keys)?;
            if keys.len() >= MAX_ACTIVE_KEYS {
                return Err(Error::KeyLimit {
                    limit: MAX_ACTIVE_KEYS,
                });
            }
            record(&key, history)?;
            keys.push(key);
            Ok(())
        })
    }

    /// Retires the key with id `kid`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`] if it is not active, [`Error::LastKey`] if it is the only one.
    pub fn remove(&self, kid: &str) -> Result<(), Error> {
        self.write(|keys, _| {
            let at = position(keys, kid)?;
            if keys.len() == 1 {
                return Err(Error::LastKey);
            }
            keys.remove(at);
            Ok(())
        })
    }

    /// Retires `old_kid` and registers `key` in one step, so that readers
    /// see either the old set or the new one.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`] for `old_kid`, and the errors of [`KeyRegistry::add`].
    pub fn replace(&self, old_kid: &str, key: VerificationKey) -> Result<(), Error> {
        self.write(|keys, history| {
            let at = position(keys, old_kid)?;
            let removed = keys.remove(at);
            if let Err(e) = admit(&key, keys, history) {
                keys.insert(at, removed);
                return Err(e);
            }
            keys.insert(at, key);
            Ok(())
        })
    }

    /// Runs one change on a copy of the set and publishes it if it succeeds.
    fn write(
        &self,
        change: impl FnOnce(
            &mut Vec<VerificationKey>,
            &mut HashMap<String, Option<String>>,
        ) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // A panic in another writer cannot leave the history half-written:
        // entries are only ever inserted whole.
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let mut set = KeySet::clone(&self.active.load());
        change(set.keys_mut(), &mut history)?;
        self.active.store(Arc::new(set));
        Ok(())
    }

    /// The public keys as a JWKS; see [`KeySet::to_jwks`].
    pub fn to_jwks(&self) -> JwkSet {
        self.active.load().to_jwks()
    }
}

impl KeySource for KeyRegistry {
    type Scope = ();

    fn key_set(&self, (): &(), _kid: Option<&str>) -> Result<Arc<KeySet>, Error> {
        Ok(self.active.load_full())
    }
}

fn position(keys: &[VerificationKey], kid: &str) -> Result<usize, Error> {
    keys.iter()
        .position(|k| k.kid() == kid)
        .ok_or_else(|| Error::UnknownKeyId(Escaped::new(kid)))
}

/// Checks the id rules for a key about to join `keys`, and records it.
fn admit(
    key: &VerificationKey,
    keys: &[VerificationKey],
    history: &mut HashMap<String, Option<String>>,
) -> Result<(), Error> {
    refuse_duplicate(key, keys)?;
    record(key, history)
}

/// An id is active at most once.
fn refuse_duplicate(key: &VerificationKey, keys: &[VerificationKey]) -> Result<(), Error> {
    if keys.iter().any(|k| k.kid() == key.kid()) {
        return Err(Error::DuplicateKeyId(Escaped::new(key.kid())));
    }
    Ok(())
}

/// An id is never bound to other material: checks `key` against the
/// history, and records it there.
fn record(
    key: &VerificationKey,
    history: &mut HashMap<String, Option<String>>,
) -> Result<(), Error> {
    let fingerprint = key.fingerprint();
    match history.get(key.kid()) {
        // Same id, same material and algorithm: re-registering is allowed.
        Some(Some(seen)) if Some(seen) == fingerprint.as_ref() => {}
        Some(_) => return Err(Error::KeyIdReused(Escaped::new(key.kid()))),
        None => {
            history.insert(key.kid().to_owned(), fingerprint);
        }
    }
    Ok(())
}
