//! The entry point: one [`Transcoder`] per process, one method per operation.
//!
//! Each operation follows the same path: check the request, run ffmpeg into a
//! temporary file next to the output, check what it wrote, then rename it into
//! place. A caller therefore never sees a half-written output, even when
//! ffmpeg fails, times out or the process dies mid-run.
//!
//! The limits every operation shares live here too: an input size cap checked
//! before ffmpeg starts, an output size cap ffmpeg itself enforces (`-fs`) and
//! we check again, the per-run timeout, and a private scratch folder per run
//! for side outputs (thumbnails) that is removed however the run ends.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use ffmpeg_sidecar::command::FfmpegCommand;
use serde::{Deserialize, Serialize};
use tempfile::TempDir;

use crate::{
    FfmpegBinary, FfmpegRunError, Job, JobOutput, VideoOptions, VoiceNote, VoiceNoteOptions,
    ffmpeg_run,
    mp4::Mp4Error,
    ogg_opus::{self, OggOpusError},
    voice_note,
};

/// How long one ffmpeg run may take unless configured otherwise: minutes of
/// audio transcode in seconds, so two minutes means something is stuck.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Size caps that bound what one request can make us read and write, so a
/// hostile upload cannot fill the disk (a Lambda has 512 MB of `/tmp`) or
/// keep ffmpeg busy on gigabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Inputs larger than this are refused before ffmpeg starts (default
    /// 256 MiB, above WhatsApp's own media limits).
    pub max_input_bytes: u64,
    /// ffmpeg stops writing past this size and the run fails (default 128 MiB).
    pub max_output_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 256 * 1024 * 1024,
            max_output_bytes: 128 * 1024 * 1024,
        }
    }
}

/// What is wrong with a file ffmpeg reported as written successfully.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A voice note that is not OGG/Opus.
    #[error(transparent)]
    OggOpus(#[from] OggOpusError),
    /// A video that is not a readable MP4.
    #[error(transparent)]
    Mp4(#[from] Mp4Error),
    /// The MP4's `moov` box follows its media data.
    #[error("the MP4 is not faststart (`moov` after `mdat`)")]
    NotFaststart,
    /// A stream has another codec or shape than was asked for.
    #[error("unexpected stream: {0}")]
    UnexpectedStream(String),
    /// A thumbnail that is not a JPEG.
    #[error("not a JPEG image")]
    NotJpeg,
    /// A sticker that is not a WebP image.
    #[error("not a WebP image")]
    NotWebp,
}

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
    /// The input is larger than [`Limits::max_input_bytes`].
    #[error("input file {} has {size} bytes, more than the limit of {limit}", path.display())]
    InputTooLarge {
        /// The refused input.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The output would be larger than allowed ([`Limits::max_output_bytes`],
    /// or an operation's own target such as a sticker's 100 KB).
    #[error("the output for {} would exceed {limit} bytes", path.display())]
    OutputTooLarge {
        /// The output that was requested.
        path: PathBuf,
        /// The limit that was exceeded.
        limit: u64,
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
        source: OutputError,
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
            Self::InputTooLarge { .. } => "InputTooLarge",
            Self::OutputTooLarge { .. } => "OutputTooLarge",
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
                | Self::InputTooLarge { .. }
                | Self::OutputTooLarge { .. }
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
    limits: Limits,
    scratch_dir: Option<PathBuf>,
    video_defaults: VideoOptions,
}

impl Transcoder {
    /// A transcoder using `ffmpeg`, with [`DEFAULT_TIMEOUT`] per run.
    pub fn new(ffmpeg: FfmpegBinary) -> Self {
        Self {
            ffmpeg,
            timeout: DEFAULT_TIMEOUT,
            limits: Limits::default(),
            scratch_dir: None,
            video_defaults: VideoOptions::default(),
        }
    }

    /// The same transcoder with other size caps.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The size caps in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The same transcoder creating its per-run scratch folders inside `dir`
    /// instead of the system's temporary folder (e.g. a volume with room).
    #[must_use]
    pub fn with_scratch_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scratch_dir = Some(dir.into());
        self
    }

    /// The same transcoder with another per-run timeout (e.g. what is left of
    /// a Lambda invocation's deadline).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same transcoder converting uploads that come without options of
    /// their own (S3 uploads) with `options` (e.g. [`VideoOptions::from_env`]).
    #[must_use]
    pub fn with_video_defaults(mut self, options: VideoOptions) -> Self {
        self.video_defaults = options;
        self
    }

    /// The options uploads without options of their own are converted with.
    pub fn video_defaults(&self) -> &VideoOptions {
        &self.video_defaults
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
            Job::Video {
                input,
                output,
                options,
            } => self.video(input, output, options).map(JobOutput::Video),
            Job::Sticker {
                input,
                output,
                options,
            } => self.sticker(input, output, options).map(JobOutput::Sticker),
            Job::Thumbnail { input, options } => {
                self.thumbnail(input, options).map(JobOutput::Thumbnail)
            }
        }
    }

    /// The exact program and arguments one [`Job`] runs, for benchmarks that
    /// compare us with the same ffmpeg run bare. Side outputs (a video's
    /// thumbnail) go next to the job's output; a thumbnail job writes to
    /// `thumbnail.jpg` in the current folder. Not an API for production.
    #[doc(hidden)]
    pub fn command_line(&self, job: &Job) -> std::process::Command {
        let mut command = match job {
            Job::VoiceNote {
                input,
                output,
                options,
            } => voice_note::command(
                &self.ffmpeg,
                input,
                output,
                &output.with_extension("pcm"),
                options,
                self.limits,
            ),
            Job::Video {
                input,
                output,
                options,
            } => crate::video::command(
                &self.ffmpeg,
                input,
                output,
                &output.with_extension("thumb.jpg"),
                options,
                crate::video::plan(input, options),
                self.limits,
            ),
            Job::Sticker {
                input,
                output,
                options,
            } => crate::sticker::command(&self.ffmpeg, input, output, options.quality, self.limits),
            Job::Thumbnail { input, options } => {
                crate::thumbnail::command(&self.ffmpeg, input, Path::new("thumbnail.jpg"), options)
            }
        };
        ffmpeg_run::prepare(&mut command);
        let inner = command.as_inner();
        let mut bare = std::process::Command::new(inner.get_program());
        bare.args(inner.get_args());
        bare
    }

    /// Checks `input` against the request rules before ffmpeg starts: it
    /// must exist and be within [`Limits::max_input_bytes`].
    pub(crate) fn check_input(&self, input: &Path) -> Result<(), TranscodeError> {
        require_input(input)?;
        let limit = self.limits.max_input_bytes;
        match fs::metadata(input) {
            Ok(meta) if meta.is_file() && meta.len() > limit => {
                Err(TranscodeError::InputTooLarge {
                    path: input.to_path_buf(),
                    size: meta.len(),
                    limit,
                })
            }
            _ => Ok(()),
        }
    }

    /// Runs one ffmpeg command under this transcoder's timeout.
    pub(crate) fn run_ffmpeg(&self, mut command: FfmpegCommand) -> Result<(), TranscodeError> {
        Ok(ffmpeg_run::run(&mut command, self.timeout)?)
    }

    /// Reads a file ffmpeg wrote, refusing it if it exceeds `limit` (which
    /// `-fs` lets happen by one chunk: ffmpeg stops, but exits successfully).
    pub(crate) fn read_output(
        &self,
        written: &Path,
        output: &Path,
        limit: u64,
    ) -> Result<Vec<u8>, TranscodeError> {
        let io_error = |source| TranscodeError::Io {
            action: "read the output",
            path: written.to_path_buf(),
            source,
        };
        let size = fs::metadata(written).map_err(io_error)?.len();
        if size > limit {
            return Err(TranscodeError::OutputTooLarge {
                path: output.to_path_buf(),
                limit,
            });
        }
        fs::read(written).map_err(io_error)
    }

    /// A fresh private folder for one run's side files; removed when the
    /// returned guard drops, on success, error or panic alike.
    pub(crate) fn scratch(&self) -> Result<TempDir, TranscodeError> {
        let dir = self.scratch_dir.clone().unwrap_or_else(std::env::temp_dir);
        tempfile::Builder::new()
            .prefix("media-transcode-")
            .tempdir_in(&dir)
            .map_err(|source| TranscodeError::Io {
                action: "create a scratch folder in",
                path: dir,
                source,
            })
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
        self.check_input(input)?;
        let scratch = self.scratch()?;
        let pcm_path = scratch.path().join("waveform.pcm");
        let note = write_atomically(output, |partial| {
            self.run_ffmpeg(voice_note::command(
                &self.ffmpeg,
                input,
                partial,
                &pcm_path,
                options,
                self.limits,
            ))?;
            let bytes = self.read_output(partial, output, self.limits.max_output_bytes)?;
            let info = ogg_opus::parse(&bytes).map_err(|source| TranscodeError::InvalidOutput {
                path: output.to_path_buf(),
                source: source.into(),
            })?;
            let pcm = self.read_output(&pcm_path, &pcm_path, self.limits.max_output_bytes)?;
            let waveform = voice_note::waveform(&pcm);
            Ok(VoiceNote::new(output, &info, bytes.len() as u64, waveform))
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
pub(crate) fn write_atomically<T>(
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
