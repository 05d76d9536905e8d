//! The built Lambda binary, run as a child process against a Runtime API
//! emulator on loopback: a real voice-note invocation, then failing ones.

mod support;

use std::time::Duration;

use serde_json::json;
use support::media::{clip, ffprobe, picture, require_ffmpeg, tone};
use wa_testkit::lambda_runtime_api::{FunctionProcess, RuntimeApi};

const EXE: &str = env!("CARGO_BIN_EXE_media-transcode-lambda");
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_note_invocations_answer_with_the_note_or_a_typed_error() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let input = tone(dir.path(), "tone.wav", 2, 1, 44_100);
    let output = dir.path().join("note.ogg");
    let api = RuntimeApi::start().await;
    let mut function = FunctionProcess::spawn(EXE, &api, "media-transcode", &[]);

    // A real job: the answer describes the written note.
    let outcome = api
        .invoke(
            &json!({"op": "voice_note", "input": input, "output": output}),
            INVOCATION_TIMEOUT,
        )
        .await;
    let body = outcome.response_json();
    assert_eq!(body["op"], "voice_note", "{body}\n{}", function.logs());
    assert_eq!(body["output"], output.to_str().unwrap());
    assert_eq!(body["mime_type"], "audio/ogg; codecs=opus");
    assert_eq!(body["seconds"], 2);
    assert_eq!(body["channels"], 1);
    assert_eq!(
        body["waveform"].as_array().map(Vec::len),
        Some(64),
        "{body}"
    );
    let duration_ms = body["duration_ms"].as_u64().unwrap();
    assert!((1_950..=2_050).contains(&duration_ms), "{body}");
    let probe = ffprobe(&output);
    assert_eq!((probe.codec_name.as_str(), probe.channels), ("opus", 1));

    // Garbage input: the library's typed error reaches `/error`.
    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"definitely not audio").unwrap();
    let outcome = api
        .invoke(
            &json!({"op": "voice_note", "input": garbage, "output": dir.path().join("bad.ogg")}),
            INVOCATION_TIMEOUT,
        )
        .await;
    let report = outcome.error();
    assert_eq!(report.error_type, "FfmpegFailed", "{report:?}");
    assert!(
        report.error_message.contains("Invalid data found"),
        "{report:?}"
    );

    // A payload that is not a job at all is rejected by the runtime's decoding.
    let outcome = api
        .invoke(&json!({"op": "explode"}), INVOCATION_TIMEOUT)
        .await;
    assert!(
        outcome.error().error_message.contains("explode"),
        "{outcome:?}"
    );

    // Still serving after errors, and nothing went to /init/error.
    assert!(function.is_running(), "{}", function.logs());
    assert_eq!(api.init_errors(), vec![]);
    function.kill();
    assert!(!function.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_ffmpeg_path_is_reported_on_every_invocation() {
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "media-transcode",
        &[("FFMPEG_PATH", "/nonexistent/bin/ffmpeg")],
    );

    for _ in 0..2 {
        let outcome = api
            .invoke(
                &json!({"op": "voice_note", "input": "/tmp/a.wav", "output": "/tmp/a.ogg"}),
                INVOCATION_TIMEOUT,
            )
            .await;
        let report = outcome.error();
        assert_eq!(
            report.error_type,
            "FfmpegNotFound",
            "{report:?}\n{}",
            function.logs()
        );
        assert!(
            report.error_message.contains("/nonexistent/bin/ffmpeg"),
            "{report:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_sticker_and_thumbnail_invocations_answer_with_their_outputs() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let video = clip(
        dir.path(),
        "in.avi",
        1,
        "96x64",
        true,
        &["-c:v", "mpeg4", "-shortest"],
    );
    let image = picture(dir.path(), "in.png", "64x32", &[]);
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(EXE, &api, "media-transcode", &[]);

    let output = dir.path().join("out.mp4");
    let body = api
        .invoke(
            &json!({"op": "video", "input": video, "output": output,
                    "options": {"preset": "ultrafast"}}),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(body["op"], "video", "{body}\n{}", function.logs());
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(96), Some(64))
    );
    assert_eq!(body["mime_type"], "video/mp4");
    assert_eq!(body["remuxed"], false);
    assert!(
        body["thumbnail"]["jpeg"]
            .as_str()
            .unwrap()
            .starts_with("/9j/"),
        "{body}"
    );
    assert_eq!(ffprobe(&output).codec_name, "h264");

    let sticker = dir.path().join("out.webp");
    let body = api
        .invoke(
            &json!({"op": "sticker", "input": image, "output": sticker}),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(
        (body["op"].as_str(), body["width"].as_u64()),
        (Some("sticker"), Some(512))
    );
    assert_eq!(ffprobe(&sticker).codec_name, "webp");

    let body = api
        .invoke(
            &json!({"op": "thumbnail", "input": image}),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(body["op"], "thumbnail");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(64), Some(32))
    );

    let outcome = api
        .invoke(
            &json!({"op": "video", "input": image, "output": output, "options": {"crf": 99}}),
            INVOCATION_TIMEOUT,
        )
        .await;
    let report = outcome.error();
    assert_eq!(report.error_type, "InvalidOptions", "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_come_from_the_environment() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let input = tone(dir.path(), "tone.wav", 1, 1, 8_000);
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "media-transcode",
        &[("TRANSCODE_MAX_INPUT_BYTES", "100")],
    );
    let outcome = api
        .invoke(
            &json!({"op": "voice_note", "input": input, "output": dir.path().join("n.ogg")}),
            INVOCATION_TIMEOUT,
        )
        .await;
    let report = outcome.error();
    assert_eq!(
        report.error_type,
        "InputTooLarge",
        "{report:?}\n{}",
        function.logs()
    );
}
