//! Small JPEG previews of images and videos.
//!
//! WhatsApp shows a media message's inline `jpegThumbnail` while the real
//! file downloads; it is a few kilobytes, at most about 100 px on a side. The
//! same output arguments serve the thumbnail operation and the video
//! operation's side output.

use std::path::Path;

use ffmpeg_sidecar::command::FfmpegCommand;
use serde::{Deserialize, Serialize};

use crate::{FfmpegBinary, OutputError, TranscodeError, Transcoder, still};

/// ffmpeg's MJPEG quality scale (`-q:v`): 2 best … 31 worst.
const QUALITY_RANGE: std::ops::RangeInclusive<u8> = 2..=31;
/// No thumbnail may exceed this, whatever the options: it travels inline.
const MAX_THUMBNAIL_BYTES: u64 = 256 * 1024;

/// How to make a thumbnail; every field may be omitted in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThumbnailOptions {
    /// The longer side's cap in pixels (default 100); the aspect ratio is
    /// kept and small images are not enlarged.
    pub max_dimension: u32,
    /// JPEG quality on ffmpeg's scale, 2 (best) to 31 (smallest); default 5.
    pub quality: u8,
}

impl Default for ThumbnailOptions {
    fn default() -> Self {
        Self {
            max_dimension: 100,
            quality: 5,
        }
    }
}

impl ThumbnailOptions {
    /// Checks the options before any process starts.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(8..=1024).contains(&self.max_dimension) {
            return Err(format!(
                "thumbnail max_dimension must be between 8 and 1024, not {}",
                self.max_dimension
            ));
        }
        if !QUALITY_RANGE.contains(&self.quality) {
            return Err(format!(
                "thumbnail quality must be between 2 and 31, not {}",
                self.quality
            ));
        }
        Ok(())
    }
}

/// A JPEG preview, held in memory (base64 in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The JPEG file's bytes.
    #[serde(with = "base64_bytes")]
    pub jpeg: Vec<u8>,
}

impl Transcoder {
    /// Makes a small JPEG of `input`'s first video frame (any image or video
    /// ffmpeg reads), for a message's inline preview.
    pub fn thumbnail(
        &self,
        input: &Path,
        options: &ThumbnailOptions,
    ) -> Result<Thumbnail, TranscodeError> {
        let _span = tracing::info_span!("thumbnail", input = %input.display()).entered();
        options.validate().map_err(TranscodeError::InvalidOptions)?;
        self.check_input(input)?;
        let scratch = self.scratch()?;
        let path = scratch.path().join("thumbnail.jpg");
        self.run_ffmpeg(command(self.ffmpeg(), input, &path, options))?;
        let thumbnail = self.read_thumbnail(&path)?;
        tracing::info!(
            width = thumbnail.width,
            height = thumbnail.height,
            size_bytes = thumbnail.jpeg.len(),
            "thumbnail made"
        );
        Ok(thumbnail)
    }

    /// Reads and checks a thumbnail ffmpeg wrote to `path`.
    pub(crate) fn read_thumbnail(&self, path: &Path) -> Result<Thumbnail, TranscodeError> {
        let jpeg = self.read_output(path, path, MAX_THUMBNAIL_BYTES)?;
        let (width, height) =
            still::jpeg_dimensions(&jpeg).ok_or_else(|| TranscodeError::InvalidOutput {
                path: path.to_path_buf(),
                source: OutputError::NotJpeg,
            })?;
        Ok(Thumbnail {
            width,
            height,
            jpeg,
        })
    }
}

/// The ffmpeg command that writes `input`'s thumbnail to `output`.
pub(crate) fn command(
    ffmpeg: &FfmpegBinary,
    input: &Path,
    output: &Path,
    options: &ThumbnailOptions,
) -> FfmpegCommand {
    let mut command = FfmpegCommand::new_with_path(ffmpeg.path());
    command.input(input).overwrite();
    output_args(&mut command, output, options);
    command
}

/// Appends an output to `command`: the first frame of input 0's first video
/// stream, scaled down to fit, as one JPEG at `path`.
pub(crate) fn output_args(command: &mut FfmpegCommand, path: &Path, options: &ThumbnailOptions) {
    let max = options.max_dimension;
    command
        .map("0:v:0")
        .args(["-map_metadata", "-1", "-frames:v", "1"])
        .args([
            "-vf",
            &format!(
                "scale=w='min({max},iw)':h='min({max},ih)':force_original_aspect_ratio=decrease"
            ),
        ])
        .codec_video("mjpeg")
        .args(["-q:v", &options.quality.to_string()])
        .format("image2")
        .args(["-update", "1"])
        .output(path);
}

/// Serde for bytes as standard base64 text, so JSON answers stay compact.
mod base64_bytes {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_travel_as_base64() {
        let thumbnail = Thumbnail {
            width: 2,
            height: 1,
            jpeg: vec![0xFF, 0xD8, 0xFF],
        };
        let json = serde_json::to_value(&thumbnail).unwrap();
        assert_eq!(json["jpeg"], "/9j/");
        assert_eq!(
            serde_json::from_value::<Thumbnail>(json).unwrap(),
            thumbnail
        );
    }

    #[test]
    fn options_are_checked() {
        assert!(ThumbnailOptions::default().validate().is_ok());
        let bad = ThumbnailOptions {
            quality: 1,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("quality"));
    }
}
