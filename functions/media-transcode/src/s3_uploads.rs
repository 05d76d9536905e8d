//! Transcoding uploads in S3: for an object created under
//! `<prefix>incoming/`, fetch it, run the job its kind calls for, and store
//! the results under `<prefix>transcoded/` (see [`crate::layout`]). Results
//! that already exist are not made again, so an event delivered twice
//! (S3 notifications are at-least-once, and Lambda retries failed ones)
//! costs one HEAD per result.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use serde::Serialize;
use thiserror::Error;

use crate::layout::{MediaKind, MediaLayout, OutputObject, Upload};
use crate::s3_event::S3EventRecord;
use crate::{ThumbnailOptions, TranscodeError, Transcoder, VoiceNoteOptions};

/// Why one upload could not be transcoded.
#[derive(Debug, Error)]
pub enum UploadError {
    /// The upload could not be read (gone, no permission, S3 unreachable).
    #[error("cannot read s3://{bucket}/{key}: {reason}")]
    Read {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// S3's error.
        reason: String,
    },
    /// A result could not be written or checked.
    #[error("cannot write s3://{bucket}/{key}: {reason}")]
    Write {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// S3's error.
        reason: String,
    },
    /// Neither its content type nor its extension says audio, video or image.
    #[error("s3://{bucket}/{key} is not audio, video or an image (content type {content_type:?})")]
    Unsupported {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What S3 says it is.
        content_type: Option<String>,
    },
    /// Larger than the transcoder's input limit; not downloaded.
    #[error("s3://{bucket}/{key} has {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// ffmpeg could not make the result (a broken upload, a timeout, …).
    #[error("transcoding s3://{bucket}/{key} failed: {source}")]
    Transcode {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The library's error.
        #[source]
        source: TranscodeError,
    },
    /// Local scratch space failed (`/tmp` full).
    #[error("scratch space for {key}: {reason}")]
    Scratch {
        /// The key.
        key: String,
        /// The I/O error.
        reason: String,
    },
}

impl UploadError {
    /// A stable name for the failure, the Lambda's `errorType`: the library's
    /// kinds for transcoding failures (`FfmpegFailed`, …), else S3's side.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Read { .. } => "S3ReadFailed",
            Self::Write { .. } => "S3WriteFailed",
            Self::Unsupported { .. } => "UnsupportedMedia",
            Self::TooLarge { .. } => "InputTooLarge",
            Self::Transcode { source, .. } => source.kind(),
            Self::Scratch { .. } => "IoFailed",
        }
    }
}

/// What became of one event record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RecordOutcome {
    /// The results were made and stored.
    Transcoded {
        /// The upload.
        key: String,
        /// The results written.
        outputs: Vec<StoredOutput>,
    },
    /// Every result already existed: nothing was fetched or written.
    AlreadyTranscoded {
        /// The upload.
        key: String,
        /// The results found.
        outputs: Vec<String>,
    },
    /// Not an upload this function handles (another prefix, another name,
    /// another event): nothing done.
    Ignored {
        /// The key, decoded when it could be.
        key: String,
        /// Why.
        reason: String,
    },
}

/// One result written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredOutput {
    /// Its key.
    pub key: String,
    /// Its content type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// What the transcoder measured, also stored as the object's metadata
    /// (`x-amz-meta-*`): duration, waveform, dimensions.
    pub metadata: HashMap<String, String>,
}

/// Transcodes uploads of one bucket layout.
#[derive(Debug, Clone)]
pub struct UploadTranscoder {
    client: Client,
    layout: MediaLayout,
    transcoder: Transcoder,
}

impl UploadTranscoder {
    /// Transcodes with `transcoder`, reading and writing through `client`.
    pub fn new(client: Client, layout: MediaLayout, transcoder: Transcoder) -> Self {
        Self {
            client,
            layout,
            transcoder,
        }
    }

    /// The same, with another transcoder (e.g. a timeout cut to a deadline).
    pub fn with_transcoder(&self, transcoder: Transcoder) -> Self {
        Self {
            transcoder,
            ..self.clone()
        }
    }

    /// Handles one record of an S3 event.
    pub async fn handle(&self, record: &S3EventRecord) -> Result<RecordOutcome, UploadError> {
        let bucket = record.s3.bucket.name.as_str();
        let Some(key) = record.key() else {
            return Ok(RecordOutcome::Ignored {
                key: record.s3.object.key.clone(),
                reason: "the key's URL encoding is broken".into(),
            });
        };
        if !record.is_object_created() {
            return Ok(RecordOutcome::Ignored {
                key,
                reason: format!("{} is not an object creation", record.event_name),
            });
        }
        let upload = match self.layout.upload(&key) {
            Ok(upload) => upload,
            Err(reason) => return Ok(RecordOutcome::Ignored { key, reason }),
        };

        let read_error = |reason: String| UploadError::Read {
            bucket: bucket.to_owned(),
            key: key.clone(),
            reason,
        };
        let head = self
            .client
            .head_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| read_error(DisplayErrorContext(&e).to_string()))?;
        let content_type = head.content_type().map(str::to_owned);
        let Some(kind) = MediaKind::detect(content_type.as_deref(), &upload.extension) else {
            return Err(UploadError::Unsupported {
                bucket: bucket.to_owned(),
                key,
                content_type,
            });
        };
        let size = head.content_length().unwrap_or_default().max(0) as u64;
        let limit = self.transcoder.limits().max_input_bytes;
        if size > limit {
            return Err(UploadError::TooLarge {
                bucket: bucket.to_owned(),
                key,
                size,
                limit,
            });
        }

        let outputs = self.layout.outputs(&upload, kind);
        if self.all_exist(bucket, &outputs).await? {
            tracing::info!(key, "already transcoded; nothing to do");
            return Ok(RecordOutcome::AlreadyTranscoded {
                key,
                outputs: outputs.into_iter().map(|o| o.key).collect(),
            });
        }

        let scratch = tempfile::tempdir().map_err(|e| UploadError::Scratch {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        let input = scratch.path().join(format!("input.{}", upload.extension));
        self.download(bucket, &key, &input).await?;
        let made = self
            .transcode(bucket, &upload, kind, &input, scratch.path())
            .await?;
        let mut stored = Vec::new();
        for (output, (file, metadata)) in outputs.iter().zip(made) {
            stored.push(self.store(bucket, &upload, output, &file, metadata).await?);
        }
        tracing::info!(key, outputs = stored.len(), "transcoded");
        Ok(RecordOutcome::Transcoded {
            key,
            outputs: stored,
        })
    }

    async fn all_exist(&self, bucket: &str, outputs: &[OutputObject]) -> Result<bool, UploadError> {
        for output in outputs {
            match self
                .client
                .head_object()
                .bucket(bucket)
                .key(&output.key)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                    return Ok(false);
                }
                Err(e) => {
                    return Err(UploadError::Write {
                        bucket: bucket.to_owned(),
                        key: output.key.clone(),
                        reason: format!("checking for it: {}", DisplayErrorContext(&e)),
                    });
                }
            }
        }
        Ok(true)
    }

    async fn download(&self, bucket: &str, key: &str, path: &Path) -> Result<(), UploadError> {
        let error = |reason: String| UploadError::Read {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            reason,
        };
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| error(DisplayErrorContext(&e).to_string()))?;
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| error(format!("creating {}: {e}", path.display())))?;
        let mut body = object.body.into_async_read();
        tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(|e| error(e.to_string()))?;
        Ok(())
    }

    /// Runs the job for `kind`; one local file and its metadata per output,
    /// in [`MediaLayout::outputs`] order.
    async fn transcode(
        &self,
        bucket: &str,
        upload: &Upload,
        kind: MediaKind,
        input: &Path,
        scratch: &Path,
    ) -> Result<Vec<(std::path::PathBuf, HashMap<String, String>)>, UploadError> {
        let transcoder = self.transcoder.clone();
        let (input, scratch) = (input.to_owned(), scratch.to_owned());
        let source = upload.key.clone();
        let run = move || -> Result<_, TranscodeError> {
            let base = HashMap::from([("source-key".to_owned(), source)]);
            let with = |pairs: Vec<(&str, String)>| {
                let mut metadata = base.clone();
                metadata.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)));
                metadata
            };
            let thumbnail_file = |jpeg: &[u8]| -> Result<std::path::PathBuf, TranscodeError> {
                let path = scratch.join("thumbnail.jpg");
                std::fs::write(&path, jpeg).map_err(|e| TranscodeError::Io {
                    action: "writing the thumbnail",
                    path: path.clone(),
                    source: e,
                })?;
                Ok(path)
            };
            Ok(match kind {
                MediaKind::Audio => {
                    let output = scratch.join("note.ogg");
                    let note =
                        transcoder.voice_note(&input, &output, &VoiceNoteOptions::default())?;
                    let waveform = base64::engine::general_purpose::STANDARD.encode(&note.waveform);
                    vec![(
                        output,
                        with(vec![
                            ("duration-ms", note.duration_ms.to_string()),
                            ("seconds", note.seconds.to_string()),
                            ("waveform", waveform),
                        ]),
                    )]
                }
                MediaKind::Video => {
                    let output = scratch.join("video.mp4");
                    let video = transcoder.video(&input, &output, transcoder.video_defaults())?;
                    let thumbnail = thumbnail_file(&video.thumbnail.jpeg)?;
                    vec![
                        (
                            output,
                            with(vec![
                                ("width", video.width.to_string()),
                                ("height", video.height.to_string()),
                                ("duration-ms", video.duration_ms.to_string()),
                                ("seconds", video.seconds.to_string()),
                            ]),
                        ),
                        (
                            thumbnail,
                            with(vec![
                                ("width", video.thumbnail.width.to_string()),
                                ("height", video.thumbnail.height.to_string()),
                            ]),
                        ),
                    ]
                }
                MediaKind::Image => {
                    let thumb = transcoder.thumbnail(&input, &ThumbnailOptions::default())?;
                    vec![(
                        thumbnail_file(&thumb.jpeg)?,
                        with(vec![
                            ("width", thumb.width.to_string()),
                            ("height", thumb.height.to_string()),
                        ]),
                    )]
                }
            })
        };
        let transcode_error = |source: TranscodeError| UploadError::Transcode {
            bucket: bucket.to_owned(),
            key: upload.key.clone(),
            source,
        };
        match tokio::task::spawn_blocking(run).await {
            Ok(result) => result.map_err(transcode_error),
            Err(join) => Err(UploadError::Scratch {
                key: upload.key.clone(),
                reason: format!("the transcoding task stopped: {join}"),
            }),
        }
    }

    async fn store(
        &self,
        bucket: &str,
        upload: &Upload,
        output: &OutputObject,
        file: &Path,
        metadata: HashMap<String, String>,
    ) -> Result<StoredOutput, UploadError> {
        let error = |reason: String| UploadError::Write {
            bucket: bucket.to_owned(),
            key: output.key.clone(),
            reason,
        };
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|e| error(e.to_string()))?
            .len();
        let body = ByteStream::from_path(file)
            .await
            .map_err(|e| error(e.to_string()))?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(&output.key)
            .content_type(output.content_type)
            .set_metadata(Some(metadata.clone()))
            .body(body)
            .send()
            .await
            .map_err(|e| error(DisplayErrorContext(&e).to_string()))?;
        tracing::debug!(source = upload.key, key = output.key, size, "stored");
        Ok(StoredOutput {
            key: output.key.clone(),
            content_type: output.content_type.to_owned(),
            size,
            metadata,
        })
    }
}
