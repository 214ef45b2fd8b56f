//! Remembering nonces (response tokens, request `jti`s) to refuse replays.

#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::RedisNonceStore;

use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Debug};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::{Clock, SystemClock};

/// The future an [`AsyncNonceStore`] returns: `true` when the nonce is fresh.
pub type NonceFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, Error>> + Send + 'a>>;

/// Remembers nonces for a time and says whether one was seen, answering at
/// once: the in-memory [`MemoryNonceStore`].
///
/// Verifiers whose replay store (and key source) answer at once have sync
/// methods. Every `NonceStore` is also an [`AsyncNonceStore`].
///
/// Check and record must be one atomic step: two verifiers racing with the
/// same nonce must not both be told "fresh".
pub trait NonceStore: Debug + Send + Sync {
    /// Records `nonce` for `ttl` and returns `true` if it was not already
    /// recorded (fresh), `false` if it was (a replay).
    ///
    /// # Errors
    ///
    /// A store that cannot answer returns an error, which verification
    /// passes on: never a silent "fresh".
    fn check_and_remember(&self, nonce: &str, ttl: Duration) -> Result<bool, Error>;
}

/// A replay store that may wait on the network: `RedisNonceStore` (feature
/// `redis`), shared by every instance of a fleet so that a replay sent to
/// another instance is caught too. Verifiers over one offer only `*_async`
/// methods.
///
/// Check and record must be one atomic step, as for [`NonceStore`].
pub trait AsyncNonceStore: Debug + Send + Sync {
    /// As [`NonceStore::check_and_remember`]. The verifier awaits the future
    /// to completion; it is never dropped half-way by this crate.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the store cannot answer.
    fn check_and_remember_async<'a>(&'a self, nonce: &'a str, ttl: Duration) -> NonceFuture<'a>;
}

impl<T: NonceStore + ?Sized> AsyncNonceStore for T {
    fn check_and_remember_async<'a>(&'a self, nonce: &'a str, ttl: Duration) -> NonceFuture<'a> {
        Box::pin(std::future::ready(self.check_and_remember(nonce, ttl)))
    }
}

/// A bounded in-memory [`NonceStore`] for one process: at most `capacity`
/// nonces, each kept for the time it is given.
///
/// When full, the oldest nonce is forgotten early, so memory stays bounded
/// whatever arrives; size `capacity` above the nonces one replay window
/// brings.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::time::Duration;
/// use signed_payloads::{MemoryNonceStore, NonceStore};
/// let store = MemoryNonceStore::new(10_000);
/// let window = Duration::from_secs(300);
/// assert!(store.check_and_remember("n1", window)?);
/// assert!(!store.check_and_remember("n1", window)?);
/// # Ok(()) }
/// ```
pub struct MemoryNonceStore {
    state: Mutex<State>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

/// Shows how many nonces are held, never which: a nonce or `jti` in a log
/// would help whoever reads it replay the message.
impl fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryNonceStore")
            .field("remembered", &self.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// Nonce → the instant it stops counting.
    seen: HashMap<Box<str>, SystemTime>,
    /// Insertion order, for eviction; an entry is stale once `seen` no
    /// longer holds the same expiry for it.
    order: VecDeque<(SystemTime, Box<str>)>,
}

impl MemoryNonceStore {
    /// A store of at most `capacity` nonces (at least 1).
    pub fn new(capacity: usize) -> Self {
        MemoryNonceStore {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many nonces are remembered now (expired ones may still count
    /// until the next check sweeps them).
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }

    /// True when none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self, nonce: &str, ttl: Duration) -> bool {
        let now = self.clock.now();
        // A window past what SystemTime can hold is kept until year 9999,
        // never shortened (a fallback to `now` would remember nothing).
        let expires = now
            .checked_add(ttl)
            .unwrap_or_else(|| now.max(UNIX_EPOCH + Duration::from_secs(253_402_300_799)));
        // Entries are only ever inserted or removed whole, so a panic
        // elsewhere cannot leave the state inconsistent.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let State { seen, order } = &mut *state;
        while let Some((until, key)) = order.front() {
            let current = seen.get(key) == Some(until);
            if current && *until > now && order.len() < self.capacity {
                break;
            }
            if let Some((until, old)) = order.pop_front() {
                if seen.get(&old) == Some(&until) {
                    seen.remove(&old);
                }
            }
        }
        if seen.get(nonce).is_some_and(|until| *until > now) {
            return false;
        }
        let key: Box<str> = nonce.into();
        seen.insert(key.clone(), expires);
        order.push_back((expires, key));
        true
    }
}

impl NonceStore for MemoryNonceStore {
    fn check_and_remember(&self, nonce: &str, ttl: Duration) -> Result<bool, Error> {
        Ok(self.check(nonce, ttl))
    }
}

/// How a verifier refuses replays: the store, and how long a nonce is kept
/// when the message itself does not say (response nonces have no expiry).
#[derive(Debug)]
pub(crate) struct Replay<R: ?Sized> {
    pub(crate) store: Arc<R>,
    pub(crate) window: Option<Duration>,
}

impl<R: ?Sized> Clone for Replay<R> {
    fn clone(&self) -> Self {
        Replay {
            store: Arc::clone(&self.store),
            window: self.window,
        }
    }
}

/// Records `nonce` under `scope` for `ttl`; [`Error::Replayed`] if it was
/// already there. The one replay check every verifier makes, sync...
pub(crate) fn refuse_replay<R: NonceStore + ?Sized>(
    store: &R,
    scope: &str,
    nonce: &str,
    ttl: Duration,
) -> Result<(), Error> {
    fresh_or_replayed(store.check_and_remember(&scoped(scope, nonce), ttl)?)
}

/// ...and async, awaited to completion.
pub(crate) async fn refuse_replay_async<R: AsyncNonceStore + ?Sized>(
    store: &R,
    scope: &str,
    nonce: &str,
    ttl: Duration,
) -> Result<(), Error> {
    let key = scoped(scope, nonce);
    fresh_or_replayed(store.check_and_remember_async(&key, ttl).await?)
}

fn fresh_or_replayed(fresh: bool) -> Result<(), Error> {
    if fresh { Ok(()) } else { Err(Error::Replayed) }
}

/// A nonce store key that keeps callers apart: `scope` names the use
/// (response tokens, a tenant's `jti`s), length-prefixed so that no two
/// (scope, nonce) pairs give the same key.
fn scoped(scope: &str, nonce: &str) -> String {
    format!("{}:{scope}:{nonce}", scope.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;

    #[test]
    fn window_and_capacity() {
        let at = |s| Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(s)));
        let ten = Duration::from_secs(10);
        let store = MemoryNonceStore::new(3).with_clock(at(100));
        assert!(store.check("a", ten));
        assert!(!store.check("a", ten));
        let store = store.with_clock(at(111));
        assert!(store.check("a", ten), "seen outside the window");
        for n in ["b", "c", "d", "e"] {
            assert!(store.check(n, ten));
        }
        assert!(store.len() <= 3, "bounded: {}", store.len());
        assert!(!store.check("e", ten));
    }

    #[test]
    fn each_nonce_keeps_its_own_time() {
        let at = |s| Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(s)));
        let store = MemoryNonceStore::new(10).with_clock(at(0));
        assert!(store.check("long", Duration::from_secs(100)));
        assert!(store.check("short", Duration::from_secs(5)));
        let store = store.with_clock(at(50));
        assert!(
            store.check("short", Duration::from_secs(5)),
            "short one expired"
        );
        assert!(
            !store.check("long", Duration::from_secs(100)),
            "long one still held"
        );
    }

    #[test]
    fn a_window_too_long_for_the_clock_is_kept_not_dropped() {
        let store = MemoryNonceStore::new(10);
        assert!(store.check("n", Duration::MAX));
        assert!(!store.check("n", Duration::MAX), "remembered");
    }

    #[test]
    fn debug_shows_counts_not_nonces() {
        let store = MemoryNonceStore::new(10);
        store.check("jti-secret-123", Duration::from_secs(60));
        let shown = format!("{store:?}");
        assert!(!shown.contains("jti-secret-123"), "{shown}");
        assert!(shown.contains("remembered: 1"), "{shown}");
    }

    #[test]
    fn scoped_keys_do_not_collide() {
        assert_ne!(scoped("a:b", "c"), scoped("a", "b:c"));
    }
}
