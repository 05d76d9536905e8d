//! Media a client sends: an uploaded file or a URL to fetch, checked against
//! the configured size limits before anything is stored.

use std::net::IpAddr;

use bytes::Bytes;
use http::{StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};

use crate::error::{ApiError, ApiResult};
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
    let uri: http::Uri = url
        .parse()
        .map_err(|_| ApiError::validation(format!("`{url}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(ApiError::validation("media URLs must be http or https")),
    }
    let host = uri
        .host()
        .ok_or_else(|| ApiError::validation("the media URL has no host"))?;
    if !allow_private() && is_private_host(host) {
        return Err(ApiError::validation(format!(
            "`{host}` is a local or private address; media URLs must be public"
        )));
    }
    let request = http::Request::get(uri.clone())
        .body(Empty::<Bytes>::new())
        .map_err(|e| ApiError::validation(format!("bad media URL: {e}")))?;
    let response = spin_sdk::http::send(request).await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "UPLOAD_MEDIA_ERROR",
            format!("cannot fetch {url}: {e:?}"),
        )
    })?;
    if !response.status().is_success() {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "UPLOAD_MEDIA_ERROR",
            format!("{url} answered {}", response.status()),
        ));
    }
    let declared = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let max = usize::try_from(limit.bytes()).unwrap_or(usize::MAX);
    let bytes = match Limited::new(response.into_body(), max).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large(limit)),
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "UPLOAD_MEDIA_ERROR",
                format!("cannot read {url}: {e}"),
            ));
        }
    };
    if bytes.is_empty() {
        return Err(ApiError::validation(format!(
            "{url} returned an empty file"
        )));
    }
    let file_name = uri
        .path()
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Ok(Fetched {
        mime: declared_or_sniffed(declared.as_deref(), &bytes),
        bytes,
        file_name,
    })
}

fn allow_private() -> bool {
    crate::settings::get("WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS").is_some_and(|v| v.trim() == "true")
}

/// Loopback, private, link-local and unspecified addresses, and local names.
/// (Names that resolve to private addresses are the host's to refuse.)
fn is_private_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost")
        || host.ends_with(".localhost")
        || host.ends_with(".local")
    {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (64..128).contains(&ip.octets()[1])
        }
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
        }
        Err(_) => false,
    }
}

/// The declared type when it is specific, else what the bytes look like.
fn declared_or_sniffed(declared: Option<&str>, bytes: &[u8]) -> String {
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
