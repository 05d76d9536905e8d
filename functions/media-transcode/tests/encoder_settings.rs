//! The operator's encoder settings (`FFMPEG_PRESET`, `FFMPEG_CRF`,
//! `FFMPEG_THREADS`, `FFMPEG_HWACCEL`,
//! `WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION`) through the real ffmpeg: each
//! is read from variables as the Lambda reads its environment, and shows in
//! what ffmpeg wrote (sizes, x264's own settings string, exact bytes).

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use media_transcode::{TranscodeError, Transcoder, VideoOptions};
use support::media::{clip, ffprobe_says_faststart, require_ffmpeg};

/// Options from `pairs`, as `FFMPEG_*` variables, re-encoding every input.
fn options(pairs: &[(&str, &str)]) -> VideoOptions {
    let options = VideoOptions::from_vars(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    VideoOptions {
        compress: true,
        ..options
    }
}

/// A two-second MPEG-4 Part 2 clip: always encoded, never copied.
fn source(dir: &Path) -> PathBuf {
    clip(
        dir,
        "in.avi",
        2,
        "320x240",
        false,
        &["-c:v", "mpeg4", "-q:v", "2"],
    )
}

/// Encodes `input` with `options`; returns the output's bytes.
fn encode(input: &Path, dir: &Path, name: &str, options: &VideoOptions) -> Vec<u8> {
    let output = dir.join(name);
    Transcoder::new(require_ffmpeg())
        .video(input, &output, options)
        .unwrap();
    fs::read(output).unwrap()
}

#[test]
fn crf_decides_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let input = source(dir.path());
    let fine = encode(
        &input,
        dir.path(),
        "fine.mp4",
        &options(&[("FFMPEG_CRF", "18")]),
    );
    let coarse = encode(
        &input,
        dir.path(),
        "coarse.mp4",
        &options(&[("FFMPEG_CRF", "51")]),
    );
    assert!(
        coarse.len() * 3 < fine.len(),
        "CRF 51 gave {} bytes, CRF 18 {}",
        coarse.len(),
        fine.len()
    );
    assert!(wa_testkit::x264_settings(&fine).contains(" crf=18.0 "));
    assert!(wa_testkit::x264_settings(&coarse).contains(" crf=51.0 "));
}

#[test]
fn preset_and_threads_reach_x264() {
    let dir = tempfile::tempdir().unwrap();
    let input = source(dir.path());
    let fast = wa_testkit::x264_settings(&encode(
        &input,
        dir.path(),
        "fast.mp4",
        &options(&[("FFMPEG_PRESET", "ultrafast"), ("FFMPEG_THREADS", "3")]),
    ));
    let slow = wa_testkit::x264_settings(&encode(
        &input,
        dir.path(),
        "slow.mp4",
        &options(&[("FFMPEG_PRESET", "slower"), ("FFMPEG_THREADS", "1")]),
    ));
    // What the presets set (x264's preset table): no sub-pixel refinement
    // and diamond search at ultrafast, subme 9 and uneven hexagons at slower.
    assert!(
        fast.contains(" subme=0 ") && fast.contains(" me=dia "),
        "{fast}"
    );
    assert!(
        slow.contains(" subme=9 ") && slow.contains(" me=umh "),
        "{slow}"
    );
    assert!(fast.contains(" threads=3 "), "{fast}");
    assert!(slow.contains(" threads=1 "), "{slow}");
}

#[test]
fn hwaccel_is_handed_to_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let input = source(dir.path());
    // `auto` falls back to software decoding on a machine without any.
    encode(
        &input,
        dir.path(),
        "auto.mp4",
        &options(&[("FFMPEG_HWACCEL", "auto")]),
    );
    // A method ffmpeg does not know makes it fail: the flag got there.
    let error = Transcoder::new(require_ffmpeg())
        .video(
            &input,
            &dir.path().join("bogus.mp4"),
            &options(&[("FFMPEG_HWACCEL", "nosuchaccel")]),
        )
        .unwrap_err();
    assert!(matches!(error, TranscodeError::Ffmpeg(_)), "{error:?}");
    assert!(!dir.path().join("bogus.mp4").exists());
}

/// Options for a copy: the variable as given, nothing forced.
fn copy_options(passthrough: &str) -> VideoOptions {
    VideoOptions::from_vars(|name| {
        (name == "WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION").then(|| passthrough.to_owned())
    })
    .unwrap()
}

#[test]
fn without_recompression_a_playable_upload_is_sent_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let h264 = [
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
    ];
    let faststart = clip(
        dir.path(),
        "faststart.mp4",
        1,
        "1920x1080",
        true,
        &[&h264[..], &["-movflags", "+faststart"]].concat(),
    );
    let transcoder = Transcoder::new(require_ffmpeg());

    let output = dir.path().join("as-is.mp4");
    let video = transcoder
        .video(&faststart, &output, &copy_options("true"))
        .unwrap();
    assert_eq!(fs::read(&output).unwrap(), fs::read(&faststart).unwrap());
    assert!(video.remuxed);
    // Above the 1280 px cap, yet left alone: it is what the client uploaded.
    assert_eq!((video.width, video.height), (1920, 1080));
    assert!(video.thumbnail.jpeg.starts_with(&[0xFF, 0xD8]));

    // The control: without the switch the same file is scaled down.
    let output = dir.path().join("converted.mp4");
    let video = transcoder
        .video(&faststart, &output, &copy_options("false"))
        .unwrap();
    assert_ne!(fs::read(&output).unwrap(), fs::read(&faststart).unwrap());
    assert_eq!((video.width, video.height), (1280, 720));

    // Not faststart: still remuxed so phones can play it while downloading.
    let slow_start = clip(dir.path(), "slow-start.mp4", 1, "160x120", true, &h264);
    let output = dir.path().join("remuxed.mp4");
    transcoder
        .video(&slow_start, &output, &copy_options("true"))
        .unwrap();
    assert_ne!(fs::read(&output).unwrap(), fs::read(&slow_start).unwrap());
    assert!(ffprobe_says_faststart(&output));

    // Not H.264: still converted, whatever the switch says.
    let mpeg4 = source(dir.path());
    let output = dir.path().join("encoded.mp4");
    let video = transcoder
        .video(&mpeg4, &output, &copy_options("true"))
        .unwrap();
    assert!(!video.remuxed);
}
