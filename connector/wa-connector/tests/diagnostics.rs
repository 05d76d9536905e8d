//! Diagnostics of a real `wa-connector serve` process: CPU profiles on
//! demand (`PPROF_ENABLED`, `GET /debug/pprof/profile`) and the media
//! processing time in `/metrics`.

mod support;

use std::time::Duration;

use pprof::protos::Message as _;
use support::gateway::{Gateway, multipart};

const PROFILE: &str = "/debug/pprof/profile?seconds=2";

/// Off by default (an unknown route); on, it needs the API's credentials and
/// answers a pprof profile that holds the samples of a busy process.
#[tokio::test(flavor = "multi_thread")]
async fn cpu_profiles_are_served_only_when_enabled_and_authenticated() {
    let mut gw = Gateway::start("pprof", &[]).await;
    let off = gw
        .request(gw.http.get(format!("{}{PROFILE}", gw.base)))
        .await;
    assert_eq!(off.status, 404, "{}", String::from_utf8_lossy(&off.bytes));

    gw.restart(&[("PPROF_ENABLED", "true")]);
    let anonymous = gw
        .http
        .get(format!("{}{PROFILE}", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // Keep the process busy while it is sampled: requests run components.
    let load = {
        let (http, url) = (gw.http.clone(), format!("{}/app/devices", gw.base));
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            while tokio::time::Instant::now() < deadline {
                let _ = http
                    .get(&url)
                    .basic_auth(support::gateway::USER, Some(support::gateway::PASSWORD))
                    .send()
                    .await;
            }
        })
    };
    let profiled = gw
        .request(gw.http.get(format!("{}{PROFILE}", gw.base)))
        .await;
    load.await.unwrap();
    assert_eq!(
        profiled.status,
        200,
        "{}",
        String::from_utf8_lossy(&profiled.bytes)
    );
    let profile =
        pprof::protos::Profile::decode(profiled.bytes.as_slice()).expect("a pprof profile");
    let types: Vec<&str> = profile
        .sample_type
        .iter()
        .map(|t| profile.string_table[usize::try_from(t.ty).unwrap()].as_str())
        .collect();
    assert_eq!(types, ["samples", "cpu"]);
    assert!(!profile.sample.is_empty(), "a busy process leaves samples");
    assert!(
        profile.duration_nanos >= 1_900_000_000,
        "{}",
        profile.duration_nanos
    );
}

/// A voice note's conversion is timed in
/// `whatsapp_media_processing_duration_seconds{kind="voice_note"}`.
#[tokio::test(flavor = "multi_thread")]
async fn voice_note_conversion_time_is_scraped() {
    let gw = Gateway::start("media-metric", &[]).await;
    gw.link("ann", "15550009101").await;
    gw.link("bob", "15550009102").await;
    let scrape = || async {
        let reply = gw
            .request(gw.http.get(format!("{}/metrics", gw.base)))
            .await;
        assert_eq!(reply.status, 200);
        String::from_utf8(reply.bytes).unwrap()
    };
    let series = "whatsapp_media_processing_duration_seconds_count{kind=\"voice_note\"}";
    assert!(!scrape().await.contains(series), "nothing converted yet");

    let wav = gw.dir.join("tone.wav");
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", "sine=frequency=440:duration=1"])
        .arg(&wav)
        .status()
        .expect("ffmpeg is installed");
    assert!(status.success());
    let (content_type, body) = multipart(
        &[("phone", "15550009102"), ("ptt", "true")],
        &[(
            "audio",
            "note.wav",
            "audio/wav",
            &std::fs::read(&wav).unwrap(),
        )],
    );
    gw.post_raw(Some("ann"), "/send/audio", &content_type, body)
        .await
        .ok();

    let text = scrape().await;
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert_eq!(value(series), 1.0);
    let sum = value("whatsapp_media_processing_duration_seconds_sum{kind=\"voice_note\"}");
    assert!(sum > 0.0, "{sum}");
}
