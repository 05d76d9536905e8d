//! WhatsApp voice notes: any audio in, Opus in OGG out.
//!
//! WhatsApp plays a message as a voice note (waveform bubble, not a file) only
//! when it is Opus in an OGG container, mono, at a rate Opus encodes natively;
//! this module holds those choices and the ffmpeg arguments that make them.

use std::path::{Path, PathBuf};

use ffmpeg_sidecar::command::FfmpegCommand;
use serde::{Deserialize, Serialize};

use crate::{FfmpegBinary, Limits, ogg_opus::OggOpusInfo};

/// The MIME type WhatsApp expects on a voice note's media message.
pub(crate) const VOICE_NOTE_MIME: &str = "audio/ogg; codecs=opus";
/// How many points a voice note's waveform has (what WhatsApp clients draw).
pub const WAVEFORM_POINTS: usize = 64;
/// The rate the waveform's side output is decoded at: plenty for loudness.
const WAVEFORM_RATE: u32 = 8_000;
/// libopus accepts 6 kb/s to 510 kb/s.
const BITRATE_RANGE: std::ops::RangeInclusive<u32> = 6_000..=510_000;

/// The encoding rate of a voice note. Only the two rates WhatsApp clients
/// themselves record at are offered, so every note plays everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum OpusSampleRate {
    /// 16 kHz ("wideband"): smaller files, the usual rate for speech.
    Hz16000,
    /// 48 kHz ("fullband"): Opus's native rate; the default.
    #[default]
    Hz48000,
}

impl OpusSampleRate {
    /// The rate in hertz, as ffmpeg's `-ar` takes it.
    pub fn hz(self) -> u32 {
        match self {
            Self::Hz16000 => 16_000,
            Self::Hz48000 => 48_000,
        }
    }
}

impl From<OpusSampleRate> for u32 {
    fn from(rate: OpusSampleRate) -> u32 {
        rate.hz()
    }
}

impl TryFrom<u32> for OpusSampleRate {
    type Error = String;

    fn try_from(hz: u32) -> Result<Self, String> {
        match hz {
            16_000 => Ok(Self::Hz16000),
            48_000 => Ok(Self::Hz48000),
            other => Err(format!(
                "voice notes are encoded at 16000 or 48000 Hz, not {other}"
            )),
        }
    }
}

/// How to encode a voice note. The defaults (48 kHz, 32 kb/s) sound like a
/// phone's own recording; every field may be omitted in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceNoteOptions {
    /// Encoding rate (the input is resampled to it).
    pub sample_rate: OpusSampleRate,
    /// Target bitrate in bits per second (6000 to 510000).
    pub bitrate_bps: u32,
}

impl Default for VoiceNoteOptions {
    fn default() -> Self {
        Self {
            sample_rate: OpusSampleRate::default(),
            bitrate_bps: 32_000,
        }
    }
}

impl VoiceNoteOptions {
    /// Checks the options before any process starts, so a bad request fails
    /// with a clear message instead of an ffmpeg error.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if BITRATE_RANGE.contains(&self.bitrate_bps) {
            Ok(())
        } else {
            Err(format!(
                "bitrate_bps must be between {} and {}, not {}",
                BITRATE_RANGE.start(),
                BITRATE_RANGE.end(),
                self.bitrate_bps
            ))
        }
    }
}

/// A voice note that was written and checked: what the caller needs to send
/// it as a WhatsApp audio message with `ptt` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceNote {
    /// Where the note was written.
    pub output: PathBuf,
    /// MIME type for the media message (`audio/ogg; codecs=opus`).
    pub mime_type: String,
    /// Exact playable duration in milliseconds.
    pub duration_ms: u64,
    /// Duration in whole seconds (rounded), as WhatsApp's `seconds` field wants.
    pub seconds: u32,
    /// Channel count (always 1).
    pub channels: u8,
    /// The rate the note was encoded at, in hertz.
    pub sample_rate: u32,
    /// File size in bytes.
    pub size_bytes: u64,
    /// Loudness over time, [`WAVEFORM_POINTS`] values from 0 to 100 (the
    /// loudest point is 100), for the message's `waveform` bubble.
    pub waveform: Vec<u8>,
}

impl VoiceNote {
    pub(crate) fn new(
        output: &Path,
        info: &OggOpusInfo,
        size_bytes: u64,
        waveform: Vec<u8>,
    ) -> Self {
        let duration_ms = u64::try_from(info.duration.as_millis()).unwrap_or(u64::MAX);
        Self {
            output: output.to_path_buf(),
            mime_type: VOICE_NOTE_MIME.to_owned(),
            duration_ms,
            seconds: u32::try_from(duration_ms.saturating_add(500) / 1000).unwrap_or(u32::MAX),
            channels: info.channels,
            sample_rate: info.input_sample_rate,
            size_bytes,
            waveform,
        }
    }
}

/// The loudness of mono 16-bit little-endian PCM in [`WAVEFORM_POINTS`]
/// equal slices (mean absolute amplitude), scaled so the loudest is 100.
pub(crate) fn waveform(pcm: &[u8]) -> Vec<u8> {
    let samples: Vec<u64> = pcm
        .chunks_exact(2)
        .map(|s| u64::from(i16::from_le_bytes([s[0], s[1]]).unsigned_abs()))
        .collect();
    let points = WAVEFORM_POINTS as u64;
    let count = samples.len() as u64;
    let means: Vec<u64> = (0..points)
        .map(|i| {
            let start = usize::try_from(i * count / points).unwrap_or(usize::MAX);
            let end = usize::try_from((i + 1) * count / points).unwrap_or(usize::MAX);
            let slice = samples.get(start..end).unwrap_or_default();
            if slice.is_empty() {
                0
            } else {
                slice.iter().sum::<u64>() / slice.len() as u64
            }
        })
        .collect();
    let loudest = means.iter().copied().max().unwrap_or(0);
    means
        .iter()
        .map(|&mean| match loudest {
            0 => 0,
            _ => u8::try_from(mean * 100 / loudest).unwrap_or(100),
        })
        .collect()
}

/// The ffmpeg command that turns `input`'s first audio stream into a voice
/// note at `output` (written as OGG whatever its extension) and, in the same
/// run, mono 8 kHz PCM at `pcm_output` for the waveform.
pub(crate) fn command(
    ffmpeg: &FfmpegBinary,
    input: &Path,
    output: &Path,
    pcm_output: &Path,
    options: &VoiceNoteOptions,
    limits: Limits,
) -> FfmpegCommand {
    let mut command = FfmpegCommand::new_with_path(ffmpeg.path());
    command
        .input(input)
        // First audio stream only; no video, cover art, subtitles or tags.
        .map("0:a:0")
        .args(["-map_metadata", "-1", "-ac", "1"])
        .args(["-ar", &options.sample_rate.hz().to_string()])
        .codec_audio("libopus")
        .args(["-b:a", &options.bitrate_bps.to_string()])
        // Opus's speech mode, as phones use for recorded notes.
        .args(["-application", "voip"])
        .format("ogg")
        .args(["-fs", &limits.max_output_bytes.to_string()])
        .overwrite()
        .output(output)
        .map("0:a:0")
        .args(["-map_metadata", "-1", "-ac", "1"])
        .args(["-ar", &WAVEFORM_RATE.to_string()])
        .codec_audio("pcm_s16le")
        .format("s16le")
        .args(["-fs", &limits.max_output_bytes.to_string()])
        .output(pcm_output);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_and_parse_from_json() {
        let options: VoiceNoteOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(options, VoiceNoteOptions::default());
        let options: VoiceNoteOptions =
            serde_json::from_str(r#"{"sample_rate":16000,"bitrate_bps":24000}"#).unwrap();
        assert_eq!(options.sample_rate, OpusSampleRate::Hz16000);
        assert_eq!(options.bitrate_bps, 24_000);
        assert!(serde_json::from_str::<VoiceNoteOptions>(r#"{"sample_rate":44100}"#).is_err());
    }

    #[test]
    fn waveform_is_64_points_scaled_to_the_loudest() {
        let pcm: Vec<u8> = (0..6_400)
            .flat_map(|n| {
                let amplitude: i16 = if n < 3_200 { 0 } else { -1_000 };
                amplitude.to_le_bytes()
            })
            .collect();
        let wave = waveform(&pcm);
        assert_eq!(wave.len(), WAVEFORM_POINTS);
        assert!(wave[..32].iter().all(|&v| v == 0), "{wave:?}");
        assert!(wave[32..].iter().all(|&v| v == 100), "{wave:?}");
        assert_eq!(waveform(&[]), vec![0; WAVEFORM_POINTS]);
        assert_eq!(
            waveform(&[0x10, 0x00])
                .iter()
                .filter(|&&v| v == 100)
                .count(),
            1
        );
    }

    #[test]
    fn bitrate_out_of_range_is_rejected() {
        let options = VoiceNoteOptions {
            bitrate_bps: 1_000,
            ..Default::default()
        };
        assert!(options.validate().unwrap_err().contains("1000"));
    }
}
