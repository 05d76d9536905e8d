//! Videos through the real ffmpeg: generated clips in, MP4s out, judged by
//! ffprobe (codecs, pixel format, size, faststart) and by the crate's checks.

mod support;

use std::fs;

use media_transcode::{Limits, TranscodeError, Transcoder, VideoOptions};
use support::media::{
    clip, ffprobe_json, ffprobe_says_faststart, leftovers, require_ffmpeg, stream,
};

/// A transcoder whose scratch folders go to `scratch`, so tests can see them.
fn transcoder(scratch: &std::path::Path) -> Transcoder {
    Transcoder::new(require_ffmpeg()).with_scratch_dir(scratch)
}

#[test]
fn an_mpeg4_avi_becomes_faststart_h264_aac_mp4_with_a_thumbnail() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let input = clip(
        dir.path(),
        "in.avi",
        2,
        "160x120",
        true,
        &["-c:v", "mpeg4", "-c:a", "mp3", "-shortest"],
    );
    let output = dir.path().join("out.mp4");

    let video = transcoder(scratch.path())
        .video(&input, &output, &VideoOptions::default())
        .unwrap();

    assert!(!video.remuxed);
    assert_eq!((video.width, video.height), (160, 120));
    assert_eq!(video.mime_type, "video/mp4");
    assert!(video.has_audio);
    assert!((1_900..=2_200).contains(&video.duration_ms), "{video:?}");
    assert_eq!(video.seconds, 2);
    assert_eq!(video.size_bytes, fs::metadata(&output).unwrap().len());
    assert_eq!((video.thumbnail.width, video.thumbnail.height), (100, 75));
    assert!(video.thumbnail.jpeg.starts_with(&[0xFF, 0xD8]));

    let probe = ffprobe_json(&output);
    assert!(
        probe["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("mp4")
    );
    let v = stream(&probe, "video").unwrap();
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(v["pix_fmt"], "yuv420p");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(160), Some(120))
    );
    let a = stream(&probe, "audio").unwrap();
    assert_eq!(a["codec_name"], "aac");
    assert!(ffprobe_says_faststart(&output));
    assert_eq!(
        leftovers(dir.path(), &["in.avi", "out.mp4"]),
        Vec::<String>::new()
    );
    assert_eq!(leftovers(scratch.path(), &[]), Vec::<String>::new());
}

#[test]
fn large_odd_sized_video_is_scaled_to_even_dimensions_within_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip(dir.path(), "in.mkv", 1, "333x199", false, &["-c:v", "ffv1"]);
    let output = dir.path().join("out.mp4");
    let options = VideoOptions {
        max_dimension: 160,
        threads: Some(1),
        preset: "ultrafast".into(),
        ..Default::default()
    };

    let video = Transcoder::new(require_ffmpeg())
        .video(&input, &output, &options)
        .unwrap();

    assert!(!video.has_audio);
    assert!(video.width <= 160 && video.height <= 160, "{video:?}");
    assert_eq!((video.width % 2, video.height % 2), (0, 0), "{video:?}");
    let probe = ffprobe_json(&output);
    let v = stream(&probe, "video").unwrap();
    assert_eq!(v["width"].as_u64(), Some(u64::from(video.width)));
    assert_eq!(v["height"].as_u64(), Some(u64::from(video.height)));
    assert!(stream(&probe, "audio").is_none());
}

#[test]
fn h264_aac_input_is_remuxed_unless_compression_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    // Not faststart on purpose: the remux must still move `moov` first.
    let input = clip(
        dir.path(),
        "in.mp4",
        1,
        "128x96",
        true,
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    assert!(!ffprobe_says_faststart(&input));
    let transcoder = Transcoder::new(require_ffmpeg());

    let copied = dir.path().join("copied.mp4");
    let video = transcoder
        .video(&input, &copied, &VideoOptions::default())
        .unwrap();
    assert!(video.remuxed, "{video:?}");
    assert!(ffprobe_says_faststart(&copied));
    assert_eq!((video.width, video.height), (128, 96));

    let compressed = dir.path().join("compressed.mp4");
    let options = VideoOptions {
        compress: true,
        crf: 35,
        ..Default::default()
    };
    let video = transcoder.video(&input, &compressed, &options).unwrap();
    assert!(!video.remuxed);
    assert!(ffprobe_says_faststart(&compressed));
    let probe = ffprobe_json(&compressed);
    assert_eq!(stream(&probe, "video").unwrap()["codec_name"], "h264");
    assert_eq!(stream(&probe, "audio").unwrap()["codec_name"], "aac");
}

#[test]
fn broken_inputs_are_typed_errors_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let transcoder = transcoder(scratch.path());
    let good = clip(
        dir.path(),
        "good.mp4",
        1,
        "64x48",
        false,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let bytes = fs::read(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "text.mp4",
            b"this is a text file named like a video\n".to_vec(),
        ),
        (
            "random.mp4",
            (0..4096u32)
                .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("truncated.mp4", bytes[..bytes.len() / 3].to_vec()),
        ("empty.mp4", Vec::new()),
    ];
    for (name, content) in &cases {
        let input = dir.path().join(name);
        fs::write(&input, content).unwrap();
        let error = transcoder
            .video(
                &input,
                &dir.path().join("out.mp4"),
                &VideoOptions::default(),
            )
            .unwrap_err();
        assert_eq!(error.kind(), "FfmpegFailed", "{name}: {error}");
        assert!(error.is_bad_request(), "{name}");
    }
    let mut keep: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    keep.push("good.mp4");
    assert_eq!(leftovers(dir.path(), &keep), Vec::<String>::new());
    assert_eq!(leftovers(scratch.path(), &[]), Vec::<String>::new());
}

#[test]
fn an_audio_only_input_is_not_a_video() {
    let dir = tempfile::tempdir().unwrap();
    let input = support::media::tone(dir.path(), "tone.wav", 1, 1, 8_000);
    let error = Transcoder::new(require_ffmpeg())
        .video(
            &input,
            &dir.path().join("out.mp4"),
            &VideoOptions::default(),
        )
        .unwrap_err();
    assert_eq!(error.kind(), "FfmpegFailed");
    assert!(error.to_string().contains("matches no streams"), "{error}");
}

#[test]
fn size_limits_refuse_large_inputs_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let input = clip(
        dir.path(),
        "in.avi",
        1,
        "160x120",
        false,
        &["-c:v", "mpeg4"],
    );
    let size = fs::metadata(&input).unwrap().len();

    let small_input = Limits {
        max_input_bytes: size - 1,
        ..Default::default()
    };
    let error = transcoder(scratch.path())
        .with_limits(small_input)
        .video(&input, &dir.path().join("a.mp4"), &VideoOptions::default())
        .unwrap_err();
    assert!(
        matches!(error, TranscodeError::InputTooLarge { size: s, .. } if s == size),
        "{error:?}"
    );

    let tiny_output = Limits {
        max_output_bytes: 2_000,
        ..Default::default()
    };
    let options = VideoOptions {
        crf: 0,
        ..Default::default()
    };
    let error = transcoder(scratch.path())
        .with_limits(tiny_output)
        .video(&input, &dir.path().join("b.mp4"), &options)
        .unwrap_err();
    assert_eq!(error.kind(), "OutputTooLarge", "{error}");
    assert!(error.is_bad_request());
    assert_eq!(leftovers(dir.path(), &["in.avi"]), Vec::<String>::new());
    assert_eq!(leftovers(scratch.path(), &[]), Vec::<String>::new());
}
