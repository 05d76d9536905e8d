//! When to try again after a connection is lost: exponential back-off with jitter.
//!
//! A pure function of the attempt number and a random draw, so the schedule is
//! tested exactly with a fake RNG. Jitter spreads the reconnects of many accounts
//! (and many connectors) after a server restart instead of having them all knock
//! at once.

use std::time::Duration;

use rand_core::RngCore;

/// The back-off schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry (attempt 0), before jitter.
    pub initial: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
    /// Growth per attempt (2.0 doubles).
    pub multiplier: f64,
    /// Share of each delay that is random, 0.0 (none) to 1.0 (anywhere from 0 to the
    /// full delay): the delay is drawn from `[base·(1−jitter), base]`.
    pub jitter: f64,
}

impl Default for Backoff {
    /// 1 s, doubling, up to 5 minutes, with half of each delay random.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The un-jittered delay of `attempt` (0-based): `initial · multiplier^attempt`,
    /// capped at `max`.
    pub fn base(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(attempt.min(1024) as i32);
        let secs = self.initial.as_secs_f64() * factor;
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    /// The delay before retry `attempt`, jittered with one draw from `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut impl RngCore) -> Duration {
        let base = self.base(attempt);
        let jitter = self.jitter.clamp(0.0, 1.0);
        // 53 random bits → a uniform fraction in [0, 1].
        let unit = (rng.next_u64() >> 11) as f64 / ((1u64 << 53) - 1) as f64;
        let keep = 1.0 - jitter + jitter * unit;
        base.mul_f64(keep).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the same value forever.
    struct Fixed(u64);

    impl RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            self.0 as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.fill(self.0 as u8);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    fn policy() -> Backoff {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }

    #[test]
    fn base_doubles_then_caps() {
        let b = policy();
        let secs: Vec<f64> = (0..9).map(|a| b.base(a).as_secs_f64()).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        assert_eq!(b.base(u32::MAX), b.max);
    }

    #[test]
    fn jitter_spans_the_configured_share() {
        let b = policy();
        // Lowest draw: half the base; highest draw: the whole base.
        assert_eq!(b.delay(0, &mut Fixed(0)), Duration::from_millis(250));
        assert_eq!(b.delay(0, &mut Fixed(u64::MAX)), Duration::from_millis(500));
        assert_eq!(b.delay(3, &mut Fixed(0)), Duration::from_secs(2));
        assert_eq!(b.delay(3, &mut Fixed(u64::MAX)), Duration::from_secs(4));
        // A middle draw lands in between.
        let mid = b.delay(3, &mut Fixed(u64::MAX / 2));
        assert!(
            mid > Duration::from_secs(2) && mid < Duration::from_secs(4),
            "{mid:?}"
        );
        assert_eq!(b.delay(40, &mut Fixed(u64::MAX)), Duration::from_secs(30));
        assert_eq!(b.delay(40, &mut Fixed(0)), Duration::from_secs(15));
    }

    #[test]
    fn no_jitter_is_deterministic_and_full_jitter_can_reach_zero() {
        let mut b = policy();
        b.jitter = 0.0;
        assert_eq!(b.delay(2, &mut Fixed(12345)), Duration::from_secs(2));
        b.jitter = 1.0;
        assert_eq!(b.delay(2, &mut Fixed(0)), Duration::ZERO);
        b.jitter = 7.0; // clamped to 1.0
        assert_eq!(b.delay(2, &mut Fixed(u64::MAX)), Duration::from_secs(2));
    }

    #[test]
    fn degenerate_policies_stay_bounded() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            multiplier: 0.1, // treated as 1: delays never shrink
            jitter: 0.0,
        };
        assert_eq!(b.delay(5, &mut Fixed(0)), Duration::from_secs(1));
        let huge = Backoff {
            multiplier: 1e300,
            ..b
        };
        assert_eq!(huge.delay(3, &mut Fixed(0)), Duration::from_secs(10));
    }
}
