//! Voice notes through the real ffmpeg: a generated tone in, an OGG/Opus file
//! out, judged by ffprobe and by our own header parser.

mod support;

use std::{fs, path::Path, process::Command, time::Duration};

use media_transcode::{
    FfmpegRunError, OpusSampleRate, TranscodeError, Transcoder, VoiceNoteOptions,
};
use support::media::{ffmpeg, ffprobe, require_ffmpeg, tone};

fn transcoder() -> Transcoder {
    Transcoder::new(require_ffmpeg())
}

/// Files in `dir` other than `keep`: nothing partial may be left behind.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}

#[test]
fn ffmpeg_is_found_on_path() {
    let ffmpeg = require_ffmpeg();
    assert!(ffmpeg.path().ends_with("ffmpeg"), "{ffmpeg:?}");
}

#[test]
fn a_tone_becomes_a_two_second_mono_opus_voice_note() {
    let dir = tempfile::tempdir().unwrap();
    let input = tone(dir.path(), "tone.wav", 2, 1, 44_100);
    let output = dir.path().join("note.ogg");

    let note = transcoder()
        .voice_note(&input, &output, &VoiceNoteOptions::default())
        .unwrap();

    assert_eq!(note.output, output);
    assert_eq!(note.mime_type, "audio/ogg; codecs=opus");
    assert!((1_950..=2_050).contains(&note.duration_ms), "{note:?}");
    assert_eq!(note.seconds, 2);
    assert_eq!(note.channels, 1);
    assert_eq!(note.sample_rate, 48_000);
    // A steady tone: every point of the waveform is about as loud as the loudest.
    assert_eq!(note.waveform.len(), 64);
    assert!(
        note.waveform.iter().all(|&v| v >= 90),
        "{:?}",
        note.waveform
    );
    let bytes = fs::read(&output).unwrap();
    assert_eq!(note.size_bytes, bytes.len() as u64);
    assert!(bytes.starts_with(b"OggS"));
    assert_eq!(
        &bytes[28..36],
        b"OpusHead",
        "first packet is the Opus header"
    );

    let probe = ffprobe(&output);
    assert_eq!(probe.format_name, "ogg");
    assert_eq!(probe.codec_name, "opus");
    assert_eq!(probe.channels, 1);
    assert!((probe.duration - 2.0).abs() < 0.05, "{probe:?}");
    assert_eq!(
        leftovers(dir.path(), &["tone.wav", "note.ogg"]),
        Vec::<String>::new()
    );
}

#[test]
fn stereo_input_at_16_khz_becomes_mono_and_replaces_an_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = tone(dir.path(), "stereo.m4a", 1, 2, 44_100);
    let output = dir.path().join("note.opus");
    fs::write(&output, b"stale").unwrap();
    let options = VoiceNoteOptions {
        sample_rate: OpusSampleRate::Hz16000,
        bitrate_bps: 16_000,
    };

    let note = transcoder().voice_note(&input, &output, &options).unwrap();

    assert_eq!(note.channels, 1);
    assert_eq!(note.sample_rate, 16_000);
    assert!((950..=1_050).contains(&note.duration_ms), "{note:?}");
    let probe = ffprobe(&output);
    assert_eq!((probe.codec_name.as_str(), probe.channels), ("opus", 1));
}

#[test]
fn garbage_input_is_a_typed_error_with_ffmpegs_reason() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("garbage.wav");
    fs::write(&input, b"this is not audio at all, just some words").unwrap();
    let output = dir.path().join("note.ogg");

    let error = transcoder()
        .voice_note(&input, &output, &VoiceNoteOptions::default())
        .unwrap_err();

    let TranscodeError::Ffmpeg(FfmpegRunError::Failed { reason, .. }) = &error else {
        panic!("expected FfmpegFailed, got {error:?}");
    };
    assert!(reason.contains("Invalid data found"), "{reason}");
    assert_eq!(error.kind(), "FfmpegFailed");
    assert!(error.is_bad_request());
    assert_eq!(
        leftovers(dir.path(), &["garbage.wav"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_video_without_audio_says_there_is_no_audio_stream() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("silent.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=1:size=64x64:rate=5",
        "-c:v",
        "mpeg4",
        input.to_str().unwrap(),
    ]);

    let error = transcoder()
        .voice_note(
            &input,
            &dir.path().join("note.ogg"),
            &VoiceNoteOptions::default(),
        )
        .unwrap_err();

    assert_eq!(error.kind(), "FfmpegFailed", "{error}");
    assert!(error.to_string().contains("matches no streams"), "{error}");
}

#[test]
fn a_missing_input_is_reported_before_ffmpeg_runs() {
    let dir = tempfile::tempdir().unwrap();
    let error = transcoder()
        .voice_note(
            &dir.path().join("nope.wav"),
            &dir.path().join("note.ogg"),
            &VoiceNoteOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(error, TranscodeError::InputNotFound { .. }),
        "{error:?}"
    );
}

#[test]
fn out_of_range_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let input = tone(dir.path(), "tone.wav", 1, 1, 48_000);
    let options = VoiceNoteOptions {
        bitrate_bps: 5,
        ..Default::default()
    };
    let error = transcoder()
        .voice_note(&input, &dir.path().join("note.ogg"), &options)
        .unwrap_err();
    assert_eq!(error.kind(), "InvalidOptions");
}

#[test]
fn a_stuck_ffmpeg_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Opening a FIFO with no writer blocks ffmpeg forever.
    let fifo = dir.path().join("never-written.wav");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let timeout = Duration::from_millis(700);
    let started = std::time::Instant::now();

    let error = transcoder()
        .with_timeout(timeout)
        .voice_note(
            &fifo,
            &dir.path().join("note.ogg"),
            &VoiceNoteOptions::default(),
        )
        .unwrap_err();

    assert!(
        matches!(error, TranscodeError::Ffmpeg(FfmpegRunError::TimedOut { after }) if after == timeout),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let still_running = Command::new("pgrep")
        .args(["-f", fifo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        still_running.stdout.is_empty(),
        "ffmpeg was not killed: {}",
        String::from_utf8_lossy(&still_running.stdout)
    );
    assert_eq!(
        leftovers(dir.path(), &["never-written.wav"]),
        Vec::<String>::new()
    );
}
