//! Link previews: the card (title, description, small picture) WhatsApp
//! clients draw under a text that contains a link.
//!
//! The sender builds the card; receivers never fetch the page themselves.
//! It travels in the text's `ExtendedTextMessage`: `matched_text` names the
//! link the card belongs to, `title` and `description` are the page's, and
//! `jpeg_thumbnail` is an inline JPEG of a few kilobytes with its size in
//! `thumbnail_width`/`thumbnail_height`. `preview_type` stays `NONE`, the
//! value for an ordinary web page (the other values are video and
//! placeholder cards).

use crate::proto::message::Message;
use crate::proto::message::message::ExtendedTextMessage;
use crate::proto::message::message::extended_text_message::PreviewType;

/// The card for one link in a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkPreview {
    /// The link exactly as it appears in the text.
    pub matched_text: String,
    /// The page's title.
    pub title: Option<String>,
    /// The page's summary.
    pub description: Option<String>,
    /// The page's picture, made small.
    pub thumbnail: Option<PreviewThumbnail>,
}

/// A small JPEG shown on the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewThumbnail {
    /// The JPEG file.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A text message carrying `preview` for one of its links.
pub fn link_message(text: impl Into<String>, preview: &LinkPreview) -> Message {
    let thumbnail = preview.thumbnail.as_ref();
    Message {
        extended_text_message: Some(Box::new(ExtendedTextMessage {
            text: Some(text.into()),
            matched_text: Some(preview.matched_text.clone()),
            title: preview.title.clone(),
            description: preview.description.clone(),
            preview_type: Some(PreviewType::None as i32),
            jpeg_thumbnail: thumbnail.map(|t| t.jpeg.clone()),
            thumbnail_width: thumbnail.map(|t| t.width),
            thumbnail_height: thumbnail.map(|t| t.height),
            ..Default::default()
        })),
        ..Message::default()
    }
}

/// The card `msg` carries, if it is a text with one (a title, a description
/// or a picture for a matched link). A copy of our own send from another
/// device (`DeviceSentMessage`) is looked through.
pub fn preview_of(msg: &Message) -> Option<LinkPreview> {
    let msg = msg
        .device_sent_message
        .as_ref()
        .and_then(|d| d.message.as_deref())
        .unwrap_or(msg);
    let text = msg.extended_text_message.as_deref()?;
    let matched_text = text.matched_text.clone().filter(|m| !m.is_empty())?;
    let thumbnail = text
        .jpeg_thumbnail
        .clone()
        .filter(|jpeg| !jpeg.is_empty())
        .map(|jpeg| PreviewThumbnail {
            jpeg,
            width: text.thumbnail_width.unwrap_or(0),
            height: text.thumbnail_height.unwrap_or(0),
        });
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let preview = LinkPreview {
        matched_text,
        title: non_empty(&text.title),
        description: non_empty(&text.description),
        thumbnail,
    };
    (preview.title.is_some() || preview.description.is_some() || preview.thumbnail.is_some())
        .then_some(preview)
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::compose::{MessageContext, with_context};
    use crate::content::summarize;

    fn card() -> LinkPreview {
        LinkPreview {
            matched_text: "https://example.org/a".into(),
            title: Some("Example".into()),
            description: Some("An example page".into()),
            thumbnail: Some(PreviewThumbnail {
                jpeg: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
                width: 192,
                height: 108,
            }),
        }
    }

    #[test]
    fn the_card_survives_the_wire_and_a_context() {
        let msg = link_message("look\nhttps://example.org/a", &card());
        let msg = with_context(
            msg,
            &MessageContext {
                forwarded: true,
                ..Default::default()
            },
        );
        let decoded = Message::decode(msg.encode_to_vec().as_slice()).unwrap();
        let text = decoded.extended_text_message.as_deref().unwrap();
        assert_eq!(text.text.as_deref(), Some("look\nhttps://example.org/a"));
        assert_eq!(text.preview_type, Some(0));
        assert_eq!(
            text.context_info.as_ref().and_then(|c| c.is_forwarded),
            Some(true)
        );
        assert_eq!(preview_of(&decoded), Some(card()));
        assert_eq!(summarize(&decoded).kind, "text");
        assert_eq!(
            summarize(&decoded).text.as_deref(),
            Some("look\nhttps://example.org/a")
        );
    }

    #[test]
    fn field_numbers_are_whatsapps() {
        let msg = link_message("https://e.org", &card());
        let bytes = msg.extended_text_message.unwrap().encode_to_vec();
        // Tags: (field << 3) | wire type. 10 varint, 16 bytes, 24 and 25 varints.
        for tag in [&[0x50u8][..], &[0x82, 0x01], &[0xC0, 0x01], &[0xC8, 0x01]] {
            assert!(
                bytes.windows(tag.len()).any(|w| w == tag),
                "tag {tag:02x?} missing from {bytes:02x?}"
            );
        }
    }

    #[test]
    fn a_card_without_content_is_no_card() {
        let bare = LinkPreview {
            matched_text: "https://e.org".into(),
            ..Default::default()
        };
        assert_eq!(preview_of(&link_message("https://e.org", &bare)), None);
        let words_only = LinkPreview {
            thumbnail: None,
            ..card()
        };
        let found = preview_of(&link_message("x", &words_only)).unwrap();
        assert_eq!(found.title.as_deref(), Some("Example"));
        assert_eq!(found.thumbnail, None);
        assert_eq!(preview_of(&crate::content::text_message("plain")), None);
    }

    #[test]
    fn our_own_send_from_another_device_is_looked_through() {
        let sent = Message {
            device_sent_message: Some(Box::new(
                crate::proto::message::message::DeviceSentMessage {
                    destination_jid: Some("1555@s.whatsapp.net".into()),
                    message: Some(Box::new(link_message("https://example.org/a", &card()))),
                    phash: None,
                },
            )),
            ..Message::default()
        };
        assert_eq!(preview_of(&sent), Some(card()));
    }
}
