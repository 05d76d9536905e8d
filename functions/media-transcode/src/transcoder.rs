//! The entry point: one [`Transcoder`] per process, one method per operation.
//!
//! Each operation follows the same path: check the request, run ffmpeg into a
//! temporary file next to the output, check what it wrote, then rename it into
//! place. A caller therefore never sees a half-written output, even when
//! ffmpeg fails, times out or the process dies mid-run.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use crate::{
    FfmpegBinary, FfmpegRunError, Job, JobOutput, VoiceNote, VoiceNoteOptions, ffmpeg_run,
    ogg_opus::{self, OggOpusError},
    voice_note,
};

/// How long one ffmpeg run may take unless configured otherwise: minutes of
/// audio transcode in seconds, so two minutes means something is stuck.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a transcoding operation failed. [`TranscodeError::kind`] gives a
/// stable name per variant for error responses and metrics.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The input file does not exist (checked before starting ffmpeg, so the
    /// caller gets a precise error instead of ffmpeg's).
    #[error("input file {} does not exist", path.display())]
    InputNotFound {
        /// The missing input.
        path: PathBuf,
    },
    /// The request's options are out of range.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// ffmpeg could not start, failed on the input, or timed out.
    #[error(transparent)]
    Ffmpeg(#[from] FfmpegRunError),
    /// ffmpeg reported success but its output is not what was asked for.
    #[error("ffmpeg wrote an unusable file for {}: {source}", path.display())]
    InvalidOutput {
        /// The output that was requested.
        path: PathBuf,
        /// What is wrong with the bytes.
        #[source]
        source: OggOpusError,
    },
    /// Reading, renaming or removing a file failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
}

impl TranscodeError {
    /// A stable, CamelCase name for the kind of failure (the Lambda's
    /// `errorType`), independent of the message text.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InputNotFound { .. } => "InputNotFound",
            Self::InvalidOptions(_) => "InvalidOptions",
            Self::Ffmpeg(FfmpegRunError::Spawn { .. }) => "FfmpegSpawnFailed",
            Self::Ffmpeg(FfmpegRunError::Failed { .. }) => "FfmpegFailed",
            Self::Ffmpeg(FfmpegRunError::TimedOut { .. }) => "FfmpegTimedOut",
            Self::InvalidOutput { .. } => "InvalidOutput",
            Self::Io { .. } => "IoFailed",
        }
    }

    /// Whether the request itself is at fault (bad input or options), as
    /// opposed to the environment; retrying such a request cannot succeed.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Self::InputNotFound { .. }
                | Self::InvalidOptions(_)
                | Self::Ffmpeg(FfmpegRunError::Failed { .. })
        )
    }
}

/// Runs transcoding operations with one ffmpeg and one timeout. Cheap to
/// clone; the methods block while ffmpeg runs.
#[derive(Debug, Clone)]
pub struct Transcoder {
    ffmpeg: FfmpegBinary,
    timeout: Duration,
}

impl Transcoder {
    /// A transcoder using `ffmpeg`, with [`DEFAULT_TIMEOUT`] per run.
    pub fn new(ffmpeg: FfmpegBinary) -> Self {
        Self {
            ffmpeg,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same transcoder with another per-run timeout (e.g. what is left of
    /// a Lambda invocation's deadline).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The per-run timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The ffmpeg this transcoder runs.
    pub fn ffmpeg(&self) -> &FfmpegBinary {
        &self.ffmpeg
    }

    /// Runs one [`Job`]; the single dispatch point for wire requests.
    pub fn run(&self, job: &Job) -> Result<JobOutput, TranscodeError> {
        match job {
            Job::VoiceNote {
                input,
                output,
                options,
            } => self
                .voice_note(input, output, options)
                .map(JobOutput::VoiceNote),
        }
    }

    /// Converts the first audio stream of `input` (any format ffmpeg reads) to
    /// a WhatsApp voice note at `output`, and reports its exact duration.
    pub fn voice_note(
        &self,
        input: &Path,
        output: &Path,
        options: &VoiceNoteOptions,
    ) -> Result<VoiceNote, TranscodeError> {
        let _span =
            tracing::info_span!("voice_note", input = %input.display(), output = %output.display())
                .entered();
        options.validate().map_err(TranscodeError::InvalidOptions)?;
        require_input(input)?;
        let note = write_atomically(output, |partial| {
            ffmpeg_run::run(
                &mut voice_note::command(&self.ffmpeg, input, partial, options),
                self.timeout,
            )?;
            let bytes = fs::read(partial).map_err(|source| TranscodeError::Io {
                action: "read the output",
                path: partial.to_path_buf(),
                source,
            })?;
            let info = ogg_opus::parse(&bytes).map_err(|source| TranscodeError::InvalidOutput {
                path: output.to_path_buf(),
                source,
            })?;
            Ok(VoiceNote::new(output, &info, bytes.len() as u64))
        })?;
        tracing::info!(
            duration_ms = note.duration_ms,
            size_bytes = note.size_bytes,
            "voice note written"
        );
        Ok(note)
    }
}

fn require_input(input: &Path) -> Result<(), TranscodeError> {
    if input.exists() {
        Ok(())
    } else {
        Err(TranscodeError::InputNotFound {
            path: input.to_path_buf(),
        })
    }
}

/// Calls `write` with a temporary path beside `output`, then renames the
/// result onto `output` if `write` succeeded, or removes it if not.
fn write_atomically<T>(
    output: &Path,
    write: impl FnOnce(&Path) -> Result<T, TranscodeError>,
) -> Result<T, TranscodeError> {
    let partial = partial_path(output);
    let result = write(&partial).and_then(|value| {
        fs::rename(&partial, output)
            .map(|()| value)
            .map_err(|source| TranscodeError::Io {
                action: "move the finished file to",
                path: output.to_path_buf(),
                source,
            })
    });
    if result.is_err() {
        // ffmpeg may not have created it; nothing to report then.
        let _ = fs::remove_file(&partial);
    }
    result
}

/// A unique hidden sibling of `output` (same folder, so the rename is atomic).
fn partial_path(output: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = output
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    output.with_file_name(format!(".{name}.{}-{n}.partial", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_neither_output_nor_partial() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("note.ogg");
        let result: Result<(), _> = write_atomically(&output, |partial| {
            fs::write(partial, b"half").unwrap();
            Err(TranscodeError::InvalidOptions("boom".into()))
        });
        assert!(result.is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_lands_on_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("note.ogg");
        write_atomically(&output, |partial| {
            fs::write(partial, b"done").map_err(|source| TranscodeError::Io {
                action: "write",
                path: partial.to_path_buf(),
                source,
            })
        })
        .unwrap();
        assert_eq!(fs::read(&output).unwrap(), b"done");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
