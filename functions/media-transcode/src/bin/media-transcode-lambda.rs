//! The media-transcode AWS Lambda function: a thin wrapper that decodes a
//! [`Job`], runs it on the library's [`Transcoder`] and returns its
//! [`JobOutput`], or an error whose `errorType` is the failure's kind.
//!
//! Configuration (environment): `FFMPEG_PATH` (else ffmpeg on `PATH`, e.g. a
//! layer's `/opt/bin`), `TRANSCODE_TIMEOUT_SECS` (default 120; each run is
//! also cut to what is left of the invocation's deadline),
//! `TRANSCODE_MAX_INPUT_BYTES` / `TRANSCODE_MAX_OUTPUT_BYTES` (the library's
//! [`Limits`] defaults otherwise), `RUST_LOG`.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use media_transcode::{
    DEFAULT_TIMEOUT, FfmpegBinary, Job, JobOutput, Limits, LocateError, TranscodeError, Transcoder,
};

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
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Locate(_) => "FfmpegNotFound",
            HandlerError::Transcode(error) => error.kind(),
            HandlerError::Task(_) => "TaskFailed",
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
    let transcoder = Arc::new(
        FfmpegBinary::from_env()
            .inspect(|ffmpeg| tracing::info!(ffmpeg = %ffmpeg.path().display(), "ffmpeg found"))
            .inspect_err(|error| tracing::error!(%error, "ffmpeg not found"))
            .map(|ffmpeg| {
                Transcoder::new(ffmpeg)
                    .with_timeout(timeout)
                    .with_limits(limits)
            }),
    );

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Job>| {
        let transcoder = Arc::clone(&transcoder);
        async move { handle(&transcoder, event).await }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
    .context("the Lambda runtime stopped")
}

async fn handle(
    transcoder: &Result<Transcoder, LocateError>,
    event: LambdaEvent<Job>,
) -> Result<JobOutput, HandlerError> {
    let transcoder = transcoder.as_ref().map_err(LocateError::clone)?;
    let transcoder = transcoder
        .clone()
        .with_timeout(run_timeout(transcoder.timeout(), event.context.deadline()));
    let job = event.payload;
    tracing::info!(request_id = %event.context.request_id, ?job, "transcoding");
    let output = tokio::task::spawn_blocking(move || transcoder.run(&job)).await??;
    Ok(output)
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
