//! The serde shapes of a transcoding request and its answer.
//!
//! The Lambda function, and later queue consumers and the embedded host, all
//! receive the same JSON, so the shapes live in the library rather than in
//! one binary. `op` names the operation; new operations are new variants.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{VoiceNote, VoiceNoteOptions};

/// One transcoding request, e.g.
/// `{"op":"voice_note","input":"/tmp/in.m4a","output":"/tmp/out.ogg"}`.
///
/// Paths are local files (the Lambda's `/tmp`); fetching from and storing to
/// S3 wraps around this in a later issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Job {
    /// Convert any audio to a WhatsApp voice note (Opus in OGG, mono).
    VoiceNote {
        /// The audio (or video with audio) to convert.
        input: PathBuf,
        /// Where to write the voice note; replaced if it exists.
        output: PathBuf,
        /// Encoding choices; defaults when omitted.
        #[serde(default)]
        options: VoiceNoteOptions,
    },
}

/// The answer to a [`Job`], tagged with the same `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JobOutput {
    /// The voice note that was written.
    VoiceNote(VoiceNote),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn voice_note_job_round_trips_with_default_options() {
        let job: Job = serde_json::from_value(json!({
            "op": "voice_note", "input": "/tmp/a.wav", "output": "/tmp/a.ogg"
        }))
        .unwrap();
        assert_eq!(
            job,
            Job::VoiceNote {
                input: "/tmp/a.wav".into(),
                output: "/tmp/a.ogg".into(),
                options: VoiceNoteOptions::default(),
            }
        );
        let back = serde_json::to_value(&job).unwrap();
        assert_eq!(back["op"], "voice_note");
        assert_eq!(back["options"]["sample_rate"], 48_000);
    }

    #[test]
    fn unknown_op_is_rejected() {
        let err = serde_json::from_value::<Job>(json!({"op": "explode", "input": "x"}));
        assert!(err.unwrap_err().to_string().contains("explode"));
    }
}
