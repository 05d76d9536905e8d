//! When to try again: exponential back-off with full jitter (a uniformly random
//! wait between zero and the exponential bound), so receivers coming back from
//! an outage are not hit by every retry at once.

use std::time::{Duration, SystemTime};

/// The first bound: attempt 1's retry waits up to this.
const BASE: Duration = Duration::from_secs(1);
/// No single wait is longer (also caps a receiver's `Retry-After`).
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Never retry sooner than this, whatever the jitter drew.
const MIN_DELAY: Duration = Duration::from_millis(100);

/// The wait after failed attempt number `attempt` (from 1). `jitter` is random
/// bits from the caller; a receiver's `retry_after` wins when it asks for
/// longer (up to [`MAX_DELAY`]).
pub fn next_attempt_delay(attempt: u32, jitter: u64, retry_after: Option<Duration>) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let bound = BASE.saturating_mul(1 << exponent).min(MAX_DELAY);
    let bound_ms = bound.as_millis() as u64;
    let drawn = Duration::from_millis(jitter % (bound_ms + 1)).max(MIN_DELAY);
    match retry_after {
        Some(asked) => drawn.max(asked.min(MAX_DELAY)),
        None => drawn,
    }
}

/// Whether a delivery whose retry window started at `retry_from` has run out
/// of time at `now`.
pub fn should_give_up(retry_from: SystemTime, now: SystemTime, window: Duration) -> bool {
    now.duration_since(retry_from)
        .is_ok_and(|elapsed| elapsed >= window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_double_up_to_the_cap() {
        for attempt in 1..=30 {
            let bound = BASE
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(MAX_DELAY);
            assert!(next_attempt_delay(attempt, u64::MAX, None) <= bound);
            assert_eq!(
                next_attempt_delay(attempt, bound.as_millis() as u64, None),
                bound
            );
        }
        assert_eq!(next_attempt_delay(40, 300_000, None), MAX_DELAY);
        assert_eq!(next_attempt_delay(1, 0, None), MIN_DELAY);
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut waits = Vec::new();
        for _ in 0..1000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            waits.push(next_attempt_delay(6, seed, None).as_millis());
        }
        let (min, max) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
        assert!(*min < 5_000 && *max > 27_000, "{min}..{max}");
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        assert_eq!(
            next_attempt_delay(1, 0, Some(Duration::from_secs(42))),
            Duration::from_secs(42)
        );
        assert_eq!(
            next_attempt_delay(1, 0, Some(Duration::from_secs(86_400))),
            MAX_DELAY
        );
    }

    #[test]
    fn the_window_runs_out() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let day = Duration::from_secs(86_400);
        assert!(!should_give_up(
            start,
            start + day - Duration::from_secs(1),
            day
        ));
        assert!(should_give_up(start, start + day, day));
        assert!(!should_give_up(start, start - Duration::from_secs(5), day));
    }
}
