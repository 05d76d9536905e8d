//! Media conversion inside the connector (the embedded mode's media-transcode):
//! voice notes sent by the API become Opus in OGG, mono, with their duration,
//! and waveform, whatever audio the client uploaded.
//!
//! ffmpeg runs as a child process with a time limit (see `media_transcode`); the
//! input and output live in a temporary folder removed on every path.

use sha2::{Digest, Sha256};
use thiserror::Error;
use wa_media::{DynMediaStore, MediaError, MediaKey};

use media_transcode::{FfmpegBinary, TranscodeError, Transcoder, VoiceNoteOptions};

/// The largest audio file converted (GOWA's audio limit is far below it).
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

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

/// Why a conversion failed.
#[derive(Debug, Error)]
pub enum TranscodeFailure {
    /// The input is not audio ffmpeg can read: the client's fault.
    #[error("the audio cannot be converted to a voice note: {0}")]
    BadInput(String),
    /// ffmpeg is missing or failed for another reason.
    #[error("voice note conversion failed: {0}")]
    Failed(String),
    /// Reading or writing the media store failed.
    #[error("media store: {0}")]
    Store(#[from] MediaError),
}

/// Converts the audio at `input` in `store` into a voice note stored next to it.
pub async fn voice_note(
    store: &DynMediaStore,
    input: &MediaKey,
) -> Result<VoiceNoteMedia, TranscodeFailure> {
    let bytes = store.get_bytes(input, MAX_INPUT_BYTES).await?;
    let dir = tempfile::tempdir().map_err(|e| TranscodeFailure::Failed(e.to_string()))?;
    let (source, target) = (dir.path().join("input"), dir.path().join("note.ogg"));
    tokio::fs::write(&source, &bytes)
        .await
        .map_err(|e| TranscodeFailure::Failed(e.to_string()))?;
    let run_target = target.clone();
    let note = tokio::task::spawn_blocking(move || {
        let ffmpeg =
            FfmpegBinary::from_env().map_err(|e| TranscodeFailure::Failed(e.to_string()))?;
        Transcoder::new(ffmpeg)
            .voice_note(&source, &run_target, &VoiceNoteOptions::default())
            .map_err(|e| match e {
                e @ TranscodeError::Ffmpeg(_) if e.is_bad_request() => {
                    TranscodeFailure::BadInput(e.to_string())
                }
                e if e.is_bad_request() => TranscodeFailure::BadInput(e.to_string()),
                e => TranscodeFailure::Failed(e.to_string()),
            })
    })
    .await
    .map_err(|e| TranscodeFailure::Failed(e.to_string()))??;
    let output = tokio::fs::read(&target)
        .await
        .map_err(|e| TranscodeFailure::Failed(e.to_string()))?;
    let key = MediaKey::for_sha256(&Sha256::digest(&output).into());
    store.put_bytes(&key, &output).await?;
    Ok(VoiceNoteMedia {
        key,
        mime: note.mime_type,
        seconds: note.seconds,
        waveform: note.waveform,
    })
}
