//! The media-transcode AWS Lambda function, a thin wrapper over the library.
//! It takes two payloads:
//!
//! - a [`Job`] on local paths (direct invocation): runs it and returns its
//!   [`JobOutput`];
//! - an S3 event (the bucket's `ObjectCreated` trigger, told apart by its
//!   `Records`): each upload under `<MEDIA_PREFIX>/incoming/` is fetched,
//!   transcoded and stored under `<MEDIA_PREFIX>/transcoded/`
//!   ([`UploadTranscoder`]), skipping results that already exist; the answer
//!   lists what became of each record.
//!
//! Failures are errors whose `errorType` is the failure's kind
//! (`FfmpegFailed`, `S3ReadFailed`, …); for an S3 event, the first failed
//! record's, after every record was tried.
//!
//! Configuration (environment): `FFMPEG_PATH` (else ffmpeg on `PATH`, e.g. a
//! layer's `/opt/bin`), `TRANSCODE_TIMEOUT_SECS` (default 120; each run is
//! also cut to what is left of the invocation's deadline),
//! `TRANSCODE_MAX_INPUT_BYTES` / `TRANSCODE_MAX_OUTPUT_BYTES` (the library's
//! [`Limits`] defaults otherwise), `MEDIA_PREFIX` (the media key prefix in the
//! bucket, Terraform's `media_prefix`; empty: the bucket root),
//! `S3_FORCE_PATH_STYLE` (`true` for S3-compatible servers), `RUST_LOG`.
//! Region, credentials and endpoint come from the standard AWS chain
//! (`AWS_REGION`, the execution role, `AWS_ENDPOINT_URL_S3`).

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use media_transcode::{
    DEFAULT_TIMEOUT, FfmpegBinary, Job, JobOutput, Limits, LocateError, TranscodeError, Transcoder,
    VideoOptions,
    layout::MediaLayout,
    s3_event::S3Event,
    s3_uploads::{RecordOutcome, UploadError, UploadTranscoder},
};
use serde_json::Value;

/// Time kept back from the deadline to report the outcome.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);
/// The shortest run we start at all when the deadline is near.
const MIN_RUN: Duration = Duration::from_secs(1);

/// What an invocation can fail with; becomes the runtime's error report.
#[derive(Debug, thiserror::Error)]
enum HandlerError {
    /// ffmpeg was not found at start-up; every invocation reports it, so the
    /// misconfiguration is visible to the caller rather than only in logs.
    #[error(transparent)]
    Locate(#[from] LocateError),
    #[error(transparent)]
    Transcode(#[from] TranscodeError),
    #[error("the transcoding task stopped unexpectedly: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Neither a job nor an S3 event.
    #[error("the payload is not a transcoding job: {0}")]
    InvalidJob(serde_json::Error),
    /// The S3 event's shape is wrong.
    #[error("the payload is not an S3 event: {0}")]
    InvalidEvent(serde_json::Error),
    /// Records of an S3 event that failed (the others were handled).
    #[error("{}", describe(.0))]
    Uploads(Vec<UploadError>),
}

fn describe(failures: &[UploadError]) -> String {
    let lines: Vec<String> = failures.iter().map(ToString::to_string).collect();
    lines.join("; ")
}

/// What one invocation answers.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
enum Answer {
    Job(JobOutput),
    Uploads { records: Vec<RecordOutcome> },
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Locate(_) => "FfmpegNotFound",
            HandlerError::Transcode(error) => error.kind(),
            HandlerError::Task(_) => "TaskFailed",
            HandlerError::InvalidJob(_) => "InvalidJob",
            HandlerError::InvalidEvent(_) => "InvalidEvent",
            HandlerError::Uploads(failures) => failures.first().map_or("Failed", UploadError::kind),
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time() // CloudWatch stamps every line already
        .init();

    let timeout = configured_timeout()?;
    let limits = configured_limits()?;
    let video = VideoOptions::from_env()
        .map_err(|error| anyhow::anyhow!(error))
        .context("the FFMPEG_* / WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION settings")?;
    let transcoder = Arc::new(
        FfmpegBinary::from_env()
            .inspect(|ffmpeg| tracing::info!(ffmpeg = %ffmpeg.path().display(), "ffmpeg found"))
            .inspect_err(|error| tracing::error!(%error, "ffmpeg not found"))
            .map(|ffmpeg| {
                Transcoder::new(ffmpeg)
                    .with_timeout(timeout)
                    .with_limits(limits)
                    .with_video_defaults(video.clone())
            }),
    );

    let s3 = s3_client().await;
    let layout = MediaLayout::new(&std::env::var("MEDIA_PREFIX").unwrap_or_default());
    tracing::info!(incoming = layout.incoming_prefix(), "watching uploads");

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let transcoder = Arc::clone(&transcoder);
        let (s3, layout) = (s3.clone(), layout.clone());
        async move { handle(&transcoder, &s3, &layout, event).await }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
    .context("the Lambda runtime stopped")
}

/// The S3 client from the standard AWS chain. With an endpoint of its own
/// (`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`: an S3-compatible server),
/// checksums are sent only where S3 requires them, as `wa-media` does.
async fn s3_client() -> aws_sdk_s3::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let custom_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    let path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true" || v == "1");
    let mut config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(path_style);
    if custom_endpoint {
        config = config
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            );
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

async fn handle(
    transcoder: &Result<Transcoder, LocateError>,
    s3: &aws_sdk_s3::Client,
    layout: &MediaLayout,
    event: LambdaEvent<Value>,
) -> Result<Answer, HandlerError> {
    let transcoder = transcoder.as_ref().map_err(LocateError::clone)?;
    let transcoder = transcoder
        .clone()
        .with_timeout(run_timeout(transcoder.timeout(), event.context.deadline()));
    let request_id = event.context.request_id;
    if event.payload.get("Records").is_some() {
        let event: S3Event =
            serde_json::from_value(event.payload).map_err(HandlerError::InvalidEvent)?;
        let uploads = UploadTranscoder::new(s3.clone(), layout.clone(), transcoder);
        let mut records = Vec::new();
        let mut failures = Vec::new();
        for record in &event.records {
            match uploads.handle(record).await {
                Ok(outcome) => {
                    if let RecordOutcome::Ignored { key, reason } = &outcome {
                        tracing::warn!(%request_id, key, reason, "record ignored");
                    }
                    records.push(outcome);
                }
                Err(error) => {
                    tracing::error!(%request_id, kind = error.kind(), %error, "upload not transcoded");
                    failures.push(error);
                }
            }
        }
        return if failures.is_empty() {
            Ok(Answer::Uploads { records })
        } else {
            Err(HandlerError::Uploads(failures))
        };
    }
    let job: Job = serde_json::from_value(event.payload).map_err(HandlerError::InvalidJob)?;
    tracing::info!(%request_id, ?job, "transcoding");
    let output = tokio::task::spawn_blocking(move || transcoder.run(&job)).await??;
    Ok(Answer::Job(output))
}

/// The configured per-run timeout, cut to what is left before `deadline`.
fn run_timeout(configured: Duration, deadline: SystemTime) -> Duration {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN);
    configured.min(left).max(MIN_RUN)
}

fn configured_timeout() -> anyhow::Result<Duration> {
    match std::env::var("TRANSCODE_TIMEOUT_SECS") {
        Ok(secs) => secs
            .parse()
            .map(Duration::from_secs)
            .with_context(|| format!("TRANSCODE_TIMEOUT_SECS={secs:?} is not a number of seconds")),
        Err(_) => Ok(DEFAULT_TIMEOUT),
    }
}

fn configured_limits() -> anyhow::Result<Limits> {
    let mut limits = Limits::default();
    for (name, field) in [
        ("TRANSCODE_MAX_INPUT_BYTES", &mut limits.max_input_bytes),
        ("TRANSCODE_MAX_OUTPUT_BYTES", &mut limits.max_output_bytes),
    ] {
        if let Ok(value) = std::env::var(name) {
            *field = value
                .parse()
                .with_context(|| format!("{name}={value:?} is not a number of bytes"))?;
        }
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_timeout_is_cut_to_the_deadline_but_never_below_the_minimum() {
        let far = SystemTime::now() + Duration::from_secs(900);
        assert_eq!(run_timeout(DEFAULT_TIMEOUT, far), DEFAULT_TIMEOUT);
        let near = SystemTime::now() + Duration::from_secs(30);
        let cut = run_timeout(DEFAULT_TIMEOUT, near);
        assert!(
            cut <= Duration::from_secs(28) && cut > Duration::from_secs(26),
            "{cut:?}"
        );
        assert_eq!(
            run_timeout(DEFAULT_TIMEOUT, SystemTime::UNIX_EPOCH),
            MIN_RUN
        );
    }
}
