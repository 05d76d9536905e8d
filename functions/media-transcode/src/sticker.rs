//! WhatsApp stickers: an image in, a 512×512 WebP out.
//!
//! WhatsApp shows a static sticker only as a 512×512 WebP of at most 100 KB,
//! so the image is fitted inside the square on a transparent background
//! (never cropped or stretched), and the quality is lowered in steps until
//! the file fits.

use std::path::{Path, PathBuf};

use ffmpeg_sidecar::command::FfmpegCommand;
use serde::{Deserialize, Serialize};

use crate::{
    FfmpegBinary, Limits, OutputError, TranscodeError, Transcoder, still,
    transcoder::write_atomically,
};

/// The MIME type of a sticker.
pub(crate) const STICKER_MIME: &str = "image/webp";
/// A sticker's side in pixels.
pub const STICKER_SIZE: u32 = 512;
/// How much the quality drops per retry when the file is too large.
const QUALITY_STEP: u8 = 15;
/// The lowest quality we try before giving up.
const MIN_QUALITY: u8 = 10;

/// How to make a sticker; every field may be omitted in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StickerOptions {
    /// The first WebP quality tried (1–100, default 75).
    pub quality: u8,
    /// The size the file must fit in (default 100 000 bytes, WhatsApp's
    /// limit for static stickers).
    pub max_bytes: u64,
}

impl Default for StickerOptions {
    fn default() -> Self {
        Self {
            quality: 75,
            max_bytes: 100_000,
        }
    }
}

impl StickerOptions {
    /// Checks the options before any process starts.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.quality) {
            return Err(format!(
                "quality must be between 1 and 100, not {}",
                self.quality
            ));
        }
        if self.max_bytes < 1024 {
            return Err(format!(
                "max_bytes must be at least 1024, not {}",
                self.max_bytes
            ));
        }
        Ok(())
    }

    /// The qualities tried in order: the requested one, then lower steps.
    fn qualities(&self) -> impl Iterator<Item = u8> {
        let first = self.quality;
        std::iter::successors(Some(first), |&q| {
            (q > MIN_QUALITY).then(|| q.saturating_sub(QUALITY_STEP).max(MIN_QUALITY))
        })
    }
}

/// A sticker that was written and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sticker {
    /// Where the sticker was written.
    pub output: PathBuf,
    /// MIME type for the sticker message (`image/webp`).
    pub mime_type: String,
    /// Width in pixels (512).
    pub width: u32,
    /// Height in pixels (512).
    pub height: u32,
    /// The WebP quality that made it fit.
    pub quality: u8,
    /// File size in bytes.
    pub size_bytes: u64,
}

impl Transcoder {
    /// Converts `input` (PNG, JPEG, WebP, or a GIF's first frame) to a
    /// WhatsApp sticker at `output`.
    pub fn sticker(
        &self,
        input: &Path,
        output: &Path,
        options: &StickerOptions,
    ) -> Result<Sticker, TranscodeError> {
        let _span =
            tracing::info_span!("sticker", input = %input.display(), output = %output.display())
                .entered();
        options.validate().map_err(TranscodeError::InvalidOptions)?;
        self.check_input(input)?;
        let limit = options.max_bytes.min(self.limits().max_output_bytes);
        let sticker = write_atomically(output, |partial| {
            for quality in options.qualities() {
                self.run_ffmpeg(command(
                    self.ffmpeg(),
                    input,
                    partial,
                    quality,
                    self.limits(),
                ))?;
                let bytes = match self.read_output(partial, output, limit) {
                    Err(TranscodeError::OutputTooLarge { .. }) => {
                        tracing::debug!(quality, "sticker too large; lowering the quality");
                        continue;
                    }
                    other => other?,
                };
                let invalid = |source| TranscodeError::InvalidOutput {
                    path: output.to_path_buf(),
                    source,
                };
                let (width, height) =
                    still::webp_dimensions(&bytes).ok_or_else(|| invalid(OutputError::NotWebp))?;
                if (width, height) != (STICKER_SIZE, STICKER_SIZE) {
                    return Err(invalid(OutputError::UnexpectedStream(format!(
                        "sticker is {width}×{height}, not {STICKER_SIZE}×{STICKER_SIZE}"
                    ))));
                }
                return Ok(Sticker {
                    output: output.to_path_buf(),
                    mime_type: STICKER_MIME.to_owned(),
                    width,
                    height,
                    quality,
                    size_bytes: bytes.len() as u64,
                });
            }
            Err(TranscodeError::OutputTooLarge {
                path: output.to_path_buf(),
                limit,
            })
        })?;
        tracing::info!(
            quality = sticker.quality,
            size_bytes = sticker.size_bytes,
            "sticker written"
        );
        Ok(sticker)
    }
}

/// The ffmpeg command that writes `input`'s first frame as a sticker at
/// `output` with WebP `quality`.
pub(crate) fn command(
    ffmpeg: &FfmpegBinary,
    input: &Path,
    output: &Path,
    quality: u8,
    limits: Limits,
) -> FfmpegCommand {
    let side = STICKER_SIZE;
    let mut command = FfmpegCommand::new_with_path(ffmpeg.path());
    command
        .input(input)
        .map("0:v:0")
        .args(["-map_metadata", "-1", "-frames:v", "1"])
        .args([
            "-vf",
            &format!(
                "scale={side}:{side}:force_original_aspect_ratio=decrease,format=rgba,\
                 pad={side}:{side}:(ow-iw)/2:(oh-ih)/2:color=0x00000000"
            ),
        ])
        .codec_video("libwebp")
        .args(["-lossless", "0", "-quality", &quality.to_string()])
        .format("webp")
        .args(["-fs", &limits.max_output_bytes.to_string()])
        .overwrite()
        .output(output);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualities_step_down_to_the_minimum() {
        let steps: Vec<u8> = StickerOptions::default().qualities().collect();
        assert_eq!(steps, vec![75, 60, 45, 30, 15, 10]);
        let low = StickerOptions {
            quality: 5,
            ..Default::default()
        };
        assert_eq!(low.qualities().collect::<Vec<_>>(), vec![5]);
    }

    #[test]
    fn options_parse_and_are_checked() {
        let options: StickerOptions = serde_json::from_str(r#"{"quality":50}"#).unwrap();
        assert_eq!(options.max_bytes, 100_000);
        assert!(
            StickerOptions {
                quality: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
