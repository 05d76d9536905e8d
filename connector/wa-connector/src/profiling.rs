//! CPU profiles on demand (`GET /debug/pprof/profile?seconds=N`, with
//! `PPROF_ENABLED`): the whole process is sampled for N seconds and the
//! answer is a gzip-free pprof protobuf, what `go tool pprof` and `pprof` read.
//!
//! Sampling uses `SIGPROF` timers (pprof-rs): there is one profiler per
//! process, so one profile runs at a time and a second request is refused.

use std::sync::Mutex;
use std::time::Duration;

use pprof::protos::Message as _;
use thiserror::Error;

/// The path of the endpoint.
pub const PROFILE_PATH: &str = "/debug/pprof/profile";
/// Seconds sampled when the request does not say (Go's default).
pub const DEFAULT_SECONDS: u64 = 30;
/// The longest profile served: a longer one would hold the profiler (and a
/// request) for too long.
pub const MAX_SECONDS: u64 = 120;
/// Samples per second: a prime, so sampling does not beat with periodic work.
const FREQUENCY_HZ: i32 = 99;

/// Held while a profile runs.
static RUNNING: Mutex<()> = Mutex::new(());

/// Why no profile was made.
#[derive(Debug, Error)]
pub enum ProfileError {
    /// Another profile is running.
    #[error("a profile is already being taken")]
    Busy,
    /// The profiler or the report failed.
    #[error("profiler: {0}")]
    Profiler(#[from] pprof::Error),
    /// Encoding the report failed.
    #[error("encoding the profile: {0}")]
    Encode(String),
}

/// The duration the query asks for (`seconds=N`), within 1..=[`MAX_SECONDS`].
pub fn requested_seconds(query: Option<&str>) -> Duration {
    let seconds = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("seconds="))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_SECONDS);
    Duration::from_secs(seconds.clamp(1, MAX_SECONDS))
}

/// Samples the process for `duration` and returns the profile, encoded.
pub async fn cpu_profile(duration: Duration) -> Result<Vec<u8>, ProfileError> {
    tokio::task::spawn_blocking(move || {
        let _running = RUNNING.try_lock().map_err(|_| ProfileError::Busy)?;
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY_HZ)
            // Unwinding through these while a signal interrupts them can deadlock.
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()?;
        std::thread::sleep(duration);
        let profile = guard.report().build()?.pprof()?;
        drop(guard);
        let mut bytes = Vec::with_capacity(profile.encoded_len());
        profile
            .encode(&mut bytes)
            .map_err(|e| ProfileError::Encode(e.to_string()))?;
        Ok(bytes)
    })
    .await
    .map_err(|e| ProfileError::Encode(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_default_and_are_capped() {
        assert_eq!(
            requested_seconds(None),
            Duration::from_secs(DEFAULT_SECONDS)
        );
        assert_eq!(requested_seconds(Some("seconds=5")), Duration::from_secs(5));
        assert_eq!(
            requested_seconds(Some("debug=1&seconds=0")),
            Duration::from_secs(1)
        );
        assert_eq!(
            requested_seconds(Some("seconds=100000")),
            Duration::from_secs(MAX_SECONDS)
        );
        assert_eq!(
            requested_seconds(Some("seconds=abc")),
            Duration::from_secs(DEFAULT_SECONDS)
        );
    }

    #[tokio::test]
    async fn a_busy_thread_shows_in_the_samples() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinning = stop.clone();
        let busy = std::thread::spawn(move || {
            let mut x = 0u64;
            while !spinning.load(std::sync::atomic::Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        });
        let bytes = cpu_profile(Duration::from_secs(1)).await.unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        busy.join().unwrap();
        let profile = pprof::protos::Profile::decode(bytes.as_slice()).unwrap();
        assert!(
            !profile.sample.is_empty(),
            "no samples of a spinning thread"
        );
        let names: Vec<&str> = profile
            .sample_type
            .iter()
            .map(|t| profile.string_table[usize::try_from(t.ty).unwrap()].as_str())
            .collect();
        assert_eq!(names, ["samples", "cpu"]);
    }
}
