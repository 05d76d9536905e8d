//! The preview card of `POST /send/link`: the linked page is read here and
//! its picture stored; the connector makes the card's small JPEG from it
//! (it has ffmpeg) and composes the message.
//!
//! Reading the page is best effort and bounded: the same address guard as
//! media URLs (`fetch`), the first [`PAGE_BYTES`] of the page only, the
//! picture within the image size limit, up to [`REDIRECTS`] redirects, and
//! everything within `WHATSAPP_LINK_PREVIEW_TIMEOUT` (default
//! [`DEFAULT_TIMEOUT`]). Whatever fails, the text is still sent; the answer
//! says why there is no card (or no picture on it).

use std::time::{Duration, Instant};

use ::link_preview::PageSummary;
use serde::Serialize;

use crate::bindings::wa::gateway::types::{LinkPreview, MediaRef};
use crate::connector::Connector;
use crate::fetch::{self, Fetch, Overflow};
use crate::media::{Limit, declared_or_sniffed};

/// How much of a page is read: its head is at the start.
pub const PAGE_BYTES: usize = 512 * 1024;
/// How long reading the page and its picture may take, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many redirects are followed to the page or its picture.
pub const REDIRECTS: u8 = 5;

/// What `/send/link` answers about the card, next to `message_id`.
#[derive(Debug, Default, Serialize)]
pub struct PreviewReport {
    /// Whether the message carries a card.
    pub attached: bool,
    /// The card's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The card's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The page's canonical address (`og:url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The address of the picture put on the card (the connector makes its
    /// thumbnail; a picture ffmpeg cannot read is left off and logged there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Why there is no card, or no picture on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl PreviewReport {
    fn skipped(reason: impl Into<String>) -> (Option<LinkPreview>, Self) {
        (
            None,
            Self {
                reason: Some(reason.into()),
                ..Self::default()
            },
        )
    }
}

/// The card for `url` (with its picture stored), or why there is none.
pub async fn gather(connector: &Connector, url: &str) -> (Option<LinkPreview>, PreviewReport) {
    if !enabled() {
        return PreviewReport::skipped("link previews are turned off");
    }
    let limit = timeout();
    let started = Instant::now();
    let page = match fetch::within(limit, read_page(url)).await {
        None => {
            return PreviewReport::skipped(format!(
                "the page did not answer within {}",
                seconds(limit)
            ));
        }
        Some(Err(reason)) => return PreviewReport::skipped(reason),
        Some(Ok(page)) => page,
    };
    if page.is_empty() {
        return PreviewReport::skipped("the page has no title, description or picture");
    }
    let mut report = PreviewReport {
        attached: true,
        title: page.title.clone(),
        description: page.description.clone(),
        url: page.url.clone(),
        ..PreviewReport::default()
    };
    let mut image = None;
    if let Some(picture) = &page.image {
        let left = limit.saturating_sub(started.elapsed());
        match fetch::within(left, store_picture(connector, picture)).await {
            Some(Ok(stored)) => {
                image = Some(stored);
                report.image = Some(picture.clone());
            }
            Some(Err(reason)) => report.reason = Some(format!("no picture: {reason}")),
            None => {
                report.reason = Some(format!(
                    "no picture: it did not arrive within {}",
                    seconds(limit)
                ));
            }
        }
    }
    if page.title.is_none() && page.description.is_none() && image.is_none() {
        report.attached = false;
        return (None, report);
    }
    let preview = LinkPreview {
        title: page.title,
        description: page.description,
        image,
    };
    (Some(preview), report)
}

/// What the page at `url` says about itself, or why it cannot be read.
async fn read_page(url: &str) -> Result<PageSummary, String> {
    let how = Fetch {
        accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        max_bytes: PAGE_BYTES,
        overflow: Overflow::Truncate,
        redirects: REDIRECTS,
    };
    let page = fetch::download(url, how)
        .await
        .map_err(|e| format!("the page {e}"))?;
    let html = match page.content_type.as_deref() {
        Some(declared) => ::link_preview::is_html(declared),
        // Undeclared: markup starts with `<`.
        None => page
            .bytes
            .trim_ascii_start()
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(page.bytes.trim_ascii_start())
            .starts_with(b"<"),
    };
    if !html {
        return Err(format!(
            "the page is not HTML ({})",
            page.content_type.as_deref().unwrap_or("no type")
        ));
    }
    Ok(::link_preview::summarize(
        &page.bytes,
        page.content_type.as_deref(),
        &page.url,
    ))
}

/// Downloads the picture at `url` (within the image size limit) and puts it
/// in the media store.
async fn store_picture(connector: &Connector, url: &str) -> Result<MediaRef, String> {
    let how = Fetch {
        accept: "image/*",
        max_bytes: usize::try_from(Limit::Image.bytes()).unwrap_or(usize::MAX),
        overflow: Overflow::Refuse,
        redirects: REDIRECTS,
    };
    let picture = fetch::download(url, how)
        .await
        .map_err(|e| format!("{url} {e}"))?;
    let mime = declared_or_sniffed(picture.content_type.as_deref(), &picture.bytes);
    if picture.bytes.is_empty() || !mime.starts_with("image/") {
        return Err(format!("{url} is not an image ({mime})"));
    }
    connector
        .put_media(&mime, picture.bytes)
        .await
        .map_err(|e| format!("cannot store it: {}", e.message))
}

/// `WHATSAPP_LINK_PREVIEW`: on unless `false`.
fn enabled() -> bool {
    crate::settings::non_empty("WHATSAPP_LINK_PREVIEW").is_none_or(|v| v != "false")
}

/// `WHATSAPP_LINK_PREVIEW_TIMEOUT`: `500ms`, `5s` or a number of seconds.
fn timeout() -> Duration {
    crate::settings::non_empty("WHATSAPP_LINK_PREVIEW_TIMEOUT")
        .and_then(|v| parse_duration(&v))
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn parse_duration(value: &str) -> Option<Duration> {
    let (number, millis) = match value.strip_suffix("ms") {
        Some(ms) => (ms, true),
        None => (value.strip_suffix('s').unwrap_or(value), false),
    };
    let number: u64 = number.trim().parse().ok()?;
    let duration = if millis {
        Duration::from_millis(number)
    } else {
        Duration::from_secs(number)
    };
    (!duration.is_zero()).then_some(duration)
}

/// `limit` for people: `5s`, `1.5s`.
fn seconds(limit: Duration) -> String {
    format!("{}s", limit.as_secs_f64())
}
