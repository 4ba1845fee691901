//! The one source of the current time. Production code asks a [`Clock`]; tests hold a
//! [`TestClock`] and move it forward instead of sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Tells the time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // The only reading of the wall clock in the workspace.
        Utc::now()
    }
}

/// A clock tests control: it either stands still ([`TestClock::at`]) or runs with the wall
/// clock ([`TestClock::running`]); either way [`TestClock::advance`] jumps it forward, so a test
/// reaches a time an hour or a day ahead without waiting for it.
#[derive(Debug)]
pub struct TestClock {
    state: Mutex<TestClockState>,
}

#[derive(Debug)]
struct TestClockState {
    base: DateTime<Utc>,
    /// `Some` while the clock runs: the instant `base` was read.
    running_since: Option<std::time::Instant>,
    offset: Duration,
}

impl TestClock {
    /// A clock showing `start` and standing still.
    pub fn at(start: DateTime<Utc>) -> Self {
        Self::new(start, None)
    }

    /// A clock that runs with the wall clock from its time now, plus whatever it is advanced.
    pub fn running() -> Self {
        Self::new(SystemClock.now(), Some(std::time::Instant::now()))
    }

    fn new(base: DateTime<Utc>, running_since: Option<std::time::Instant>) -> Self {
        Self {
            state: Mutex::new(TestClockState {
                base,
                running_since,
                offset: Duration::zero(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TestClockState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        self.state().offset += by;
    }

    /// Shows `at` from now on (and runs on from there if the clock runs).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut state = self.state();
        state.base = at;
        state.offset = Duration::zero();
        if state.running_since.is_some() {
            state.running_since = Some(std::time::Instant::now());
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let state = self.state();
        let elapsed = state
            .running_since
            .map(|t| Duration::from_std(t.elapsed()).unwrap_or_else(|_| Duration::zero()))
            .unwrap_or_else(Duration::zero);
        state.base + elapsed + state.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_only_when_told() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let clock = TestClock::at(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn a_running_test_clock_keeps_its_jumps() {
        let clock = TestClock::running();
        let before = clock.now();
        clock.advance(Duration::days(1));
        let after = clock.now();
        assert!(after - before >= Duration::days(1), "{before} -> {after}");
        assert!(after - before < Duration::days(1) + Duration::seconds(5));
        assert!(
            clock.now() >= after,
            "a running clock never goes back by itself"
        );
    }
}
