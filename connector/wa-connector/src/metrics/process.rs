//! Process figures under the standard names (`process_resident_memory_bytes`,
//! `process_cpu_seconds_total`, …), read from `/proc/self` at each scrape.
//!
//! Our own few lines instead of a `procfs` dependency: two small files and
//! the process CPU clock give everything the guide's monitoring section
//! asks for. Off Linux (no `/proc`) the figures are simply left out.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Encodes the process figures at scrape time.
#[derive(Debug)]
pub struct ProcessCollector;

/// One reading of the process figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessFigures {
    /// Resident set size, bytes.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_memory_bytes: Option<u64>,
    /// User and system CPU time of every thread, seconds.
    pub cpu_seconds: Option<f64>,
    /// Threads.
    pub threads: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
}

impl ProcessFigures {
    /// Reads them now.
    pub fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let field = |name: &str| status.as_deref().and_then(|s| status_field(s, name));
        Self {
            resident_memory_bytes: field("VmRSS:").map(|kib| kib * 1024),
            virtual_memory_bytes: field("VmSize:").map(|kib| kib * 1024),
            threads: field("Threads:"),
            cpu_seconds: cpu_seconds(),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| entries.count() as u64),
        }
    }
}

/// The number of a `/proc/self/status` line (`VmRSS:   1234 kB` → 1234).
fn status_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn cpu_seconds() -> Option<f64> {
    // The process CPU clock: user + system time of all threads, in ns.
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Some(t.tv_sec as f64 + t.tv_nsec as f64 / 1e9)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn cpu_seconds() -> Option<f64> {
    None
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures = ProcessFigures::read();
        if let Some(seconds) = figures.cpu_seconds {
            let counter = ConstCounter::new(seconds);
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                counter.metric_type(),
            )?)?;
        }
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                figures.resident_memory_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                figures.virtual_memory_bytes,
            ),
            ("process_threads", "Number of OS threads.", figures.threads),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                figures.open_fds,
            ),
        ] {
            if let Some(value) = value {
                let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read() {
        let status =
            "Name:\twa-connector\nVmSize:\t  123456 kB\nVmRSS:\t    2048 kB\nThreads:\t7\n";
        assert_eq!(status_field(status, "VmRSS:"), Some(2048));
        assert_eq!(status_field(status, "VmSize:"), Some(123456));
        assert_eq!(status_field(status, "Threads:"), Some(7));
        assert_eq!(status_field(status, "VmSwap:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_figures() {
        let before = ProcessFigures::read();
        assert!(before.resident_memory_bytes.unwrap() > 1024 * 1024);
        assert!(before.threads.unwrap() >= 1);
        assert!(before.open_fds.unwrap() >= 3);
        // Burn a little CPU: the clock moves forward.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = ProcessFigures::read();
        assert!(after.cpu_seconds.unwrap() > before.cpu_seconds.unwrap());
    }
}
