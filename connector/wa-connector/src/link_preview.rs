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
