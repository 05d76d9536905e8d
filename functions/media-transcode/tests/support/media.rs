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

/// Writes a `seconds`-long test pattern of `size` (e.g. `64x48`) at 10 fps to
/// `dir/name`, with a sine tone unless `audio` is false; `codec_args` pick
/// the encoders (the container comes from the extension).
pub fn clip(
    dir: &Path,
    name: &str,
    seconds: u32,
    size: &str,
    audio: bool,
    codec_args: &[&str],
) -> PathBuf {
    let path = dir.join(name);
    let video = format!("testsrc=duration={seconds}:size={size}:rate=10");
    let tone = format!("sine=frequency=440:duration={seconds}");
    let mut args = vec!["-f", "lavfi", "-i", &video];
    if audio {
        args.extend(["-f", "lavfi", "-i", &tone]);
    }
    args.extend(codec_args);
    args.push(path.to_str().expect("utf-8 path"));
    ffmpeg(&args);
    path
}

/// Writes one still test pattern of `size` to `dir/name` (PNG, JPEG, GIF…
/// from the extension); `extra` adds filters or codec arguments.
pub fn picture(dir: &Path, name: &str, size: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let source = format!("testsrc=size={size}:rate=1");
    let mut args = vec!["-f", "lavfi", "-i", &source, "-frames:v", "1"];
    args.extend(extra);
    args.push(path.to_str().expect("utf-8 path"));
    ffmpeg(&args);
    path
}

/// ffprobe's whole JSON description of `path` (`format` and `streams`).
pub fn ffprobe_json(path: &Path) -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// The first stream of `kind` (`video`/`audio`) in ffprobe's description.
pub fn stream<'a>(probe: &'a serde_json::Value, kind: &str) -> Option<&'a serde_json::Value> {
    probe["streams"]
        .as_array()?
        .iter()
        .find(|s| s["codec_type"] == kind)
}

/// Whether ffprobe's box trace shows `moov` before `mdat` (faststart),
/// judged by ffprobe rather than by the crate's own MP4 reader.
pub fn ffprobe_says_faststart(path: &Path) -> bool {
    let out = Command::new("ffprobe")
        .args(["-v", "trace", "-i"])
        .arg(path)
        .output()
        .unwrap_or_else(|error| panic!("{MISSING_FFMPEG} (ffprobe: {error})"));
    let log = String::from_utf8_lossy(&out.stderr);
    let moov = log.find("type:'moov'").expect("ffprobe traced a moov box");
    let mdat = log.find("type:'mdat'").expect("ffprobe traced an mdat box");
    moov < mdat
}

/// Files in `dir` other than `keep`: nothing partial may be left behind.
pub fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}
