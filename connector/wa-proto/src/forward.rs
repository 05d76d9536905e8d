//! Forwarding: an earlier message's content sent again to another chat, with
//! WhatsApp's "forwarded" label.
//!
//! The forwarded copy keeps the content (text with its link preview, media by
//! reference: the same direct path, media key and hashes, so nothing is
//! uploaded again) and drops everything that tied it to its first chat: the
//! quoted message, mentions, the message secret, key material. Its context
//! carries `is_forwarded` and a `forwarding_score` one higher than the
//! original's; from [`FREQUENTLY_FORWARDED_SCORE`] on, clients show
//! "Forwarded many times".

use thiserror::Error;

use crate::content::UploadedMedia;
use crate::proto::message::{ContextInfo, Message};

/// The score from which WhatsApp clients label a message "Forwarded many times".
pub const FREQUENTLY_FORWARDED_SCORE: u32 = 5;

/// Why a message cannot be forwarded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ForwardError {
    /// View-once media are for one viewing by their recipient; WhatsApp never
    /// lets them travel further.
    #[error("view-once messages cannot be forwarded")]
    ViewOnce,
    /// The message has nothing forwardable: a reaction, a revoke or edit, a
    /// poll, key material, or content this gateway does not know.
    #[error("{0} messages cannot be forwarded")]
    Unsupported(&'static str),
}

/// The message to send when forwarding `original` (as decrypted or as we sent
/// it; a copy of our own send from another device is looked through).
/// `expiration_secs` makes the copy a disappearing message.
pub fn forward(original: &Message, expiration_secs: Option<u32>) -> Result<Message, ForwardError> {
    let original = original
        .device_sent_message
        .as_ref()
        .and_then(|d| d.message.as_deref())
        .unwrap_or(original);
    if crate::content::view_once_inner(original).is_some() {
        return Err(ForwardError::ViewOnce);
    }
    let mut copy = content_only(original)?;
    let context = context_slot(&mut copy).expect("content_only keeps a kind with a context");
    let score = context
        .as_deref()
        .map_or(0, previous_score)
        .saturating_add(1);
    *context = Some(Box::new(ContextInfo {
        forwarding_score: Some(score),
        is_forwarded: Some(true),
        expiration: expiration_secs,
        ..ContextInfo::default()
    }));
    Ok(copy)
}

/// Points the media `msg` carries at `upload` instead (a forward whose file
/// was uploaded again); other content is left as it is.
pub fn replace_media(msg: &mut Message, upload: &UploadedMedia) {
    let url = Some(upload.url.clone());
    let direct_path = Some(upload.direct_path.clone());
    let media_key = Some(upload.media_key.to_vec());
    let file_sha256 = Some(upload.file_sha256.to_vec());
    let file_enc_sha256 = Some(upload.file_enc_sha256.to_vec());
    let file_length = Some(upload.file_length);
    macro_rules! point {
        ($m:expr) => {{
            $m.url = url;
            $m.direct_path = direct_path;
            $m.media_key = media_key;
            $m.file_sha256 = file_sha256;
            $m.file_enc_sha256 = file_enc_sha256;
            $m.file_length = file_length;
            $m.media_key_timestamp = None;
        }};
    }
    if let Some(m) = msg.image_message.as_mut() {
        point!(m);
    } else if let Some(m) = msg.video_message.as_mut() {
        point!(m);
    } else if let Some(m) = msg.audio_message.as_mut() {
        point!(m);
    } else if let Some(m) = msg.document_message.as_mut() {
        point!(m);
    } else if let Some(m) = msg.sticker_message.as_mut() {
        point!(m);
    }
}

/// How often the message with this context was already forwarded: its score,
/// or one when only the label is set (older clients sent no score).
fn previous_score(context: &ContextInfo) -> u32 {
    match (context.forwarding_score, context.is_forwarded) {
        (Some(score), _) => score,
        (None, Some(true)) => 1,
        (None, _) => 0,
    }
}

/// A message holding only `original`'s content field (plain text becomes
/// extended text, the form that carries a context); view-once flags were
/// checked by the caller.
fn content_only(original: &Message) -> Result<Message, ForwardError> {
    let mut copy = Message::default();
    if let Some(text) = &original.conversation {
        copy.extended_text_message = Some(Box::new(
            crate::proto::message::message::ExtendedTextMessage {
                text: Some(text.clone()),
                ..Default::default()
            },
        ));
    } else if let Some(m) = &original.extended_text_message {
        copy.extended_text_message = Some(m.clone());
    } else if let Some(m) = &original.image_message {
        if m.view_once == Some(true) {
            return Err(ForwardError::ViewOnce);
        }
        copy.image_message = Some(m.clone());
    } else if let Some(m) = &original.video_message {
        if m.view_once == Some(true) {
            return Err(ForwardError::ViewOnce);
        }
        copy.video_message = Some(m.clone());
    } else if let Some(m) = &original.audio_message {
        if m.view_once == Some(true) {
            return Err(ForwardError::ViewOnce);
        }
        copy.audio_message = Some(m.clone());
    } else if let Some(m) = &original.document_message {
        copy.document_message = Some(m.clone());
    } else if let Some(m) = &original.sticker_message {
        copy.sticker_message = Some(m.clone());
    } else if let Some(m) = &original.location_message {
        copy.location_message = Some(m.clone());
    } else if let Some(m) = &original.contact_message {
        copy.contact_message = Some(m.clone());
    } else {
        return Err(ForwardError::Unsupported(unsupported_kind(original)));
    }
    Ok(copy)
}

/// What a message without forwardable content is, for the error.
fn unsupported_kind(msg: &Message) -> &'static str {
    if msg.reaction_message.is_some() {
        "reaction"
    } else if msg.protocol_message.is_some() || msg.edited_message.is_some() {
        "revoke and edit"
    } else if msg.poll_creation_message.is_some() {
        "poll"
    } else if msg.sender_key_distribution_message.is_some() {
        "key distribution"
    } else {
        "unknown"
    }
}

/// The context field of the content `msg` holds, if its kind has one.
fn context_slot(msg: &mut Message) -> Option<&mut Option<Box<ContextInfo>>> {
    Some(if let Some(m) = msg.extended_text_message.as_mut() {
        &mut m.context_info
    } else if let Some(m) = msg.image_message.as_mut() {
        &mut m.context_info
    } else if let Some(m) = msg.video_message.as_mut() {
        &mut m.context_info
    } else if let Some(m) = msg.audio_message.as_mut() {
        &mut m.context_info
    } else if let Some(m) = msg.document_message.as_mut() {
        &mut m.context_info
    } else if let Some(m) = msg.sticker_message.as_mut() {
        &mut m.context_info
    } else if let Some(m) = msg.location_message.as_mut() {
        &mut m.context_info
    } else if let Some(m) = msg.contact_message.as_mut() {
        &mut m.context_info
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::compose::{self, MessageContext, MessageTarget};
    use crate::content::{MediaExtra, MediaKind, summarize, text_message};
    use crate::proto::message::MessageContextInfo;
    use crate::proto::message::message::{DeviceSentMessage, ReactionMessage};

    /// Encodes and decodes, as the store and the recipient would.
    fn reparse(m: &Message) -> Message {
        Message::decode(m.encode_to_vec().as_slice()).expect("our own encoding decodes")
    }

    fn context_of(m: &Message) -> ContextInfo {
        let mut m = m.clone();
        *context_slot(&mut m).unwrap().clone().unwrap()
    }

    fn uploaded() -> UploadedMedia {
        UploadedMedia {
            url: "https://mmg.example/o1/abc".into(),
            direct_path: "/o1/abc?ccb=11-4".into(),
            media_key: [7; 32],
            file_sha256: [1; 32],
            file_enc_sha256: [2; 32],
            file_length: 1234,
            mimetype: "image/jpeg".into(),
        }
    }

    #[test]
    fn plain_text_becomes_labelled_extended_text() {
        let out = reparse(&forward(&text_message("hello"), None).unwrap());
        assert!(out.conversation.is_none());
        let ext = out.extended_text_message.as_ref().unwrap();
        assert_eq!(ext.text.as_deref(), Some("hello"));
        let info = ext.context_info.as_deref().unwrap();
        assert_eq!(
            (info.is_forwarded, info.forwarding_score),
            (Some(true), Some(1))
        );
        assert_eq!(summarize(&out).kind, "text");
    }

    #[test]
    fn reply_mentions_and_secrets_are_dropped() {
        let target = MessageTarget {
            chat: "15550001111@s.whatsapp.net".into(),
            id: "3EB0QUOTED".into(),
            from_me: false,
            participant: None,
        };
        let mut original = compose::with_context(
            text_message("see @15550002222"),
            &MessageContext {
                reply_to: Some((target, Some(text_message("quoted")))),
                mentions: vec!["15550002222@s.whatsapp.net".into()],
                forwarded: false,
            },
        );
        original.message_context_info = Some(MessageContextInfo {
            device_list_metadata_version: Some(2),
            message_secret: Some(vec![9; 32]),
        });
        let out = forward(&original, None).unwrap();
        assert!(out.message_context_info.is_none());
        let info = context_of(&out);
        assert_eq!(
            info,
            ContextInfo {
                forwarding_score: Some(1),
                is_forwarded: Some(true),
                ..ContextInfo::default()
            }
        );
    }

    #[test]
    fn the_score_counts_every_forward() {
        let mut m = text_message("chain");
        for expected in 1..=FREQUENTLY_FORWARDED_SCORE + 1 {
            m = reparse(&forward(&m, None).unwrap());
            assert_eq!(context_of(&m).forwarding_score, Some(expected));
        }
        // A label without a score counts as forwarded once.
        let mut labelled = compose::with_context(
            text_message("old client"),
            &MessageContext {
                forwarded: true,
                ..MessageContext::default()
            },
        );
        context_slot(&mut labelled)
            .unwrap()
            .as_mut()
            .unwrap()
            .forwarding_score = None;
        assert_eq!(
            context_of(&forward(&labelled, None).unwrap()).forwarding_score,
            Some(2)
        );
    }

    #[test]
    fn media_are_forwarded_by_reference() {
        let original = crate::content::media_message(
            MediaKind::Image,
            &uploaded(),
            Some("a cat".into()),
            MediaExtra::default(),
        );
        let out = reparse(&forward(&original, None).unwrap());
        let (a, b) = (
            original.image_message.as_ref().unwrap(),
            out.image_message.as_ref().unwrap(),
        );
        assert_eq!(b.direct_path, a.direct_path);
        assert_eq!(b.media_key, a.media_key);
        assert_eq!(b.file_enc_sha256, a.file_enc_sha256);
        assert_eq!(b.file_sha256, a.file_sha256);
        assert_eq!(b.caption.as_deref(), Some("a cat"));
        assert_eq!(context_of(&out).is_forwarded, Some(true));

        let sticker = crate::content::media_message(
            MediaKind::Sticker,
            &uploaded(),
            None,
            MediaExtra::default(),
        );
        let out = reparse(&forward(&sticker, None).unwrap());
        assert_eq!(context_of(&out).forwarding_score, Some(1));
        assert_eq!(summarize(&out).kind, "sticker");
    }

    #[test]
    fn a_reupload_replaces_the_reference_and_an_expiration_is_carried() {
        let original = crate::content::media_message(
            MediaKind::Document {
                file_name: "report.pdf".into(),
            },
            &uploaded(),
            Some("Q3".into()),
            MediaExtra::default(),
        );
        let mut out = forward(&original, Some(86_400)).unwrap();
        let again = UploadedMedia {
            direct_path: "/o1/fresh".into(),
            media_key: [9; 32],
            file_enc_sha256: [3; 32],
            ..uploaded()
        };
        replace_media(&mut out, &again);
        let out = reparse(&out);
        let doc = out.document_message.as_ref().unwrap();
        assert_eq!(doc.direct_path.as_deref(), Some("/o1/fresh"));
        assert_eq!(doc.media_key.as_deref(), Some(&[9; 32][..]));
        assert_eq!(doc.file_enc_sha256.as_deref(), Some(&[3; 32][..]));
        assert_eq!(doc.file_name.as_deref(), Some("report.pdf"));
        assert_eq!(doc.caption.as_deref(), Some("Q3"));
        let info = context_of(&out);
        assert_eq!(
            (info.expiration, info.forwarding_score),
            (Some(86_400), Some(1))
        );
        // Text has no media to point elsewhere.
        let mut text = forward(&text_message("t"), None).unwrap();
        let before = text.clone();
        replace_media(&mut text, &again);
        assert_eq!(text, before);
        assert_eq!(context_of(&text).expiration, None);
    }

    #[test]
    fn a_copy_of_our_own_send_is_looked_through() {
        let sent = Message {
            device_sent_message: Some(Box::new(DeviceSentMessage {
                destination_jid: Some("15550001111@s.whatsapp.net".into()),
                message: Some(Box::new(text_message("from the phone"))),
                phash: None,
            })),
            ..Message::default()
        };
        let out = forward(&sent, None).unwrap();
        assert!(out.device_sent_message.is_none());
        assert_eq!(
            out.extended_text_message.unwrap().text.as_deref(),
            Some("from the phone")
        );
    }

    #[test]
    fn view_once_and_contentless_messages_are_refused() {
        let image = crate::content::media_message(
            MediaKind::Image,
            &uploaded(),
            None,
            MediaExtra::default(),
        );
        assert_eq!(
            forward(&compose::view_once(image), None),
            Err(ForwardError::ViewOnce)
        );
        let target = MessageTarget {
            chat: "15550001111@s.whatsapp.net".into(),
            id: "3EB0ABCDEF".into(),
            from_me: true,
            participant: None,
        };
        assert_eq!(
            forward(&compose::revoke_message(&target), None),
            Err(ForwardError::Unsupported("revoke and edit"))
        );
        let reaction = Message {
            reaction_message: Some(ReactionMessage {
                text: Some("👍".into()),
                ..Default::default()
            }),
            ..Message::default()
        };
        assert_eq!(
            forward(&reaction, None),
            Err(ForwardError::Unsupported("reaction"))
        );
        let poll = compose::poll_message("Q?", &["a".into(), "b".into()], 1, [1; 32]);
        assert_eq!(forward(&poll, None), Err(ForwardError::Unsupported("poll")));
        assert_eq!(
            forward(&Message::default(), None),
            Err(ForwardError::Unsupported("unknown"))
        );
    }
}
