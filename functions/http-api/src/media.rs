//! Media a client sends: an uploaded file or a URL to fetch, checked against
//! the configured size limits before anything is stored.

use bytes::Bytes;
use http::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::fetch::{self, Fetch, FetchError, Overflow};
use crate::input::Input;

/// Which size limit applies (GOWA's defaults, overridable by environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Images and stickers: 20 MB (`WHATSAPP_MAX_FILE_SIZE_IMAGE`).
    Image,
    /// Documents: 50 MB (`WHATSAPP_MAX_FILE_SIZE_DOCUMENT`).
    Document,
    /// Videos: 100 MB (`WHATSAPP_MAX_FILE_SIZE_VIDEO`).
    Video,
    /// Audio: 16 MB (`WHATSAPP_MAX_FILE_SIZE_AUDIO`).
    Audio,
}

const MB: u64 = 1024 * 1024;
/// Room for a multipart body's other fields and framing around the file.
const FORM_OVERHEAD: usize = 1024 * 1024;

impl Limit {
    /// The largest file accepted, in bytes.
    pub fn bytes(self) -> u64 {
        let (variable, default) = match self {
            Limit::Image => ("WHATSAPP_MAX_FILE_SIZE_IMAGE", 20 * MB),
            Limit::Document => ("WHATSAPP_MAX_FILE_SIZE_DOCUMENT", 50 * MB),
            Limit::Video => ("WHATSAPP_MAX_FILE_SIZE_VIDEO", 100 * MB),
            Limit::Audio => ("WHATSAPP_MAX_FILE_SIZE_AUDIO", 16 * MB),
        };
        crate::settings::get(variable)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&v| v > 0)
            .unwrap_or(default)
    }

    /// The largest request body accepted for this kind of upload.
    pub fn body_bytes(self) -> usize {
        usize::try_from(self.bytes()).unwrap_or(usize::MAX) + FORM_OVERHEAD
    }

    fn name(self) -> &'static str {
        match self {
            Limit::Image => "image",
            Limit::Document => "file",
            Limit::Video => "video",
            Limit::Audio => "audio",
        }
    }
}

/// A file ready to store.
#[derive(Debug)]
pub struct Fetched {
    /// The bytes.
    pub bytes: Bytes,
    /// The MIME type (declared, or sniffed from the bytes).
    pub mime: String,
    /// The file name, when known.
    pub file_name: Option<String>,
}

/// The file of field `file_field`, or the one `url_field` points at.
pub async fn from_input(
    input: &Input,
    file_field: &str,
    url_field: &str,
    limit: Limit,
) -> ApiResult<Fetched> {
    let fetched = match (input.file(file_field), input.optional(url_field)) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(format!(
                "send either {file_field} or {url_field}, not both"
            )));
        }
        (Some(part), None) => Fetched {
            mime: declared_or_sniffed(part.content_type.as_deref(), &part.bytes),
            file_name: part.file_name.clone(),
            bytes: part.bytes.clone(),
        },
        (None, Some(url)) => fetch(&url, limit).await?,
        (None, None) => {
            return Err(ApiError::validation(format!(
                "{file_field}: send a file (multipart) or {url_field}"
            )));
        }
    };
    if fetched.bytes.len() as u64 > limit.bytes() {
        return Err(too_large(limit));
    }
    Ok(fetched)
}

/// Checks the file is of the expected family (`image/`, `video/`, `audio/`).
pub fn expect_kind(file: &Fetched, prefix: &str, field: &str) -> ApiResult<()> {
    if file.mime.starts_with(prefix) {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "{field}: expected {prefix}* media, got {}",
            file.mime
        )))
    }
}

fn too_large(limit: Limit) -> ApiError {
    ApiError::too_large(format!(
        "{} is larger than the limit of {} MB",
        limit.name(),
        limit.bytes() / MB
    ))
}

/// Downloads `url` for a send: http(s) only, public addresses only (unless
/// `WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS=true`), at most the limit.
async fn fetch(url: &str, limit: Limit) -> ApiResult<Fetched> {
    let how = Fetch {
        accept: "*/*",
        max_bytes: usize::try_from(limit.bytes()).unwrap_or(usize::MAX),
        overflow: Overflow::Refuse,
        redirects: 0,
    };
    let downloaded = fetch::download(url, how).await.map_err(|e| match e {
        FetchError::Refused(why) => ApiError::validation(format!("media URL: {why}")),
        FetchError::TooLarge => too_large(limit),
        e => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "UPLOAD_MEDIA_ERROR",
            format!("cannot fetch {url}: {e}"),
        ),
    })?;
    if downloaded.bytes.is_empty() {
        return Err(ApiError::validation(format!(
            "{url} returned an empty file"
        )));
    }
    let file_name = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.path().rsplit('/').next().map(str::to_owned))
        .filter(|n| !n.is_empty());
    Ok(Fetched {
        mime: declared_or_sniffed(downloaded.content_type.as_deref(), &downloaded.bytes),
        bytes: downloaded.bytes,
        file_name,
    })
}

/// The declared type when it is specific, else what the bytes look like.
pub fn declared_or_sniffed(declared: Option<&str>, bytes: &[u8]) -> String {
    let declared = declared
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty() && !d.starts_with("application/octet-stream"));
    declared.unwrap_or_else(|| sniff(bytes).to_owned())
}

/// The MIME type of common media by their magic bytes.
fn sniff(bytes: &[u8]) -> &'static str {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        match &bytes[8..12] {
            b"M4A " => "audio/mp4",
            _ => "video/mp4",
        }
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"ID3") || starts(b"\xFF\xFB") || starts(b"\xFF\xF3") {
        "audio/mpeg"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        "audio/wav"
    } else if starts(b"%PDF-") {
        "application/pdf"
    } else {
        "application/octet-stream"
    }
}
