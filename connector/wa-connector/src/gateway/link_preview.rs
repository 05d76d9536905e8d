//! The `link` content of `wa:gateway/messaging`: a text with a link and the
//! preview card the REST component gathered for it.
//!
//! The preview is best effort: a picture ffmpeg cannot read leaves the card
//! without one, and a card without anything to show is dropped, but the text
//! always goes out.

use wa_proto::content;
use wa_proto::link_preview::{self, LinkPreview};
use wa_proto::proto::message::Message;

use super::bindings::wa::gateway::types::LinkText;
use super::messaging::{check_text, invalid};
use super::{Gateway, GatewayResult};

/// The longest title or description put on a card, in bytes.
const MAX_CARD_TEXT_BYTES: usize = 4096;

impl Gateway {
    /// The message for a text with a link: an extended text with the card,
    /// or plain text when there is no card.
    pub(super) async fn compose_link(&self, link: LinkText) -> GatewayResult<Message> {
        check_text("message", &link.text)?;
        if link.url.is_empty() || !link.text.contains(&link.url) {
            return Err(invalid("the link must appear in the text"));
        }
        let Some(preview) = link.preview else {
            return Ok(content::text_message(link.text));
        };
        let card_text = |field: &str, text: Option<String>| -> GatewayResult<Option<String>> {
            match text.filter(|t| !t.trim().is_empty()) {
                Some(t) if t.len() > MAX_CARD_TEXT_BYTES => Err(invalid(format!(
                    "the preview's {field} is longer than {MAX_CARD_TEXT_BYTES} bytes"
                ))),
                t => Ok(t),
            }
        };
        let mut card = LinkPreview {
            matched_text: link.url.clone(),
            title: card_text("title", preview.title)?,
            description: card_text("description", preview.description)?,
            thumbnail: None,
        };
        if let Some(image) = preview.image {
            card.thumbnail = self.card_picture(&link.url, &image.key).await;
        }
        if card.title.is_none() && card.description.is_none() && card.thumbnail.is_none() {
            tracing::info!(url = %link.url, "link preview has nothing to show; sending the text alone");
            return Ok(content::text_message(link.text));
        }
        Ok(link_preview::link_message(link.text, &card))
    }

    /// The card's picture from the stored image `key`, or none (logged).
    async fn card_picture(
        &self,
        url: &str,
        key: &str,
    ) -> Option<wa_proto::link_preview::PreviewThumbnail> {
        let store = match self.media_store() {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(url, error = ?e, "link preview without picture");
                return None;
            }
        };
        let key = match wa_media::MediaKey::new(key.to_owned()) {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(url, error = %e, "link preview picture: bad media key");
                return None;
            }
        };
        let started = std::time::Instant::now();
        let made = crate::link_preview::card_thumbnail(store, &key).await;
        self.metrics
            .media_processed("link_thumbnail", started.elapsed());
        match made {
            Ok(thumbnail) => Some(thumbnail),
            Err(e) => {
                tracing::warn!(url, error = %e, "link preview without picture");
                None
            }
        }
    }
}
