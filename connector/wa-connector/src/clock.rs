//! Time as the connector sees it, behind a trait so tests can move it forward.
//!
//! The protocol crate never reads the clock: every `handle_*` call gets `now` from
//! here. [`SystemClock`] is the real thing; [`ManualClock`] runs on real time plus an
//! offset that tests advance to fire keep-alive, QR rotation and back-off timers at
//! once instead of waiting for them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

/// A boxed sleep, so the trait stays object safe.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Where the driver and the account tasks read time and wait for deadlines.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current monotonic instant (what `Connection` timers are compared with).
    fn now(&self) -> Instant;
    /// Wall-clock Unix seconds (certificate validity checks).
    fn unix_now(&self) -> u64;
    /// Completes once [`Clock::now`] reaches `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Sleep;
}

/// The operating system's clocks and tokio's timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// Real time plus an offset that [`ManualClock::advance`] moves forward, waking every
/// sleeper whose deadline the jump passes. For tests.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Debug, Default)]
struct ManualInner {
    offset: Mutex<Duration>,
    moved: Notify,
}

impl ManualClock {
    /// A clock that starts at real time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Jumps forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.inner.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
        self.inner.moved.notify_waiters();
    }

    fn offset(&self) -> Duration {
        *self.inner.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant::now() + self.offset()
    }

    fn unix_now(&self) -> u64 {
        SystemClock.unix_now() + self.offset().as_secs()
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let clock = self.clone();
        Box::pin(async move {
            loop {
                let moved = clock.inner.moved.notified();
                let now = clock.now();
                if now >= deadline {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(deadline - now) => {}
                    () = moved => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_advanced() {
        let clock = ManualClock::new();
        let deadline = clock.now() + Duration::from_secs(3600);
        let sleeper = tokio::spawn(clock.sleep_until(deadline));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(3601));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken by the jump")
            .unwrap();
        assert!(clock.now() >= deadline);
        assert!(clock.unix_now() >= SystemClock.unix_now() + 3600);
    }
}
