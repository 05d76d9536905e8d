//! The dashboard served at `GET /`, driven in headless Chromium against the
//! real `wa-connector serve` process and the WhatsApp simulator: it lists a
//! linked account as connected, shows a real QR PNG for a device waiting to be
//! linked, sends a message through its form that reaches the other account,
//! and shows recent events. A screenshot is kept at
//! `target/artifacts/dashboard.png`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::gateway::{Gateway, PASSWORD, USER};

const ANN: &str = "15550100001";
const BOB: &str = "15550100002";

/// `chromium` on PATH, or a clear failure.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("chromium");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "the dashboard test needs headless Chromium: `chromium` is not on PATH \
         (install Debian's package: apt-get install -y chromium)"
    );
}

/// Runs headless Chromium on `url` with `mode` (`--dump-dom` or
/// `--screenshot=<file>`), letting the page run `budget_ms` of virtual time;
/// returns stdout.
fn run_chromium(dir: &Path, url: &str, mode: &str, budget_ms: u32) -> String {
    let profile = dir.join(format!("chromium-profile-{}", mode.len()));
    let output = Command::new(chromium())
        .args([
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(mode)
        .arg(url)
        .output()
        .expect("chromium starts");
    assert!(
        output.status.success(),
        "chromium failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value of attribute `name` in the first tag of `html` carrying `marker`.
fn attr_of_tag_with(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{name}=\"");
    let from = tag.find(&key)? + key.len();
    let len = tag[from..].find('"')?;
    Some(tag[from..from + len].replace("&amp;", "&"))
}

/// The text inside the element carrying `marker` (up to its first `<`).
fn text_of(html: &str, marker: &str) -> String {
    let Some(at) = html.find(marker) else {
        return String::new();
    };
    let from = at + html[at..].find('>').unwrap() + 1;
    let len = html[from..].find('<').unwrap_or(0);
    html[from..from + len].to_owned()
}

fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 100
}

/// Width and height from a PNG's IHDR.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let started = std::time::Instant::now();
    chromium();
    let gw = Gateway::start("dashboard", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.post(None, "/devices", serde_json::json!({"device_id": "newbie"}))
        .await
        .ok();

    let port = gw.base.rsplit(':').next().unwrap().to_owned();
    let root = format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}/");
    let text = format!("hello from the dashboard {}", std::process::id());

    // The page: QR for `newbie`, and a test message from Ann to Bob through
    // the send form.
    let url = format!(
        "{root}?link=newbie&send_from=ann&send_to={BOB}&send_text={}",
        text.replace(' ', "%20")
    );
    let dir = gw.dir.clone();
    let dom = tokio::task::spawn_blocking(move || run_chromium(&dir, &url, "--dump-dom", 10_000))
        .await
        .unwrap();

    // The linked accounts are listed as connected; the new one is not.
    for id in ["ann", "bob"] {
        let marker = format!("data-device-id=\"{id}\"");
        assert_eq!(
            attr_of_tag_with(&dom, &marker, "data-connected").as_deref(),
            Some("true"),
            "{id} is not shown connected:\n{dom}"
        );
    }
    assert_eq!(
        attr_of_tag_with(&dom, "data-device-id=\"newbie\"", "data-connected").as_deref(),
        Some("false"),
        "newbie is not listed:\n{dom}"
    );

    // A QR image for the device waiting to be linked, and it is a real PNG
    // served by the API.
    let src = attr_of_tag_with(&dom, "data-testid=\"qr-image\"", "src")
        .unwrap_or_else(|| panic!("no QR image:\n{dom}"));
    assert!(src.starts_with("/app/login/qr.png"), "QR src {src}");
    let png = gw.get(None, &src).await;
    assert_eq!(png.status, 200, "{src}");
    assert!(is_png(&png.bytes), "the QR is not a PNG");

    // The message sent through the form reaches Bob.
    let sent = text_of(&dom, "data-testid=\"send-msg\"");
    assert!(sent.starts_with("Sent"), "send form said {sent:?}:\n{dom}");
    let received = gw
        .wait_for_message("bob", ANN, |m| m["content"] == text.as_str())
        .await;
    assert_eq!(received["is_from_me"], false);

    // Recent events show up.
    assert!(
        dom.contains("data-testid=\"event-row\""),
        "no events listed:\n{dom}"
    );
    assert!(
        text_of(&dom, "data-testid=\"events-error\"").is_empty(),
        "events error"
    );

    // The screenshot, kept as an artifact.
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("..")
        .join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let dir = gw.dir.clone();
    let mode = format!("--screenshot={}", shot.display());
    let url = format!("{root}?link=newbie");
    tokio::task::spawn_blocking(move || run_chromium(&dir, &url, &mode, 6_000))
        .await
        .unwrap();
    let bytes = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(is_png(&bytes), "the screenshot is not a PNG");
    assert_eq!(png_size(&bytes), (1280, 900));
    assert!(bytes.len() > 20_000, "the screenshot is nearly empty");

    assert!(
        started.elapsed() < Duration::from_secs(90),
        "too slow: {:?}",
        started.elapsed()
    );
}
