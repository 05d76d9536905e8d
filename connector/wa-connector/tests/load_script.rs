//! The load-test examples a user runs against a live instance:
//! `examples/load/load-test.sh` (oha, wrk or ab) run against the real server
//! with the simulator behind it, and `examples/load/k6-send.js` checked for
//! syntax (k6 itself is not packaged for Debian).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::gateway::{Gateway, PASSWORD, USER};

const ANN: &str = "15550510001";
const BOB: &str = "15550510002";

fn load_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/load")
}

/// A row of the script's summary: route, req/s, p50, p99, non-2xx.
#[derive(Debug)]
struct Row {
    route: String,
    requests_per_sec: f64,
    p50_ms: f64,
    non_2xx: u64,
}

fn rows(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "summary row `{l}`");
            Row {
                route: f[0].to_owned(),
                requests_per_sec: f[1].parse().unwrap(),
                p50_ms: f[2].parse().unwrap(),
                non_2xx: f[4].parse().unwrap(),
            }
        })
        .collect()
}

fn script(gw: &Gateway, auth: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(load_dir().join("load-test.sh"))
        .env("BASE_URL", &gw.base)
        .env("BASIC_AUTH", auth)
        .env("DEVICE_ID", "ann")
        .env("PHONE", BOB)
        .env("DURATION", "2")
        .env("CONNECTIONS", "4");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_script_sends_through_the_running_server() {
    let gw = Gateway::start(
        "load-script",
        &[
            // Measure the API, not the number's pacing or the client limit.
            ("WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE", "100000"),
            ("RATE_LIMIT_REQUESTS_PER_MINUTE", "0"),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    let output = tokio::task::block_in_place(|| {
        script(&gw, &format!("{USER}:{PASSWORD}"))
            .output()
            .expect("bash runs the script")
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "load-test.sh failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = rows(&stdout);
    assert_eq!(
        rows.iter().map(|r| r.route.as_str()).collect::<Vec<_>>(),
        ["/app/info", "/send/text"]
    );
    for row in &rows {
        assert!(row.requests_per_sec > 0.0, "{row:?}");
        assert!(row.p50_ms > 0.0, "{row:?}");
        assert_eq!(row.non_2xx, 0, "every request succeeded: {row:?}");
    }
    // The sends were real: Bob receives the script's message.
    gw.wait_for_message("bob", ANN, |m| {
        m["content"] == "load test from examples/load/load-test.sh"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_script_stops_early_with_the_gateways_answer() {
    let gw = Gateway::start("load-script-auth", &[]).await;
    let output = tokio::task::block_in_place(|| {
        script(&gw, "api:wrong-password")
            .output()
            .expect("bash runs the script")
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("answered 401"), "{stderr}");

    let bad_phone = tokio::task::block_in_place(|| {
        script(&gw, &format!("{USER}:{PASSWORD}"))
            .env("PHONE", "+1 555")
            .output()
            .unwrap()
    });
    assert_eq!(bad_phone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_phone.stderr).contains("6 to 15 digits"));
}

#[test]
fn the_k6_script_parses_as_an_es_module() {
    // k6 scripts are ES modules; node parses one without resolving `k6/*`.
    let copy = tempfile::Builder::new().suffix(".mjs").tempfile().unwrap();
    std::fs::copy(load_dir().join("k6-send.js"), copy.path()).unwrap();
    let output = Command::new("node")
        .arg("--check")
        .arg(copy.path())
        .output()
        .expect("node on PATH (cargo xtask test installs nodejs)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
