//! Running one ffmpeg command to completion, with a timeout.
//!
//! Every operation ends up here, so the rules live in one place: ffmpeg never
//! reads our stdin, its log is parsed by ffmpeg-sidecar while it runs, a run
//! that outlives its timeout is killed and reaped, and a failed run reports
//! ffmpeg's own error lines.

use std::{
    collections::VecDeque,
    path::PathBuf,
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use ffmpeg_sidecar::{
    command::FfmpegCommand,
    event::{FfmpegEvent, LogLevel},
};

/// How often the waiting thread checks whether ffmpeg has exited while its
/// log is still open. The wait ends as soon as the log closes (ffmpeg is
/// exiting), so this only bounds how late a timeout is noticed.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// The poll step once ffmpeg's log has closed: its exit is a moment away, and
/// every millisecond here is pure overhead on a short run.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(1);
/// How long to wait for the log reader after ffmpeg exited (it only has the
/// rest of a closed pipe to read).
const LOG_GRACE: Duration = Duration::from_secs(2);
/// How many log lines a failure reason keeps: enough for ffmpeg's cause,
/// bounded so a chatty failure cannot bloat an error response.
const MAX_REASON_LINES: usize = 8;

/// Why running ffmpeg failed. Shared by every operation, so callers can tell
/// "our setup is broken" (spawn) from "this input is bad" (failed) from "this
/// input is too slow" (timed out).
#[derive(Debug, thiserror::Error)]
pub enum FfmpegRunError {
    /// The ffmpeg process could not be started.
    #[error("could not start ffmpeg at {}: {source}", program.display())]
    Spawn {
        /// The executable we tried to run.
        program: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// ffmpeg ran and exited unsuccessfully; `reason` is its own error output.
    #[error("ffmpeg failed ({status}): {reason}")]
    Failed {
        /// The exit status, as the OS describes it.
        status: String,
        /// ffmpeg's error lines (or its last log lines if it printed none).
        reason: String,
    },
    /// ffmpeg was still running when the timeout expired; it was killed.
    #[error("ffmpeg did not finish within {after:?} and was killed")]
    TimedOut {
        /// The timeout that expired.
        after: Duration,
    },
}

/// What ffmpeg printed that matters after a run.
#[derive(Debug, Default)]
struct LogSummary {
    errors: Vec<String>,
    tail: VecDeque<String>,
}

impl LogSummary {
    fn record(&mut self, event: FfmpegEvent) {
        let line = match event {
            FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, line) => {
                if self.errors.len() < MAX_REASON_LINES {
                    self.errors.push(line.trim().to_owned());
                }
                return;
            }
            // `Error` events come from ffmpeg-sidecar itself, not ffmpeg:
            // context, not the cause.
            FfmpegEvent::Log(_, line) | FfmpegEvent::Error(line) => line,
            _ => return,
        };
        if self.tail.len() == MAX_REASON_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.trim().to_owned());
    }

    fn reason(&self) -> String {
        let lines: Vec<&str> = if self.errors.is_empty() {
            self.tail.iter().map(String::as_str).collect()
        } else {
            self.errors.iter().map(String::as_str).collect()
        };
        let reason = lines.join("; ");
        if reason.is_empty() {
            "ffmpeg printed no error message".to_owned()
        } else {
            reason
        }
    }
}

/// Adds the arguments every run carries: `-nostdin`, as ffmpeg must never
/// wait for a keypress, and `-hide_banner`, which keeps the log to what a
/// failure reason needs.
pub(crate) fn prepare(command: &mut FfmpegCommand) {
    command.arg("-nostdin").hide_banner();
}

/// Runs `command` (already holding its inputs and outputs) until it exits or
/// `timeout` passes. Success means exit status 0.
pub(crate) fn run(command: &mut FfmpegCommand, timeout: Duration) -> Result<(), FfmpegRunError> {
    let program = PathBuf::from(command.as_inner().get_program());
    prepare(command);
    tracing::debug!(command = ?command.as_inner(), "starting ffmpeg");
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|source| FfmpegRunError::Spawn { program, source })?;
    drop(child.take_stdin());

    let summary = Arc::new(Mutex::new(LogSummary::default()));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    match child.iter() {
        Ok(events) => {
            let summary = Arc::clone(&summary);
            thread::spawn(move || {
                for event in events {
                    summary.lock().expect("log summary poisoned").record(event);
                }
                let _ = done_tx.send(());
            });
        }
        // Cannot happen (stderr is piped and untaken); run on without a log.
        Err(error) => tracing::warn!(%error, "cannot read ffmpeg's log"),
    }

    let deadline = started + timeout;
    // Closing its log is ffmpeg's first sign of exiting: wait on that rather
    // than sleeping through fixed poll intervals.
    let mut log_open = true;
    let status = loop {
        match child.as_inner_mut().try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                tracing::warn!(?timeout, "ffmpeg timed out; killing it");
                if let Err(error) = child.kill() {
                    tracing::warn!(%error, "could not kill ffmpeg");
                }
                let _ = child.as_inner_mut().wait();
                return Err(FfmpegRunError::TimedOut { after: timeout });
            }
            Ok(None) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if log_open {
                    match done_rx.recv_timeout(left.min(POLL_INTERVAL)) {
                        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => log_open = false,
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                    }
                } else {
                    thread::sleep(left.min(EXIT_POLL_INTERVAL));
                }
            }
            Err(error) => {
                let _ = child.kill();
                let _ = child.as_inner_mut().wait();
                return Err(FfmpegRunError::Failed {
                    status: "unknown".to_owned(),
                    reason: format!("waiting for ffmpeg failed: {error}"),
                });
            }
        }
    };
    // The log reader sees EOF once ffmpeg has exited; give it a moment so the
    // reason below includes ffmpeg's last words.
    if log_open {
        let _ = done_rx.recv_timeout(LOG_GRACE);
    }
    let elapsed = started.elapsed();
    if status.success() {
        tracing::debug!(?elapsed, "ffmpeg finished");
        return Ok(());
    }
    let reason = summary.lock().expect("log summary poisoned").reason();
    tracing::info!(?elapsed, %status, %reason, "ffmpeg failed");
    Err(FfmpegRunError::Failed {
        status: status.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_prefers_error_lines_and_falls_back_to_the_tail() {
        let mut summary = LogSummary::default();
        summary.record(FfmpegEvent::Log(LogLevel::Info, "info line".into()));
        assert_eq!(summary.reason(), "info line");
        summary.record(FfmpegEvent::Log(
            LogLevel::Error,
            "x.wav: Invalid data found when processing input\n".into(),
        ));
        assert_eq!(
            summary.reason(),
            "x.wav: Invalid data found when processing input"
        );
    }

    #[test]
    fn reason_is_bounded() {
        let mut summary = LogSummary::default();
        for n in 0..100 {
            summary.record(FfmpegEvent::Log(LogLevel::Info, format!("line {n}")));
        }
        assert_eq!(summary.tail.len(), MAX_REASON_LINES);
        assert!(summary.reason().ends_with("line 99"));
    }
}
