//! The serde shapes of a transcoding request and its answer.
//!
//! The Lambda function, and later queue consumers and the embedded host, all
//! receive the same JSON, so the shapes live in the library rather than in
//! one binary. `op` names the operation; new operations are new variants.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    Sticker, StickerOptions, Thumbnail, ThumbnailOptions, Video, VideoOptions, VoiceNote,
    VoiceNoteOptions,
};

/// One transcoding request, e.g.
/// `{"op":"voice_note","input":"/tmp/in.m4a","output":"/tmp/out.ogg"}`.
///
/// Paths are local files (the Lambda's `/tmp`): the connector calls the
/// library in-process with paths. Uploads in S3 are transcoded by
/// [`crate::s3_uploads`] on the bucket's events instead.
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
    /// Convert any video to H.264/AAC MP4 with faststart and a preview.
    Video {
        /// The video to convert.
        input: PathBuf,
        /// Where to write the MP4; replaced if it exists.
        output: PathBuf,
        /// Encoding choices; defaults when omitted.
        #[serde(default)]
        options: VideoOptions,
    },
    /// Convert an image to a 512×512 WebP sticker.
    Sticker {
        /// The image to convert.
        input: PathBuf,
        /// Where to write the WebP; replaced if it exists.
        output: PathBuf,
        /// Quality and size target; defaults when omitted.
        #[serde(default)]
        options: StickerOptions,
    },
    /// Make a small JPEG preview of an image or video, answered inline.
    Thumbnail {
        /// The image or video.
        input: PathBuf,
        /// Size and quality; defaults when omitted.
        #[serde(default)]
        options: ThumbnailOptions,
    },
}

/// The answer to a [`Job`], tagged with the same `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JobOutput {
    /// The voice note that was written.
    VoiceNote(VoiceNote),
    /// The video that was written, with its preview.
    Video(Video),
    /// The sticker that was written.
    Sticker(Sticker),
    /// The preview, as base64 JPEG.
    Thumbnail(Thumbnail),
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
    fn new_operations_parse_with_default_options() {
        let job: Job = serde_json::from_value(json!({
            "op": "video", "input": "/tmp/a.mov", "output": "/tmp/a.mp4",
            "options": {"compress": true}
        }))
        .unwrap();
        let Job::Video { options, .. } = job else {
            panic!("{job:?}")
        };
        assert!(options.compress);
        assert_eq!(options.crf, 23);
        let job: Job =
            serde_json::from_value(json!({"op": "thumbnail", "input": "/tmp/a.png"})).unwrap();
        assert!(matches!(job, Job::Thumbnail { .. }));
        let job: Job = serde_json::from_value(
            json!({"op": "sticker", "input": "/tmp/a.png", "output": "/tmp/a.webp"}),
        )
        .unwrap();
        assert!(matches!(job, Job::Sticker { options, .. } if options.max_bytes == 100_000));
    }

    #[test]
    fn unknown_op_is_rejected() {
        let err = serde_json::from_value::<Job>(json!({"op": "explode", "input": "x"}));
        assert!(err.unwrap_err().to_string().contains("explode"));
    }
}
