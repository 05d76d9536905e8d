//! Token buckets: how many requests an API client may make, and how fast an
//! account's outbox may put messages on the wire.
//!
//! A bucket holds up to `burst` tokens and gains `per_minute / 60` of them each
//! second; every request (or message) takes one. An empty bucket tells how long
//! until the next token, which becomes the API's `Retry-After` or the outbox's
//! pause. Time comes from a [`Clock`], so tests move it instead of sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;

/// A rate and a burst: `per_minute` tokens a minute, at most `burst` saved up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_minute: u32,
    burst: u32,
}

impl RateLimit {
    /// `per_minute` tokens a minute with up to `burst` at once (a burst of 0
    /// counts as 1: a bucket that never holds a token would refuse forever).
    /// `None` when `per_minute` is 0, which means "no limit".
    pub fn new(per_minute: u32, burst: u32) -> Option<Self> {
        (per_minute > 0).then_some(Self {
            per_minute,
            burst: burst.max(1),
        })
    }

    /// Tokens gained per second.
    fn per_second(self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// The most tokens a bucket saves up.
    pub fn burst(self) -> u32 {
        self.burst
    }
}

/// One bucket's level at one instant; it refills lazily when next asked.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket (a new client or account may use its whole burst at once).
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            updated: now,
        }
    }

    /// The tokens held at `now`: what was left plus what has dripped in since.
    fn level(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * self.limit.per_second()).min(f64::from(self.limit.burst))
    }

    fn refill(&mut self, now: Instant) {
        self.tokens = self.level(now);
        self.updated = now.max(self.updated);
    }

    /// Takes one token, or says how long until one is there.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(Duration::from_secs_f64(missing / self.limit.per_second()))
    }

    /// Whether the bucket is back to its full burst: forgetting it then loses
    /// nothing, since a new bucket starts full.
    /// (Read only: `updated` keeps meaning "last used" for the eviction.)
    fn is_full(&self, now: Instant) -> bool {
        self.level(now) >= f64::from(self.limit.burst)
    }
}

/// Buckets kept at most by a [`KeyedLimiter`]: past this, full buckets are
/// forgotten first, then the longest idle ones.
pub const MAX_TRACKED_KEYS: usize = 10_000;

/// One bucket per key (an API client), in bounded memory.
#[derive(Debug)]
pub struct KeyedLimiter {
    limit: RateLimit,
    clock: Arc<dyn Clock>,
    max_keys: usize,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl KeyedLimiter {
    /// A limiter applying `limit` to each key separately.
    pub fn new(limit: RateLimit, clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(limit, clock, MAX_TRACKED_KEYS)
    }

    /// Like [`KeyedLimiter::new`], remembering at most `max_keys` buckets.
    pub fn with_capacity(limit: RateLimit, clock: Arc<dyn Clock>, max_keys: usize) -> Self {
        Self {
            limit,
            clock,
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket, or says how long it must wait.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = buckets.get_mut(key) {
            return bucket.try_take(now);
        }
        if buckets.len() >= self.max_keys {
            evict(&mut buckets, now, self.max_keys);
        }
        let mut bucket = TokenBucket::new(self.limit, now);
        let taken = bucket.try_take(now);
        buckets.insert(key.to_owned(), bucket);
        taken
    }

    /// How many buckets are remembered.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Makes room for one more bucket: drops every full bucket (a fresh one would
/// be the same), and if none is, the one idle the longest.
fn evict(buckets: &mut HashMap<String, TokenBucket>, now: Instant, max_keys: usize) {
    buckets.retain(|_, bucket| !bucket.is_full(now));
    if buckets.len() >= max_keys
        && let Some(oldest) = buckets
            .iter()
            .min_by_key(|(_, bucket)| bucket.updated)
            .map(|(key, _)| key.clone())
    {
        buckets.remove(&oldest);
    }
}

/// Paces one sender (an account's outbox): [`Pacer::wait`] returns once a
/// token is taken, sleeping on the clock until then.
#[derive(Debug)]
pub struct Pacer {
    clock: Arc<dyn Clock>,
    bucket: Option<TokenBucket>,
}

impl Pacer {
    /// A pacer at `limit`; `None` never waits.
    pub fn new(limit: Option<RateLimit>, clock: Arc<dyn Clock>) -> Self {
        let bucket = limit.map(|limit| TokenBucket::new(limit, clock.now()));
        Self { clock, bucket }
    }

    /// Waits for the next token.
    pub async fn wait(&mut self) {
        let Some(bucket) = self.bucket.as_mut() else {
            return;
        };
        loop {
            let now = self.clock.now();
            match bucket.try_take(now) {
                Ok(()) => return,
                Err(wait) => self.clock.sleep_until(now + wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limiter(per_minute: u32, burst: u32, max_keys: usize) -> (KeyedLimiter, ManualClock) {
        let clock = ManualClock::new();
        let limit = RateLimit::new(per_minute, burst).unwrap();
        (
            KeyedLimiter::with_capacity(limit, Arc::new(clock.clone()), max_keys),
            clock,
        )
    }

    #[test]
    fn zero_per_minute_is_no_limit_and_zero_burst_is_one() {
        assert_eq!(RateLimit::new(0, 10), None);
        assert_eq!(RateLimit::new(60, 0).unwrap().burst(), 1);
    }

    #[test]
    fn burst_then_refusal_with_the_time_to_the_next_token() {
        let (limiter, clock) = limiter(60, 3, 100);
        for _ in 0..3 {
            limiter.check("ci").unwrap();
        }
        let wait = limiter.check("ci").unwrap_err();
        assert!(
            wait > Duration::from_millis(990) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another client has its own bucket.
        limiter.check("ops").unwrap();
        clock.advance(Duration::from_millis(500));
        let wait = limiter.check("ci").unwrap_err();
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        clock.advance(Duration::from_millis(500));
        limiter.check("ci").unwrap();
        assert!(limiter.check("ci").is_err());
    }

    #[test]
    fn refill_stops_at_the_burst() {
        let (limiter, clock) = limiter(120, 2, 100);
        limiter.check("a").unwrap();
        clock.advance(Duration::from_secs(3600));
        limiter.check("a").unwrap();
        limiter.check("a").unwrap();
        assert!(
            limiter.check("a").is_err(),
            "an hour idle saves only the burst"
        );
    }

    #[test]
    fn memory_is_bounded_and_refilled_buckets_go_first() {
        // One token a minute: no bucket refills while the test runs.
        let (limiter, clock) = limiter(1, 1, 3);
        for key in ["a", "b", "c"] {
            limiter.check(key).unwrap();
            clock.advance(Duration::from_millis(1));
        }
        assert_eq!(limiter.tracked(), 3);
        // None is full yet: the oldest ("a") makes room, the others keep their state.
        limiter.check("d").unwrap();
        assert_eq!(limiter.tracked(), 3);
        assert!(limiter.check("b").is_err(), "b still remembered as empty");
        // A minute later every bucket is full again and all are dropped at once.
        clock.advance(Duration::from_secs(60));
        limiter.check("e").unwrap();
        assert_eq!(limiter.tracked(), 1);
    }

    #[tokio::test]
    async fn pacer_waits_for_the_clock() {
        let clock = ManualClock::new();
        let mut pacer = Pacer::new(RateLimit::new(60, 2), Arc::new(clock.clone()));
        pacer.wait().await;
        pacer.wait().await;
        let third = tokio::spawn(async move { pacer.wait().await });
        tokio::task::yield_now().await;
        assert!(!third.is_finished(), "the burst is spent");
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .expect("a token after a second")
            .unwrap();
    }

    #[tokio::test]
    async fn unlimited_pacer_never_waits() {
        let mut pacer = Pacer::new(None, Arc::new(ManualClock::new()));
        for _ in 0..1000 {
            pacer.wait().await;
        }
    }
}
