//! `/send/video` end to end with the real ffmpeg: the connector converts an
//! upload to what every WhatsApp client plays, with the operator's encoder
//! flags (`FFMPEG_PRESET`, `FFMPEG_CRF`, `FFMPEG_THREADS`, `FFMPEG_HWACCEL`,
//! `WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION`) and the client's `compress`.
//! Each setting shows in the bytes the receiving account downloads: x264
//! writes its own settings into every stream it encodes.

mod support;

use std::path::Path;

use serde_json::Value;
use support::gateway::{Gateway, multipart};

const ANN: &str = "15550100001";
const BOB: &str = "15550100002";

/// A one-second clip made by ffmpeg with `codec` arguments, read back.
fn clip(dir: &Path, name: &str, size: &str, codec: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", &format!("testsrc=duration=1:size={size}:rate=15")])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=1"])
        .args(codec)
        .arg("-shortest")
        .arg(&out)
        .status()
        .expect("ffmpeg is installed (cargo xtask test installs it)");
    assert!(status.success(), "ffmpeg could not make {name}");
    std::fs::read(out).unwrap()
}

/// MPEG-4 Part 2 in AVI: no WhatsApp client plays it, so it is always encoded.
fn avi(dir: &Path) -> Vec<u8> {
    clip(
        dir,
        "clip.avi",
        "320x240",
        &["-c:v", "mpeg4", "-q:v", "3", "-c:a", "mp3"],
    )
}

/// H.264/AAC MP4 with faststart, x264 at CRF 30: already playable.
fn playable_mp4(dir: &Path) -> Vec<u8> {
    clip(
        dir,
        "clip.mp4",
        "160x120",
        &[
            "-c:v",
            "libx264",
            "-crf",
            "30",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
        ],
    )
}

/// What Bob received for one `/send/video` from Ann.
struct Received {
    /// The downloaded file.
    bytes: Vec<u8>,
    /// The `videoMessage` as stored by Bob's account.
    message: wa_proto::proto::message::message::VideoMessage,
}

/// Sends `bytes` from Ann to Bob with `fields`; the send's answer.
async fn send(gw: &Gateway, bytes: &[u8], fields: &[(&str, &str)]) -> support::gateway::Reply {
    let mut all = vec![("phone", BOB), ("caption", "a clip")];
    all.extend_from_slice(fields);
    let (content_type, body) = multipart(&all, &[("video", "clip.bin", "video/mp4", bytes)]);
    gw.post_raw(Some("ann"), "/send/video", &content_type, body)
        .await
}

/// Sends `bytes` and waits until Bob has the video.
async fn send_and_receive(gw: &Gateway, bytes: &[u8], fields: &[(&str, &str)]) -> Received {
    let sent = send(gw, bytes, fields).await.ok();
    let id = sent["message_id"].as_str().unwrap().to_owned();
    let listed = gw
        .wait_for_message("bob", ANN, |m| m["id"] == id.as_str())
        .await;
    assert_eq!(listed["media_type"], "video", "{listed}");
    let url = listed["url"].as_str().unwrap();
    let downloaded = gw
        .request(gw.http.get(url).header("X-Device-Id", "bob"))
        .await;
    assert_eq!(downloaded.status, 200);
    let message = gw
        .stored_message("bob", ANN, &id)
        .await
        .video_message
        .map(|video| *video)
        .expect("a videoMessage");
    Received {
        bytes: downloaded.bytes,
        message,
    }
}

/// The MP4 every client plays, as media-transcode's own reader sees it.
fn assert_playable(bytes: &[u8]) -> media_transcode::mp4::Mp4Info {
    let info = media_transcode::mp4::parse(bytes).expect("an MP4");
    assert!(info.faststart, "moov must come first");
    assert!(info.video().is_some_and(|v| v.is_plain_h264()), "{info:?}");
    info
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_are_converted_with_the_operators_encoder_settings() {
    let mut gw = Gateway::start(
        "video",
        &[
            ("FFMPEG_PRESET", "ultrafast"),
            ("FFMPEG_CRF", "40"),
            ("FFMPEG_THREADS", "1"),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    let avi = avi(&gw.dir);
    let mp4 = playable_mp4(&gw.dir);

    // An AVI is encoded: H.264 at the flags' preset, CRF and threads
    // (ultrafast: no sub-pixel refinement, diamond search).
    let received = send_and_receive(&gw, &avi, &[]).await;
    assert_playable(&received.bytes);
    let settings = wa_testkit::x264_settings(&received.bytes);
    for expected in [" crf=40.0 ", " threads=1 ", " subme=0 ", " me=dia "] {
        assert!(settings.contains(expected), "{expected} in {settings}");
    }
    let video = &received.message;
    assert_eq!(video.mimetype.as_deref(), Some("video/mp4"));
    assert_eq!(video.caption.as_deref(), Some("a clip"));
    assert_eq!((video.width, video.height), (Some(320), Some(240)));
    assert_eq!(video.seconds, Some(1));
    let thumbnail = video.jpeg_thumbnail.as_deref().expect("a preview");
    assert!(thumbnail.starts_with(&[0xFF, 0xD8]), "not a JPEG");

    // A playable MP4 is only remuxed: x264's settings are still the upload's
    // (CRF 30 at the default preset)...
    let remuxed = send_and_receive(&gw, &mp4, &[]).await;
    assert_playable(&remuxed.bytes);
    assert_ne!(remuxed.bytes, mp4, "remuxed, not copied");
    assert!(wa_testkit::x264_settings(&remuxed.bytes).contains(" crf=30.0 "));
    // ...unless the client asks for compression.
    let compressed = send_and_receive(&gw, &mp4, &[("compress", "true")]).await;
    assert!(wa_testkit::x264_settings(&compressed.bytes).contains(" crf=40.0 "));
    // Each conversion is timed for the operator.
    let metrics = gw.get(None, "/metrics").await;
    let metrics = String::from_utf8_lossy(&metrics.bytes);
    assert!(
        metrics.contains("whatsapp_media_processing_duration_seconds_count{kind=\"video\"} 3"),
        "{metrics}"
    );

    // Without recompression, the playable upload goes out byte for byte, and
    // what no client plays is still converted.
    gw.restart(&[("WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION", "true")]);
    gw.wait_connected("ann").await;
    gw.wait_connected("bob").await;
    let copied = send_and_receive(&gw, &mp4, &[]).await;
    assert!(copied.bytes == mp4, "the upload was changed");
    assert_eq!(
        (copied.message.width, copied.message.height),
        (Some(160), Some(120))
    );
    let converted = send_and_receive(&gw, &avi, &[]).await;
    assert_playable(&converted.bytes);

    // Hardware decoding is handed to ffmpeg: `auto` falls back to software
    // here, a method ffmpeg does not know fails the conversion.
    gw.restart(&[("FFMPEG_HWACCEL", "auto")]);
    gw.wait_connected("ann").await;
    gw.wait_connected("bob").await;
    assert_playable(&send_and_receive(&gw, &avi, &[]).await.bytes);
    gw.restart(&[("FFMPEG_HWACCEL", "nosuchaccel")]);
    gw.wait_connected("ann").await;
    let refused = send(&gw, &avi, &[]).await;
    assert_ne!(refused.status, 200, "{:?}", refused.json());
    let message = refused.json()["message"].as_str().unwrap_or("").to_owned();
    assert!(message.contains("video"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_video_and_bad_settings_are_refused_clearly() {
    let gw = Gateway::start("video-bad", &[]).await;
    gw.link("ann", ANN).await;
    let junk: Vec<u8> = b"\x00\x00\x00\x18ftypmp42"
        .iter()
        .copied()
        .chain((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8))
        .collect();
    let refused = send(&gw, &junk, &[]).await;
    assert_eq!(refused.status, 400, "{:?}", refused.json());
    let body: Value = refused.json();
    assert_eq!(body["code"], "VALIDATION_ERROR", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("video cannot be converted")),
        "{body}"
    );

    // A setting ffmpeg would refuse stops the process at start, naming it.
    for (name, value) in [
        ("FFMPEG_PRESET", "warp"),
        ("FFMPEG_CRF", "52"),
        ("FFMPEG_HWACCEL", "vaapi -i /etc/passwd"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_wa-connector"))
            .arg("serve")
            .current_dir(&gw.dir)
            .env_clear()
            .env(name, value)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{name}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(value) || stderr.contains(&name.to_lowercase().replace('_', "-")),
            "{name}={value}: {stderr}"
        );
    }
}
