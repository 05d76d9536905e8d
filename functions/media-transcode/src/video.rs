//! WhatsApp videos: any video in, H.264/AAC MP4 with faststart out, plus the
//! small JPEG preview a video message carries.
//!
//! Every WhatsApp client plays 8-bit 4:2:0 H.264 with AAC in an MP4 whose
//! `moov` box comes first (so it starts playing while downloading). An input
//! already in that shape is only remuxed unless compression is asked for:
//! re-encoding costs seconds of CPU and some quality for nothing.

use std::path::{Path, PathBuf};

use ffmpeg_sidecar::command::FfmpegCommand;
use serde::{Deserialize, Serialize};

use crate::{
    FfmpegBinary, Limits, OutputError, Thumbnail, ThumbnailOptions, TranscodeError, Transcoder,
    mp4::{self, Mp4Info, TrackKind},
    thumbnail,
    transcoder::write_atomically,
};

/// The MIME type of every video we write.
pub(crate) const VIDEO_MIME: &str = "video/mp4";
/// libx264's CRF scale (0 lossless … 51 worst).
const CRF_RANGE: std::ops::RangeInclusive<u8> = 0..=51;
/// libx264's presets, fastest first.
pub const VIDEO_PRESETS: [&str; 9] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
];

/// How to produce a video. The defaults suit chat video: CRF 23 at the
/// `veryfast` preset, at most 1280 px on the longer side; every field may be
/// omitted in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoOptions {
    /// x264 constant rate factor (0–51; lower is better and larger).
    pub crf: u8,
    /// x264 preset name (`ultrafast` … `veryslow`): speed against size.
    pub preset: String,
    /// The longer side's cap in pixels; larger videos are scaled down,
    /// keeping their aspect ratio, to even dimensions.
    pub max_dimension: u32,
    /// Encoder threads; `None` lets x264 decide (one per core).
    pub threads: Option<u32>,
    /// Re-encode even an input that is already H.264/AAC within
    /// `max_dimension` (which would otherwise be remuxed as is).
    pub compress: bool,
    /// Hardware decoding for encodes (ffmpeg's `-hwaccel`: `auto`, `vaapi`,
    /// `cuda`, ...); `None` decodes in software. The encoder stays libx264.
    pub hwaccel: Option<String>,
    /// Send an input WhatsApp already plays (H.264/AAC MP4 with faststart, one
    /// video track) byte for byte as uploaded: no remux, no size cap by
    /// `max_dimension`. Anything else is still converted. Ignored with `compress`.
    pub passthrough: bool,
    /// The preview image's size.
    pub thumbnail: ThumbnailOptions,
}

impl Default for VideoOptions {
    fn default() -> Self {
        Self {
            crf: 23,
            preset: "veryfast".to_owned(),
            max_dimension: 1280,
            threads: None,
            compress: false,
            hwaccel: None,
            passthrough: false,
            thumbnail: ThumbnailOptions::default(),
        }
    }
}

impl VideoOptions {
    /// Checks the options before any process starts.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !CRF_RANGE.contains(&self.crf) {
            return Err(format!("crf must be between 0 and 51, not {}", self.crf));
        }
        if !VIDEO_PRESETS.contains(&self.preset.as_str()) {
            return Err(format!(
                "preset must be one of {}, not {:?}",
                VIDEO_PRESETS.join(", "),
                self.preset
            ));
        }
        if !(16..=4096).contains(&self.max_dimension) {
            return Err(format!(
                "max_dimension must be between 16 and 4096, not {}",
                self.max_dimension
            ));
        }
        if self.threads.is_some_and(|n| !(1..=64).contains(&n)) {
            return Err("threads must be between 1 and 64".to_owned());
        }
        if let Some(hwaccel) = &self.hwaccel
            && (hwaccel.is_empty()
                || hwaccel.len() > 32
                || !hwaccel
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(format!(
                "hwaccel must be a method name such as `auto` or `vaapi`, not {hwaccel:?}"
            ));
        }
        self.thumbnail.validate()
    }
}

/// A video that was written and checked: what the caller needs to send it
/// as a WhatsApp video message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Video {
    /// Where the video was written.
    pub output: PathBuf,
    /// MIME type for the media message (`video/mp4`).
    pub mime_type: String,
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Duration in milliseconds, from the MP4's movie header.
    pub duration_ms: u64,
    /// Duration in whole seconds (rounded), as WhatsApp's `seconds` field wants.
    pub seconds: u32,
    /// Whether the output has an audio track.
    pub has_audio: bool,
    /// Whether the streams were copied (remuxed) rather than re-encoded.
    pub remuxed: bool,
    /// File size in bytes.
    pub size_bytes: u64,
    /// The preview of the first frame (the message's `jpegThumbnail`).
    pub thumbnail: Thumbnail,
}

impl Video {
    pub(crate) fn new(
        output: &Path,
        info: &Mp4Info,
        (width, height): (u32, u32),
        remuxed: bool,
        size_bytes: u64,
        thumbnail: Thumbnail,
    ) -> Self {
        let duration_ms = u64::try_from(info.duration.as_millis()).unwrap_or(u64::MAX);
        Self {
            output: output.to_path_buf(),
            mime_type: VIDEO_MIME.to_owned(),
            width,
            height,
            duration_ms,
            seconds: u32::try_from(duration_ms.saturating_add(500) / 1000).unwrap_or(u32::MAX),
            has_audio: info.audio().is_some(),
            remuxed,
            size_bytes,
            thumbnail,
        }
    }
}

impl Transcoder {
    /// Converts `input` (any video ffmpeg reads) to a WhatsApp video at
    /// `output` with its first-frame preview, and reports what it wrote.
    pub fn video(
        &self,
        input: &Path,
        output: &Path,
        options: &VideoOptions,
    ) -> Result<Video, TranscodeError> {
        let _span =
            tracing::info_span!("video", input = %input.display(), output = %output.display())
                .entered();
        options.validate().map_err(TranscodeError::InvalidOptions)?;
        self.check_input(input)?;
        let plan = plan(input, options);
        if plan == Plan::Passthrough {
            return self.pass_through(input, output, options);
        }
        let scratch = self.scratch()?;
        let thumbnail_path = scratch.path().join("thumbnail.jpg");
        let video = write_atomically(output, |partial| {
            self.run_ffmpeg(command(
                self.ffmpeg(),
                input,
                partial,
                &thumbnail_path,
                options,
                plan,
                self.limits(),
            ))?;
            let size_bytes = std::fs::metadata(partial)
                .map_err(|source| TranscodeError::Io {
                    action: "read the output",
                    path: partial.to_path_buf(),
                    source,
                })?
                .len();
            if size_bytes > self.limits().max_output_bytes {
                return Err(TranscodeError::OutputTooLarge {
                    path: output.to_path_buf(),
                    limit: self.limits().max_output_bytes,
                });
            }
            let invalid = |source: OutputError| TranscodeError::InvalidOutput {
                path: output.to_path_buf(),
                source,
            };
            let info = mp4::read_file(partial).map_err(|e| invalid(e.into()))?;
            let size = check(&info).map_err(invalid)?;
            let thumbnail = self.read_thumbnail(&thumbnail_path)?;
            Ok(Video::new(
                output,
                &info,
                size,
                plan != Plan::Encode,
                size_bytes,
                thumbnail,
            ))
        })?;
        tracing::info!(
            width = video.width,
            height = video.height,
            duration_ms = video.duration_ms,
            size_bytes = video.size_bytes,
            remuxed = video.remuxed,
            "video written"
        );
        Ok(video)
    }
}

impl Transcoder {
    /// Copies an input WhatsApp already plays to `output` untouched, with
    /// the same checks as a converted video and its preview.
    fn pass_through(
        &self,
        input: &Path,
        output: &Path,
        options: &VideoOptions,
    ) -> Result<Video, TranscodeError> {
        let video = write_atomically(output, |partial| {
            let size_bytes =
                std::fs::copy(input, partial).map_err(|source| TranscodeError::Io {
                    action: "copy the input",
                    path: partial.to_path_buf(),
                    source,
                })?;
            if size_bytes > self.limits().max_output_bytes {
                return Err(TranscodeError::OutputTooLarge {
                    path: output.to_path_buf(),
                    limit: self.limits().max_output_bytes,
                });
            }
            let invalid = |source: OutputError| TranscodeError::InvalidOutput {
                path: output.to_path_buf(),
                source,
            };
            let info = mp4::read_file(partial).map_err(|e| invalid(e.into()))?;
            let size = check(&info).map_err(invalid)?;
            let thumbnail = self.thumbnail(input, &options.thumbnail)?;
            Ok(Video::new(output, &info, size, true, size_bytes, thumbnail))
        })?;
        tracing::info!(
            size_bytes = video.size_bytes,
            "video passed through as uploaded"
        );
        Ok(video)
    }
}

/// Checks that an output MP4 is what WhatsApp plays; returns its size.
fn check(info: &Mp4Info) -> Result<(u32, u32), OutputError> {
    if !info.faststart {
        return Err(OutputError::NotFaststart);
    }
    let video = info
        .video()
        .ok_or_else(|| OutputError::UnexpectedStream("no video track".to_owned()))?;
    if !video.is_plain_h264() {
        return Err(OutputError::UnexpectedStream(format!(
            "video is {} (profile {:?}), not 8-bit 4:2:0 H.264",
            video.codec, video.avc_profile
        )));
    }
    if let Some(audio) = info.audio()
        && audio.codec != "mp4a"
    {
        return Err(OutputError::UnexpectedStream(format!(
            "audio is {}, not AAC",
            audio.codec
        )));
    }
    Ok((video.width, video.height))
}

/// Whether a run copies the streams or encodes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The input is already what WhatsApp plays: remux only.
    Copy,
    /// Decode, scale if needed, and encode H.264/AAC.
    Encode,
    /// Already what WhatsApp plays and asked to be left alone: copy the file.
    Passthrough,
}

/// Decides between remuxing and encoding by reading the input's MP4 boxes
/// (never an error: anything we cannot read is simply encoded).
pub(crate) fn plan(input: &Path, options: &VideoOptions) -> Plan {
    if options.compress {
        return Plan::Encode;
    }
    let Ok(info) = mp4::read_file(input) else {
        return Plan::Encode;
    };
    let video_ok = info.video().is_some_and(|video| {
        video.is_plain_h264()
            && (options.passthrough || video.width.max(video.height) <= options.max_dimension)
            && video.width % 2 == 0
            && video.height % 2 == 0
    });
    let audio_ok = info.audio().is_none_or(|audio| audio.codec == "mp4a");
    let single_video = info
        .tracks
        .iter()
        .filter(|t| t.kind == TrackKind::Video)
        .count()
        == 1;
    if video_ok && audio_ok && single_video {
        if options.passthrough && info.faststart {
            Plan::Passthrough
        } else {
            Plan::Copy
        }
    } else {
        Plan::Encode
    }
}

/// The ffmpeg command that writes the video to `output` and its first-frame
/// preview to `thumbnail_path`, in one run (the input is read once).
pub(crate) fn command(
    ffmpeg: &FfmpegBinary,
    input: &Path,
    output: &Path,
    thumbnail_path: &Path,
    options: &VideoOptions,
    plan: Plan,
    limits: Limits,
) -> FfmpegCommand {
    let mut command = FfmpegCommand::new_with_path(ffmpeg.path());
    if let (Plan::Encode, Some(hwaccel)) = (plan, &options.hwaccel) {
        command.args(["-hwaccel", hwaccel]);
    }
    command
        .input(input)
        // First video stream and, if there is one, the first audio stream.
        .map("0:v:0")
        .map("0:a:0?")
        .args(["-map_metadata", "-1", "-map_chapters", "-1"]);
    match plan {
        // Never run (the file is copied), but the command stays well defined.
        Plan::Copy | Plan::Passthrough => {
            command.args(["-c", "copy"]);
        }
        Plan::Encode => {
            let max = options.max_dimension;
            command
                .args([
                    "-vf",
                    &format!(
                        "scale=w='min({max},iw)':h='min({max},ih)'\
                         :force_original_aspect_ratio=decrease:force_divisible_by=2"
                    ),
                ])
                .codec_video("libx264")
                .args(["-preset", &options.preset])
                .args(["-crf", &options.crf.to_string()])
                .pix_fmt("yuv420p")
                .codec_audio("aac")
                .args(["-b:a", "128k"]);
            if let Some(threads) = options.threads {
                command.args(["-threads", &threads.to_string()]);
            }
        }
    }
    command
        .args(["-movflags", "+faststart"])
        .format("mp4")
        .args(["-fs", &limits.max_output_bytes.to_string()])
        .overwrite()
        .output(output);
    thumbnail::output_args(&mut command, thumbnail_path, &options.thumbnail);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_and_parse_from_json() {
        let options: VideoOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(options, VideoOptions::default());
        assert_eq!((options.crf, options.preset.as_str()), (23, "veryfast"));
        let options: VideoOptions =
            serde_json::from_str(r#"{"crf":30,"compress":true,"threads":2}"#).unwrap();
        assert!(options.compress);
        assert_eq!(options.threads, Some(2));
        assert!(serde_json::from_str::<VideoOptions>(r#"{"bitrate":1}"#).is_err());
    }

    #[test]
    fn out_of_range_options_are_rejected() {
        let bad = |options: VideoOptions| options.validate().unwrap_err();
        assert!(
            bad(VideoOptions {
                crf: 60,
                ..Default::default()
            })
            .contains("60")
        );
        assert!(
            bad(VideoOptions {
                preset: "; rm -rf /".into(),
                ..Default::default()
            })
            .contains("preset")
        );
        assert!(
            bad(VideoOptions {
                threads: Some(0),
                ..Default::default()
            })
            .contains("threads")
        );
    }
}
