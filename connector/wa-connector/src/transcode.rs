//! Media conversion inside the connector (the media-transcode library run
//! in-process): voice notes become Opus in OGG with their duration and
//! waveform, and videos become what every WhatsApp client plays (H.264/AAC
//! MP4 with faststart) with their preview, whatever the client uploaded.
//!
//! ffmpeg runs as a child process with a time limit (see `media_transcode`);
//! the input and output live in a temporary folder removed on every path, and
//! the result is stored in the media store under its content hash.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;
use wa_media::{DynMediaStore, MediaError, MediaKey};

use media_transcode::{
    FfmpegBinary, Limits, TranscodeError, Transcoder, VideoOptions, VoiceNoteOptions,
};

/// The largest audio file converted (GOWA's audio limit is far below it).
const MAX_AUDIO_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// How the operator wants media converted: the encoder flags
/// (`FFMPEG_PRESET`, `FFMPEG_CRF`, `FFMPEG_THREADS`, `FFMPEG_HWACCEL`,
/// `WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION`) and the video size limit.
#[derive(Debug, Clone)]
pub struct MediaConversion {
    /// Applied to every video; a send's `compress` sets `compress` on a copy.
    pub video: VideoOptions,
    /// The largest video read from the media store (the API's video limit).
    pub max_video_bytes: u64,
}

impl Default for MediaConversion {
    fn default() -> Self {
        Self {
            video: VideoOptions::default(),
            max_video_bytes: Limits::default().max_input_bytes,
        }
    }
}

/// A voice note ready to upload.
#[derive(Debug, Clone)]
pub struct VoiceNoteMedia {
    /// Where the converted file is in the media store.
    pub key: MediaKey,
    /// Its MIME type (`audio/ogg; codecs=opus`).
    pub mime: String,
    /// Its duration in whole seconds.
    pub seconds: u32,
    /// 64 loudness points (0–100) for the voice-note bubble.
    pub waveform: Vec<u8>,
}

/// A video ready to upload.
#[derive(Debug, Clone)]
pub struct VideoMedia {
    /// Where the converted (or, without recompression, the uploaded) file is.
    pub key: MediaKey,
    /// Its MIME type (`video/mp4`).
    pub mime: String,
    /// Its duration in whole seconds.
    pub seconds: u32,
    /// Coded width and height in pixels.
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// The first frame as a small JPEG, shown before the video downloads.
    pub thumbnail: Vec<u8>,
}

/// Why a conversion failed.
#[derive(Debug, Error)]
pub enum TranscodeFailure {
    /// The input is not media ffmpeg can read: the client's fault.
    #[error("the {what} cannot be converted: {reason}")]
    BadInput {
        /// `audio` or `video`.
        what: &'static str,
        /// What ffmpeg or the checks said.
        reason: String,
    },
    /// ffmpeg is missing or failed for another reason.
    #[error("{what} conversion failed: {reason}")]
    Failed {
        /// `voice note` or `video`.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// Reading or writing the media store failed.
    #[error("media store: {0}")]
    Store(#[from] MediaError),
}

/// Converts the audio at `input` in `store` into a voice note stored next to it.
pub async fn voice_note(
    store: &DynMediaStore,
    input: &MediaKey,
) -> Result<VoiceNoteMedia, TranscodeFailure> {
    let (key, note) = convert(
        store,
        input,
        MAX_AUDIO_INPUT_BYTES,
        ("audio", "voice note"),
        "note.ogg",
        |transcoder, source, target| {
            transcoder.voice_note(source, target, &VoiceNoteOptions::default())
        },
    )
    .await?;
    Ok(VoiceNoteMedia {
        key,
        mime: note.mime_type,
        seconds: note.seconds,
        waveform: note.waveform,
    })
}

/// Converts the video at `input` in `store` as `conversion` says (re-encoding
/// even a playable upload when `compress`), storing the result next to it.
pub async fn video(
    store: &DynMediaStore,
    input: &MediaKey,
    conversion: &MediaConversion,
    compress: bool,
) -> Result<VideoMedia, TranscodeFailure> {
    let options = VideoOptions {
        compress: compress || conversion.video.compress,
        ..conversion.video.clone()
    };
    let (key, video) = convert(
        store,
        input,
        conversion.max_video_bytes,
        ("video", "video"),
        "video.mp4",
        move |transcoder, source, target| transcoder.video(source, target, &options),
    )
    .await?;
    Ok(VideoMedia {
        key,
        mime: video.mime_type,
        seconds: video.seconds,
        width: video.width,
        height: video.height,
        thumbnail: video.thumbnail.jpeg,
    })
}

/// Runs one conversion of the stored file `input` (at most `max_input`
/// bytes) in a scratch folder and stores what `run` wrote under its hash.
/// `what` names the input and the result in errors.
async fn convert<T: Send + 'static>(
    store: &DynMediaStore,
    input: &MediaKey,
    max_input: u64,
    what: (&'static str, &'static str),
    output_name: &str,
    run: impl FnOnce(&Transcoder, &Path, &Path) -> Result<T, TranscodeError> + Send + 'static,
) -> Result<(MediaKey, T), TranscodeFailure> {
    let (input_kind, output_kind) = what;
    let failed = move |reason: String| TranscodeFailure::Failed {
        what: output_kind,
        reason,
    };
    let bytes = store.get_bytes(input, max_input).await?;
    let dir = tempfile::tempdir().map_err(|e| failed(e.to_string()))?;
    let source = dir.path().join("input");
    let target: PathBuf = dir.path().join(output_name);
    tokio::fs::write(&source, &bytes)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let run_target = target.clone();
    let result = tokio::task::spawn_blocking(move || {
        let ffmpeg = FfmpegBinary::from_env().map_err(|e| failed(e.to_string()))?;
        let transcoder = Transcoder::new(ffmpeg).with_limits(Limits {
            max_input_bytes: max_input,
            ..Limits::default()
        });
        run(&transcoder, &source, &run_target).map_err(|e| {
            if e.is_bad_request() {
                TranscodeFailure::BadInput {
                    what: input_kind,
                    reason: e.to_string(),
                }
            } else {
                failed(e.to_string())
            }
        })
    })
    .await
    .map_err(|e| failed(e.to_string()))??;
    let output = tokio::fs::read(&target)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let key = MediaKey::for_sha256(&Sha256::digest(&output).into());
    store.put_bytes(&key, &output).await?;
    Ok((key, result))
}
