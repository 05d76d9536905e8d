//! Real media for tests: ffmpeg makes the inputs, ffprobe judges the outputs.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use media_transcode::FfmpegBinary;

/// The message every ffmpeg-dependent test fails with when ffmpeg is absent:
/// these tests must fail, not skip, so a missing tool is never mistaken for a pass.
pub const MISSING_FFMPEG: &str = "ffmpeg not found: run `cargo xtask test`, which installs it";

/// The ffmpeg on PATH; panics with [`MISSING_FFMPEG`] if there is none.
pub fn require_ffmpeg() -> FfmpegBinary {
    FfmpegBinary::locate(None).unwrap_or_else(|error| panic!("{MISSING_FFMPEG} ({error})"))
}

/// Runs the ffmpeg on PATH with `args`, panicking with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let ffmpeg = require_ffmpeg();
    let out = Command::new(ffmpeg.path())
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{MISSING_FFMPEG} ({error})"));
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes a 440 Hz sine tone of `seconds` to `dir/name` (format from the
/// extension), with `channels` channels at `rate` Hz.
pub fn tone(dir: &Path, name: &str, seconds: u32, channels: u32, rate: u32) -> PathBuf {
    let path = dir.join(name);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=440:duration={seconds}:sample_rate={rate}"),
        "-ac",
        &channels.to_string(),
        path.to_str().expect("utf-8 path"),
    ]);
    path
}

/// What ffprobe says about a media file's first stream and container.
#[derive(Debug)]
pub struct Probe {
    /// Container format name(s), e.g. `ogg`.
    pub format_name: String,
    /// First stream's codec, e.g. `opus`.
    pub codec_name: String,
    /// First stream's channel count.
    pub channels: u64,
    /// Container duration in seconds.
    pub duration: f64,
}

/// Probes `path` with ffprobe (installed with ffmpeg), an independent judge
/// of what our code wrote.
pub fn ffprobe(path: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .unwrap_or_else(|error| panic!("{MISSING_FFMPEG} (ffprobe: {error})"));
    assert!(
        out.status.success(),
        "ffprobe {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    let stream = &json["streams"][0];
    Probe {
        format_name: json["format"]["format_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        codec_name: stream["codec_name"].as_str().unwrap_or_default().to_owned(),
        channels: stream["channels"].as_u64().unwrap_or_default(),
        duration: json["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(f64::NAN),
    }
}
