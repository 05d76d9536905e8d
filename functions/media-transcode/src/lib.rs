//! Media transcoding with ffmpeg, as a library and an AWS Lambda function.
//!
//! The gateway must hand WhatsApp media in the exact shapes its clients accept
//! (voice notes as Opus in OGG, video as H.264/AAC MP4 with faststart, WebP
//! stickers and JPEG thumbnails). Doing that with ffmpeg keeps us off native codec bindings, and
//! running ffmpeg as a child process keeps a crashing or hanging decoder out of
//! our address space: every run has a timeout and a typed error.
//!
//! The pieces, one job each:
//! - [`FfmpegBinary`] finds ffmpeg on `PATH` or at a configured path, and never
//!   downloads it.
//! - [`Transcoder`] runs one operation ([`Transcoder::voice_note`],
//!   [`Transcoder::video`], [`Transcoder::sticker`], [`Transcoder::thumbnail`])
//!   within [`Limits`] and a timeout, and checks what ffmpeg wrote; side files
//!   live in a scratch folder removed on every path.
//! - [`Job`] / [`JobOutput`] are the serde shapes the Lambda function (and later
//!   queue consumers) accept and answer with.
//! - [`layout`] is where uploads and results live in the media bucket, and
//!   [`s3_event`] the S3 notification naming an upload; with feature `s3`,
//!   [`s3_uploads`] fetches an upload, transcodes it and stores the results.
//! - [`ogg_opus`] reads an OGG/Opus file's header and exact duration without
//!   running ffprobe; [`mp4`] reads an MP4's box layout (faststart, tracks).
//!
//! The API is blocking (ffmpeg runs in a child process that we wait on): from
//! async code, call it inside `tokio::task::spawn_blocking`.
#![warn(missing_docs)]

pub mod encoder_env;
mod ffmpeg_run;
mod job;
pub mod layout;
mod locate;
pub mod mp4;
pub mod ogg_opus;
pub mod s3_event;
#[cfg(feature = "s3")]
pub mod s3_uploads;
mod sticker;
mod still;
mod thumbnail;
mod transcoder;
mod video;
mod voice_note;

pub use ffmpeg_run::FfmpegRunError;
pub use job::{Job, JobOutput};
pub use locate::{FFMPEG_PATH_ENV, FfmpegBinary, LocateError};
pub use sticker::{STICKER_SIZE, Sticker, StickerOptions};
pub use thumbnail::{Thumbnail, ThumbnailOptions};
pub use transcoder::{DEFAULT_TIMEOUT, Limits, OutputError, TranscodeError, Transcoder};
pub use video::{VIDEO_PRESETS, Video, VideoOptions};
pub use voice_note::{OpusSampleRate, VoiceNote, VoiceNoteOptions, WAVEFORM_POINTS};
