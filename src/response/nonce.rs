//! Remembering response tokens, to refuse replays.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::{Clock, SystemClock};

/// Remembers nonces for a time window and says whether one was seen.
///
/// The in-memory [`MemoryNonceStore`] serves one process; a fleet needs a
/// shared store so that a replay sent to another instance is caught too.
pub trait NonceStore: Debug + Send + Sync {
    /// Records `nonce` and returns `true` if it was not seen within the window.
    ///
    /// # Errors
    ///
    /// A store that cannot answer (a network store that is down) returns an
    /// error, which verification passes on: never a silent "fresh".
    fn check_and_remember(&self, nonce: &str) -> Result<bool, Error>;
}

/// A bounded in-memory [`NonceStore`]: at most `capacity` nonces, each kept
/// for `window`.
///
/// When full, the oldest nonce is forgotten early, so memory stays bounded
/// whatever arrives; size `capacity` above the responses a client receives in
/// one `window`. A replay older than the window is not detected (header-mode
/// responses carry no timestamp), so choose the window to cover the time a
/// response can usefully be replayed.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::time::Duration;
/// use signed_payloads::response::{MemoryNonceStore, NonceStore};
/// let store = MemoryNonceStore::new(10_000, Duration::from_secs(300));
/// assert!(store.check_and_remember("n1")?);
/// assert!(!store.check_and_remember("n1")?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MemoryNonceStore {
    state: Mutex<State>,
    capacity: usize,
    window: Duration,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<Box<str>, SystemTime>,
    order: VecDeque<(SystemTime, Box<str>)>,
}

impl MemoryNonceStore {
    /// A store of at most `capacity` nonces (at least 1), each kept for `window`.
    pub fn new(capacity: usize, window: Duration) -> Self {
        MemoryNonceStore {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            window,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for the window.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many nonces are remembered now.
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
}

impl NonceStore for MemoryNonceStore {
    fn check_and_remember(&self, nonce: &str) -> Result<bool, Error> {
        let now = self.clock.now();
        // Entries are only ever inserted or removed whole, so a panic
        // elsewhere cannot leave the state inconsistent.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let State { seen, order } = &mut *state;
        while let Some((at, _)) = order.front() {
            let expired = now.duration_since(*at).is_ok_and(|age| age >= self.window);
            if !expired && order.len() < self.capacity {
                break;
            }
            if let Some((at, old)) = order.pop_front() {
                // Forget it only if this entry is the one on record.
                if seen.get(&old) == Some(&at) {
                    seen.remove(&old);
                }
            }
        }
        if let Some(at) = seen.get(nonce) {
            if now
                .duration_since(*at)
                .map_or(true, |age| age < self.window)
            {
                return Ok(false);
            }
        }
        let key: Box<str> = nonce.into();
        seen.insert(key.clone(), now);
        order.push_back((now, key));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;
    use std::time::UNIX_EPOCH;

    #[test]
    fn window_and_capacity() {
        let at = |s| Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(s)));
        let store = MemoryNonceStore::new(3, Duration::from_secs(10)).with_clock(at(100));
        assert!(store.check_and_remember("a").unwrap());
        assert!(!store.check_and_remember("a").unwrap());
        let store = store.with_clock(at(111));
        assert!(
            store.check_and_remember("a").unwrap(),
            "seen outside the window"
        );
        for n in ["b", "c", "d", "e"] {
            assert!(store.check_and_remember(n).unwrap());
        }
        assert!(store.len() <= 3, "bounded: {}", store.len());
        assert!(!store.check_and_remember("e").unwrap());
    }
}
