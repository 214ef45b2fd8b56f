//! Where "now" comes from, so that expiry and claim checks can be tested.

use std::fmt::Debug;
use std::time::SystemTime;

/// A source of the current time.
pub trait Clock: Debug + Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock; the default everywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that always says the same time, for tests and replays.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use signed_payloads::{Clock, FixedClock};
/// let clock = FixedClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(SystemTime);

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: SystemTime) -> Self {
        FixedClock(at)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}
