//! `/send/message` under concurrent load: the release `wa-connector serve`
//! process hosting the REST component, the simulator behind it, and `wrk` as
//! the load generator (installed from Debian by `cargo xtask bench`, or
//! `apt-get install wrk`).
//!
//! Baselines measured in the same run with the same connections:
//! `GET /health` (the component alone) and `GET /app/info` (the component plus
//! one call to the connector's interfaces). Every accepted send is durably
//! queued before its 200.
//!
//!     cargo bench -p wa-connector --bench api_load -- [seconds] [connections]

#[path = "../tests/support/gateway.rs"]
#[allow(dead_code)]
mod gateway;

use std::process::Command;

use base64::Engine as _;
use gateway::{Gateway, PASSWORD, USER};

const ANN: &str = "15550300001";
const BOB: &str = "15550300002";

/// What wrk measured.
#[derive(Debug)]
struct Load {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    requests: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("api_load: `wrk` is not installed (apt-get install wrk)");
        std::process::exit(2);
    }

    let gw = Gateway::start("bench", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let script = gw.dir.join("load.lua");
    let script_for = |method: &str, body: &str| {
        format!(
            "wrk.method = \"{method}\"\nwrk.body = '{body}'\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"Authorization\"] = \"Basic {auth}\"\n\
             wrk.headers[\"X-Device-Id\"] = \"ann\"\n"
        )
    };

    let mut results = Vec::new();
    for (name, method, path, body) in [
        ("GET /health (component only)", "GET", "/health", ""),
        (
            "GET /app/info (component + 1 internal call)",
            "GET",
            "/app/info",
            "",
        ),
        (
            "POST /send/message (validated, queued durably)",
            "POST",
            "/send/message",
            &*format!(r#"{{"phone":"{BOB}","message":"load test"}}"#),
        ),
    ] {
        std::fs::write(&script, script_for(method, body)).unwrap();
        let load =
            tokio::task::block_in_place(|| wrk(&gw.base, path, &script, seconds, connections));
        eprintln!("{name}: {load:?}");
        results.push((name, load));
    }

    let baseline = &results[0].1;
    println!("\n| route | req/s | p50 ms | p99 ms | non-2xx | req/s vs /health |");
    println!("|---|---|---|---|---|---|");
    for (name, load) in &results {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} | {:.2}x |",
            load.requests_per_sec,
            load.p50_ms,
            load.p99_ms,
            load.non_2xx,
            load.requests_per_sec / baseline.requests_per_sec
        );
    }
    println!(
        "\n{connections} connections, {seconds} s per route, wrk with 2 threads; {} sends accepted.",
        results[2].1.requests - results[2].1.non_2xx
    );
}

fn wrk(base: &str, path: &str, script: &std::path::Path, seconds: u32, connections: u32) -> Load {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
        ])
        .arg("-s")
        .arg(script)
        .arg(format!("{base}{path}"))
        .output()
        .expect("running wrk");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}");
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    };
    let millis = |value: String| -> f64 {
        let (number, unit) = value.split_at(
            value
                .find(|c: char| c.is_alphabetic())
                .unwrap_or(value.len()),
        );
        let number: f64 = number.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => number / 1000.0,
            "ms" => number,
            "s" => number * 1000.0,
            _ => f64::NAN,
        }
    };
    Load {
        requests_per_sec: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50_ms: field("50%").map(millis).unwrap_or(f64::NAN),
        p99_ms: field("99%").map(millis).unwrap_or(f64::NAN),
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        requests: text
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    }
}
