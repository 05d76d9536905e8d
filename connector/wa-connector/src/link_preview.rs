//! The picture of a link-preview card, made small.
//!
//! The REST component reads the linked page and stores the page's picture
//! (`og:image`) in the media store as it was served; the connector, which has
//! ffmpeg, turns it into the card's inline JPEG here. The split keeps the
//! component free of image codecs and the network fetch (with its address
//! guard) out of the connector. ffmpeg runs as a child process with a time
//! limit (see `media_transcode`), in a temporary folder removed on every path.

use media_transcode::{FfmpegBinary, Limits, ThumbnailOptions, Transcoder};
use thiserror::Error;
use wa_media::{DynMediaStore, MediaError, MediaKey};
use wa_proto::link_preview::PreviewThumbnail;

/// The longer side of a card's picture, in pixels (what WhatsApp's own
/// clients send for a link's inline thumbnail).
pub const CARD_THUMBNAIL_PIXELS: u32 = 192;
/// The largest stored picture read: a guard on memory, above any image the
/// API accepts.
const MAX_PICTURE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a card has no picture (the card and its text still go out).
#[derive(Debug, Error)]
pub enum CardPictureError {
    /// The stored picture could not be read.
    #[error("media store: {0}")]
    Store(#[from] MediaError),
    /// ffmpeg is missing, or could not read or shrink the picture.
    #[error("the picture cannot be made into a thumbnail: {0}")]
    Thumbnail(String),
}

/// The card's JPEG for the picture stored under `key`: at most
/// [`CARD_THUMBNAIL_PIXELS`] on its longer side, aspect ratio kept.
pub async fn card_thumbnail(
    store: &DynMediaStore,
    key: &MediaKey,
) -> Result<PreviewThumbnail, CardPictureError> {
    let bytes = store.get_bytes(key, MAX_PICTURE_BYTES).await?;
    let failed = |e: &dyn std::fmt::Display| CardPictureError::Thumbnail(e.to_string());
    let dir = tempfile::tempdir().map_err(|e| failed(&e))?;
    let source = dir.path().join("picture");
    tokio::fs::write(&source, &bytes)
        .await
        .map_err(|e| failed(&e))?;
    let thumbnail = tokio::task::spawn_blocking(move || {
        let ffmpeg = FfmpegBinary::from_env().map_err(|e| failed(&e))?;
        let transcoder = Transcoder::new(ffmpeg).with_limits(Limits {
            max_input_bytes: MAX_PICTURE_BYTES,
            ..Limits::default()
        });
        let options = ThumbnailOptions {
            max_dimension: CARD_THUMBNAIL_PIXELS,
            ..ThumbnailOptions::default()
        };
        let made = transcoder
            .thumbnail(&source, &options)
            .map_err(|e| failed(&e));
        // The folder goes with the last use of its path.
        drop(dir);
        made
    })
    .await
    .map_err(|e| failed(&e))??;
    Ok(PreviewThumbnail {
        jpeg: thumbnail.jpeg,
        width: thumbnail.width,
        height: thumbnail.height,
    })
}

/// The `link_preview` object of a `message` webhook, for a received text
/// that carries a card: its link, title and description (the thumbnail stays
/// in the stored message). `None` for anything else, or content that does not
/// decode.
pub fn webhook_fields(content: &[u8]) -> Option<serde_json::Value> {
    use prost::Message as _;
    let message = wa_proto::proto::message::Message::decode(content).ok()?;
    let card = wa_proto::link_preview::preview_of(&message)?;
    let mut fields = serde_json::Map::new();
    fields.insert("url".into(), card.matched_text.into());
    if let Some(title) = card.title {
        fields.insert("title".into(), title.into());
    }
    if let Some(description) = card.description {
        fields.insert("description".into(), description.into());
    }
    fields.insert("has_thumbnail".into(), card.thumbnail.is_some().into());
    Some(serde_json::Value::Object(fields))
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use serde_json::json;
    use wa_proto::link_preview::{LinkPreview, PreviewThumbnail, link_message};

    use super::*;

    #[test]
    fn a_received_card_in_the_webhook() {
        let card = LinkPreview {
            matched_text: "https://example.org/a".into(),
            title: Some("A title".into()),
            description: None,
            thumbnail: Some(PreviewThumbnail {
                jpeg: vec![0xFF, 0xD8, 0xFF],
                width: 2,
                height: 1,
            }),
        };
        let content = link_message("see https://example.org/a", &card).encode_to_vec();
        assert_eq!(
            webhook_fields(&content),
            Some(
                json!({"url": "https://example.org/a", "title": "A title", "has_thumbnail": true})
            )
        );
        let plain = wa_proto::content::text_message("https://example.org/a").encode_to_vec();
        assert_eq!(webhook_fields(&plain), None);
        assert_eq!(webhook_fields(b"\xFF not a message"), None);
    }
}
