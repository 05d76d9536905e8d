//! Resource use by daily message volume: the table in `docs/performance.md`.
//!
//! The release `wa-connector serve` process runs on its own (its CPU time and
//! memory are read from `/proc/<pid>`), with the simulator and a webhook
//! receiver in this process. One "message" is the whole path a user pays for:
//! Ann sends it through `POST /send/message` (validated, queued durably,
//! encrypted, sent), Bob receives it (decrypted, stored), and Bob's webhook
//! gets it signed and durably recorded.
//!
//! Phases, all in the same run:
//!
//! 1. idle, both accounts connected: the floor every volume pays;
//! 2. one window per volume (1k, 10k, 100k and 1M messages/day), sends paced
//!    evenly at that rate: measured CPU and RSS;
//! 3. a burst as fast as the API takes it: CPU time and store growth per
//!    message, which give the model `idle + rate × cost` to check the windows
//!    against and to extrapolate volumes too slow to sample in a short window.
//!
//!     cargo bench -p wa-connector --bench resources -- [window seconds] [burst messages]

#[path = "../tests/support/gateway.rs"]
#[allow(dead_code)]
mod gateway;
#[path = "../tests/support/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gateway::Gateway;
use receiver::Receiver;
use serde_json::json;

const ANN: &str = "15550320001";
const BOB: &str = "15550320002";
const SECONDS_PER_DAY: f64 = 86_400.0;
/// The daily volumes of the table.
const VOLUMES: [u64; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// Sends in flight at once during the burst.
const SENDERS: usize = 16;
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// CPU time and memory of a process, from `/proc`.
#[derive(Debug, Clone, Copy)]
struct Usage {
    cpu_seconds: f64,
    rss_mib: f64,
    peak_rss_mib: f64,
}

/// What one phase measured.
#[derive(Debug)]
struct Window {
    messages: u64,
    seconds: f64,
    cpu_seconds: f64,
    rss_mib: f64,
}

impl Window {
    /// Share of one core, in percent.
    fn cpu_percent(&self) -> f64 {
        100.0 * self.cpu_seconds / self.seconds
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let window: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(30);
    let burst: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(400);
    let ticks = clock_ticks_per_second();

    let receiver = Receiver::start().await;
    let mut gw = Gateway::start(
        "resources",
        &[
            ("RUST_LOG", "info"),
            ("WHATSAPP_WEBHOOK_SECRET", "bench-secret"),
            // The table measures the gateway's own cost, not the pacing that
            // protects a number (which would cap the 1M/day window).
            ("WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE", "100000"),
            ("RATE_LIMIT_REQUESTS_PER_MINUTE", "0"),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.request(
        gw.http
            .patch(format!("{}/devices/bob/webhook", gw.base))
            .json(&json!({"urls": [receiver.url()], "events": ["message"]})),
    )
    .await
    .ok();
    // Measured after a restart, as a deployment runs after its first start:
    // the first start compiles the components in-process, and the allocator
    // keeps what the compiler used (about 40 MiB of RSS until the process
    // ends); later starts load them from the cache in the data folder.
    gw.restart(&[]);
    gw.wait_connected("ann").await;
    gw.wait_connected("bob").await;
    let pid = gw.pid();
    // Let start-up work (pre-key uploads, history) settle before the floor.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut sent = 0u64;
    let idle = measure(pid, ticks, window, || async {
        tokio::time::sleep(Duration::from_secs(window)).await;
        0
    })
    .await;

    let mut windows = Vec::new();
    for per_day in VOLUMES {
        let rate = per_day as f64 / SECONDS_PER_DAY;
        // At least one message, so every window carries traffic.
        let count = ((rate * window as f64).round() as u64).max(1);
        let interval = Duration::from_secs_f64(window as f64 / count as f64);
        let first = sent;
        let measured = measure(pid, ticks, window, || async {
            let started = tokio::time::Instant::now();
            for i in 0..count {
                tokio::time::sleep_until(started + interval * i as u32).await;
                send(&gw, first + i).await;
            }
            tokio::time::sleep_until(started + Duration::from_secs(window)).await;
            count
        })
        .await;
        sent += count;
        wait_delivered(&receiver, sent).await;
        windows.push((per_day, measured));
    }

    let store_before = store_bytes(&gw.dir.join("data"));
    let first = sent;
    let started = Instant::now();
    let before = usage(pid, ticks);
    futures_util::stream::iter(0..burst)
        .map(|i| send(&gw, first + i))
        .buffer_unordered(SENDERS)
        .collect::<()>()
        .await;
    sent += burst;
    wait_delivered(&receiver, sent).await;
    let after = usage(pid, ticks);
    let burst_seconds = started.elapsed().as_secs_f64();
    let cpu_per_message = (after.cpu_seconds - before.cpu_seconds) / burst as f64;
    let bytes_per_message =
        store_bytes(&gw.dir.join("data")).saturating_sub(store_before) as f64 / burst as f64;

    println!(
        "\n| volume (messages/day) | rate (msg/s) | messages in window | CPU, measured (% of one core) | \
         CPU, model idle + rate × cost | RSS (MiB) | store growth (MiB/day) |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| idle (2 accounts connected) | 0 | 0 | {:.2} % | – | {:.1} | 0 |",
        idle.cpu_percent(),
        idle.rss_mib
    );
    for (per_day, w) in &windows {
        let rate = *per_day as f64 / SECONDS_PER_DAY;
        println!(
            "| {} | {:.3} | {} | {:.2} % | {:.2} % | {:.1} | {:.1} |",
            thousands(*per_day),
            rate,
            w.messages,
            w.cpu_percent(),
            idle.cpu_percent() + 100.0 * rate * cpu_per_message,
            w.rss_mib,
            *per_day as f64 * bytes_per_message / (1024.0 * 1024.0),
        );
    }
    println!(
        "\nBurst: {burst} messages in {burst_seconds:.1} s ({:.0} msg/s, {SENDERS} concurrent sends); \
         {:.2} ms CPU per message (send + receive + signed webhook), {:.0} bytes of store per message \
         (SQLite, WAL included). Peak RSS {:.1} MiB. Window {window} s per volume; \
         a 1k/day window carries one message, so its measured figure is the idle floor plus one message.",
        burst as f64 / burst_seconds,
        cpu_per_message * 1000.0,
        bytes_per_message,
        after.peak_rss_mib,
    );
    println!(
        "Every figure is the connector process alone (`/proc/{{pid}}`); the simulator and the \
         receiver run in the benchmark process."
    );
}

/// Runs `work` and reports the process's CPU time and final RSS over it.
async fn measure<F, Fut>(pid: u32, ticks: f64, window: u64, work: F) -> Window
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let before = usage(pid, ticks);
    let started = Instant::now();
    let messages = work().await;
    let after = usage(pid, ticks);
    let seconds = started.elapsed().as_secs_f64().max(window as f64);
    Window {
        messages,
        seconds,
        cpu_seconds: after.cpu_seconds - before.cpu_seconds,
        rss_mib: after.rss_mib,
    }
}

async fn send(gw: &Gateway, i: u64) {
    gw.post(
        Some("ann"),
        "/send/message",
        json!({"phone": BOB, "message": format!("volume test {i}")}),
    )
    .await
    .ok();
}

/// Waits until the receiver has answered 200 for `n` distinct deliveries.
async fn wait_delivered(receiver: &Receiver, n: u64) {
    let deadline = Instant::now() + DRAIN_LIMIT;
    loop {
        let delivered = receiver.delivered() as u64;
        if delivered >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {delivered} of {n} deliveries arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// User + system CPU time (all threads, live and exited) and memory.
fn usage(pid: u32, ticks: f64) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("reading stat");
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let cpu_ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading status");
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    Usage {
        cpu_seconds: cpu_ticks / ticks,
        rss_mib: kib("VmRSS:") / 1024.0,
        peak_rss_mib: kib("VmHWM:") / 1024.0,
    }
}

/// `sysconf(_SC_CLK_TCK)`, through `getconf` to stay free of unsafe code.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Bytes of the SQLite files (database, WAL, shared memory) under `data`.
fn store_bytes(data: &Path) -> u64 {
    std::fs::read_dir(data)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("wa.db"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn thousands(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
