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

/// The future an [`AsyncNonceStore`] returns.
pub type NonceFuture<'a> = Pin<Box<dyn Future<Output = Result<NonceStatus, Error>> + Send + 'a>>;

/// One nonce for a replay store to check and record: what to remember it by,
/// for how long, and since when it could have been used.
///
/// `Debug` omits the key: a nonce or `jti` in a log would help whoever reads
/// it replay the message.
#[derive(Clone, Copy)]
pub struct NonceCheck<'a> {
    key: &'a str,
    ttl: Duration,
    now: SystemTime,
    earliest_use: SystemTime,
}

impl<'a> NonceCheck<'a> {
    /// A check of `key`, to be remembered for `ttl` from `now`, by a message
    /// that could first have been accepted at `earliest_use`.
    pub fn new(key: &'a str, ttl: Duration, now: SystemTime, earliest_use: SystemTime) -> Self {
        NonceCheck {
            key,
            ttl,
            now,
            earliest_use,
        }
    }

    /// What the nonce is remembered by (already scoped by the verifier).
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// How long to remember it.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The verifier's clock at the check.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// The earliest instant a verifier could have accepted this message
    /// before: its `iat` less the clock-skew leeway for a request token, one
    /// replay window before now for a response nonce, and the Unix epoch when
    /// nothing says (a token without `iat`). A store that lost what it
    /// recorded before some instant cannot say whether a message first used
    /// before that instant is fresh, and answers
    /// [`NonceStatus::BeforeHistory`].
    pub fn earliest_use(&self) -> SystemTime {
        self.earliest_use
    }
}

impl fmt::Debug for NonceCheck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceCheck")
            .field("ttl", &self.ttl)
            .field("now", &self.now)
            .field("earliest_use", &self.earliest_use)
            .finish_non_exhaustive()
    }
}

/// What a replay store says of a nonce it was asked to check and record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// Not seen before; now recorded.
    Fresh,
    /// Seen before: a replay.
    Replayed,
    /// The message could have been used before the store's records begin (it
    /// lost them: a restart without persistence, a flush, an eviction), so
    /// the store cannot vouch that it is fresh. The store may have recorded
    /// the nonce all the same; the sender signs a new message either way.
    BeforeHistory,
}

/// Remembers nonces for a time and says whether one was seen, answering at
/// once: the in-memory [`MemoryNonceStore`].
///
/// Verifiers whose replay store (and key source) answer at once have sync
/// methods. Every `NonceStore` is also an [`AsyncNonceStore`].
///
/// Check and record must be one atomic step: two verifiers racing with the
/// same nonce must not both be told "fresh".
pub trait NonceStore: Debug + Send + Sync {
    /// Records `nonce.key()` for `nonce.ttl()` and says whether it was
    /// fresh, a replay, or (for a store that knows it lost records) used
    /// possibly before its records begin.
    ///
    /// # Errors
    ///
    /// A store that cannot answer returns an error, which verification
    /// passes on: never a silent "fresh".
    fn check_and_remember(&self, nonce: &NonceCheck<'_>) -> Result<NonceStatus, Error>;
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
    fn check_and_remember_async<'a>(&'a self, nonce: &'a NonceCheck<'a>) -> NonceFuture<'a>;
}

impl<T: NonceStore + ?Sized> AsyncNonceStore for T {
    fn check_and_remember_async<'a>(&'a self, nonce: &'a NonceCheck<'a>) -> NonceFuture<'a> {
        Box::pin(std::future::ready(self.check_and_remember(nonce)))
    }
}

/// A bounded in-memory [`NonceStore`] for one process: at most `capacity`
/// nonces, each kept for the time it is given.
///
/// When full, the oldest nonce is forgotten early, so memory stays bounded
/// whatever arrives; size `capacity` above the nonces one replay window
/// brings.
///
/// It never answers [`NonceStatus::BeforeHistory`]: its records begin when
/// the process starts, and a message used before a restart can be replayed
/// to the new process within its window. Keep windows short, or share a
/// `RedisNonceStore`, which notices when it has lost its records.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::time::{Duration, SystemTime};
/// use signed_payloads::{MemoryNonceStore, NonceCheck, NonceStatus, NonceStore};
/// let store = MemoryNonceStore::new(10_000);
/// let now = SystemTime::now();
/// let check = NonceCheck::new("n1", Duration::from_secs(300), now, now);
/// assert_eq!(store.check_and_remember(&check)?, NonceStatus::Fresh);
/// assert_eq!(store.check_and_remember(&check)?, NonceStatus::Replayed);
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
    fn check_and_remember(&self, nonce: &NonceCheck<'_>) -> Result<NonceStatus, Error> {
        Ok(if self.check(nonce.key(), nonce.ttl()) {
            NonceStatus::Fresh
        } else {
            NonceStatus::Replayed
        })
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

/// One use of a nonce that a verifier asks its replay store about.
pub(crate) struct ReplayEntry {
    key: String,
    ttl: Duration,
    now: SystemTime,
    earliest_use: SystemTime,
}

impl ReplayEntry {
    /// `nonce` under `scope`, kept for `ttl` from `now`, by a message that
    /// could first have been accepted at `earliest_use`.
    pub(crate) fn new(
        scope: &str,
        nonce: &str,
        ttl: Duration,
        now: SystemTime,
        earliest_use: SystemTime,
    ) -> Self {
        ReplayEntry {
            key: scoped(scope, nonce),
            ttl,
            now,
            earliest_use,
        }
    }

    fn check(&self) -> NonceCheck<'_> {
        NonceCheck::new(&self.key, self.ttl, self.now, self.earliest_use)
    }
}

/// Records the entry; [`Error::Replayed`] if it was already there,
/// [`Error::BeforeReplayHistory`] if the store cannot tell. The one replay
/// check every verifier makes, sync...
pub(crate) fn refuse_replay<R: NonceStore + ?Sized>(
    store: &R,
    entry: &ReplayEntry,
) -> Result<(), Error> {
    accept_fresh(store.check_and_remember(&entry.check())?)
}

/// ...and async, awaited to completion.
pub(crate) async fn refuse_replay_async<R: AsyncNonceStore + ?Sized>(
    store: &R,
    entry: &ReplayEntry,
) -> Result<(), Error> {
    let check = entry.check();
    accept_fresh(store.check_and_remember_async(&check).await?)
}

fn accept_fresh(status: NonceStatus) -> Result<(), Error> {
    match status {
        NonceStatus::Fresh => Ok(()),
        NonceStatus::Replayed => Err(Error::Replayed),
        NonceStatus::BeforeHistory => Err(Error::BeforeReplayHistory),
    }
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
