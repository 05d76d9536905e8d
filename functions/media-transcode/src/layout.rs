//! Where uploads and results live in the media bucket, as the Terraform
//! module declares it (`locals` in `terraform/modules/wa-gateway/main.tf`):
//! uploads under `<prefix>incoming/<sha256>.<ext>`, results under
//! `<prefix>transcoded/`, named after the upload's content hash so that the
//! result of an upload can be found without asking anyone, and a repeated
//! event finds the work already done.

/// What an upload is, deciding what is made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// Becomes a voice note (Opus in OGG).
    Audio,
    /// Becomes an H.264/AAC MP4 and a JPEG preview.
    Video,
    /// Gets a JPEG preview.
    Image,
}

impl MediaKind {
    /// The kind by content type (`audio/*`, `video/*`, `image/*`), else by
    /// file extension; `None` for anything else.
    pub fn detect(content_type: Option<&str>, extension: &str) -> Option<Self> {
        let by_type = content_type
            .and_then(|t| t.split('/').next())
            .map(|t| t.trim().to_ascii_lowercase());
        match by_type.as_deref() {
            Some("audio") => return Some(Self::Audio),
            Some("video") => return Some(Self::Video),
            Some("image") => return Some(Self::Image),
            _ => {}
        }
        match extension.to_ascii_lowercase().as_str() {
            "ogg" | "oga" | "opus" | "mp3" | "m4a" | "aac" | "wav" | "amr" | "flac" | "weba" => {
                Some(Self::Audio)
            }
            "mp4" | "m4v" | "mov" | "avi" | "mkv" | "webm" | "3gp" | "mpeg" | "mpg" => {
                Some(Self::Video)
            }
            "jpg" | "jpeg" | "png" | "webp" | "gif" | "bmp" | "heic" | "tif" | "tiff" => {
                Some(Self::Image)
            }
            _ => None,
        }
    }
}

/// An object under `incoming/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The object's key.
    pub key: String,
    /// The SHA-256 of its content, lowercase hex (its name).
    pub sha256: String,
    /// Its extension, without the dot.
    pub extension: String,
}

/// One result object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputObject {
    /// Its key.
    pub key: String,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// The bucket's key layout under one media prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLayout {
    prefix: String,
}

impl MediaLayout {
    /// The layout under `prefix` (Terraform's `media_prefix`, e.g. `media`;
    /// empty for the bucket root). Slashes around it do not matter.
    pub fn new(prefix: &str) -> Self {
        let trimmed = prefix.trim_matches('/');
        Self {
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            },
        }
    }

    /// `<prefix>incoming/`: uploads to transcode.
    pub fn incoming_prefix(&self) -> String {
        format!("{}incoming/", self.prefix)
    }

    /// `<prefix>transcoded/`: results.
    pub fn transcoded_prefix(&self) -> String {
        format!("{}transcoded/", self.prefix)
    }

    /// The upload `key` names, or why it is not one this function transcodes.
    pub fn upload(&self, key: &str) -> Result<Upload, String> {
        let incoming = self.incoming_prefix();
        let name = key
            .strip_prefix(&incoming)
            .ok_or_else(|| format!("`{key}` is not under `{incoming}`"))?;
        let (sha256, extension) = name
            .split_once('.')
            .ok_or_else(|| format!("`{key}` has no extension"))?;
        let is_hash = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hash || extension.is_empty() || extension.contains(['/', '.']) {
            return Err(format!(
                "`{key}` is not named `<sha256>.<extension>` under `{incoming}`"
            ));
        }
        Ok(Upload {
            key: key.to_owned(),
            sha256: sha256.to_owned(),
            extension: extension.to_owned(),
        })
    }

    /// The results made of `upload` as `kind`: a voice note
    /// (`<sha256>.ogg`), a video (`<sha256>.mp4`) and its preview, or an
    /// image's preview (`<sha256>.thumbnail.jpg`).
    pub fn outputs(&self, upload: &Upload, kind: MediaKind) -> Vec<OutputObject> {
        let base = format!("{}{}", self.transcoded_prefix(), upload.sha256);
        let thumbnail = OutputObject {
            key: format!("{base}.thumbnail.jpg"),
            content_type: "image/jpeg",
        };
        match kind {
            MediaKind::Audio => vec![OutputObject {
                key: format!("{base}.ogg"),
                content_type: "audio/ogg; codecs=opus",
            }],
            MediaKind::Video => vec![
                OutputObject {
                    key: format!("{base}.mp4"),
                    content_type: "video/mp4",
                },
                thumbnail,
            ],
            MediaKind::Image => vec![thumbnail],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn prefixes_follow_terraform() {
        for prefix in ["media", "/media/", "media/"] {
            let layout = MediaLayout::new(prefix);
            assert_eq!(layout.incoming_prefix(), "media/incoming/");
            assert_eq!(layout.transcoded_prefix(), "media/transcoded/");
        }
        assert_eq!(MediaLayout::new("").incoming_prefix(), "incoming/");
    }

    #[test]
    fn uploads_are_content_hashes_with_an_extension() {
        let layout = MediaLayout::new("media");
        let upload = layout.upload(&format!("media/incoming/{SHA}.m4a")).unwrap();
        assert_eq!(
            (upload.sha256.as_str(), upload.extension.as_str()),
            (SHA, "m4a")
        );
        for key in [
            format!("media/transcoded/{SHA}.ogg"),
            format!("media/incoming/{SHA}"),
            format!("media/incoming/{}.ogg", &SHA[1..]),
            format!("media/incoming/{}.ogg", SHA.to_uppercase()),
            format!("media/incoming/x/{SHA}.ogg"),
            "media/incoming/my voice.ogg".to_owned(),
        ] {
            assert!(layout.upload(&key).is_err(), "{key}");
        }
    }

    #[test]
    fn outputs_are_named_after_the_upload() {
        let layout = MediaLayout::new("media");
        let upload = layout.upload(&format!("media/incoming/{SHA}.mov")).unwrap();
        let keys: Vec<String> = layout
            .outputs(&upload, MediaKind::Video)
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(
            keys,
            [
                format!("media/transcoded/{SHA}.mp4"),
                format!("media/transcoded/{SHA}.thumbnail.jpg")
            ]
        );
        assert_eq!(
            layout.outputs(&upload, MediaKind::Audio)[0].content_type,
            "audio/ogg; codecs=opus"
        );
    }

    #[test]
    fn kinds_by_content_type_then_extension() {
        assert_eq!(
            MediaKind::detect(Some("audio/mp4"), "mp4"),
            Some(MediaKind::Audio)
        );
        assert_eq!(
            MediaKind::detect(Some("application/octet-stream"), "WAV"),
            Some(MediaKind::Audio)
        );
        assert_eq!(MediaKind::detect(None, "mov"), Some(MediaKind::Video));
        assert_eq!(MediaKind::detect(None, "png"), Some(MediaKind::Image));
        assert_eq!(MediaKind::detect(Some("text/plain"), "txt"), None);
    }
}
