//! The non-media messages the API sends (locations, contact cards, polls,
//! reactions, revokes, edits) and the context a message can carry (a quoted
//! reply, mentions, the "forwarded" label).
//!
//! Text and media builders live in [`crate::content`]; these complete the set a
//! REST client can ask for. All are pure: randomness (a poll's secret) and time
//! come from the caller.

use crate::proto::message::message::poll_creation_message::Option as PollOption;
use crate::proto::message::message::{
    ContactMessage, ExtendedTextMessage, FutureProofMessage, LocationMessage, PollCreationMessage,
    ProtocolMessage, ReactionMessage, protocol_message,
};
use crate::proto::message::{ContextInfo, Message, MessageContextInfo, MessageKey};

/// Which earlier message a reaction, revoke, edit or reply points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTarget {
    /// The chat it is in.
    pub chat: String,
    /// Its id.
    pub id: String,
    /// Whether we sent it.
    pub from_me: bool,
    /// Its sender, in groups (WhatsApp needs it to find the message there).
    pub participant: Option<String>,
}

impl MessageTarget {
    fn key(&self) -> MessageKey {
        MessageKey {
            remote_jid: Some(self.chat.clone()),
            from_me: Some(self.from_me),
            id: Some(self.id.clone()),
            participant: self.participant.clone(),
        }
    }
}

/// A location pin.
pub fn location_message(
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
) -> Message {
    Message {
        location_message: Some(Box::new(LocationMessage {
            degrees_latitude: Some(latitude),
            degrees_longitude: Some(longitude),
            name,
            address,
            ..Default::default()
        })),
        ..Message::default()
    }
}

/// A contact card for `name` with one phone number (`phone`: digits, with country code).
pub fn contact_message(name: &str, phone: &str) -> Message {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let name = vcard_escape(name);
    let vcard = format!(
        "BEGIN:VCARD\nVERSION:3.0\nN:;{name};;;\nFN:{name}\nTEL;type=CELL;type=VOICE;waid={digits}:+{digits}\nEND:VCARD"
    );
    Message {
        contact_message: Some(Box::new(ContactMessage {
            display_name: Some(name),
            vcard: Some(vcard),
            context_info: None,
        })),
        ..Message::default()
    }
}

/// Escapes the characters vCard 3.0 gives a meaning to in a text value.
fn vcard_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | ',' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A poll. `secret` (32 random bytes) is the key voters' choices are encrypted
/// with; the sender must keep it to read the votes.
pub fn poll_message(
    question: &str,
    options: &[String],
    max_answers: u32,
    secret: [u8; 32],
) -> Message {
    Message {
        poll_creation_message: Some(Box::new(PollCreationMessage {
            enc_key: Some(secret.to_vec()),
            name: Some(question.to_owned()),
            options: options
                .iter()
                .map(|o| PollOption {
                    option_name: Some(o.clone()),
                })
                .collect(),
            selectable_options_count: Some(max_answers),
            context_info: None,
        })),
        message_context_info: Some(MessageContextInfo {
            device_list_metadata_version: None,
            message_secret: Some(secret.to_vec()),
        }),
        ..Message::default()
    }
}

/// A reaction (`emoji`; empty removes ours) to `target`, at `now_ms`.
pub fn reaction_message(target: &MessageTarget, emoji: &str, now_ms: i64) -> Message {
    Message {
        reaction_message: Some(ReactionMessage {
            key: Some(target.key()),
            text: Some(emoji.to_owned()),
            grouping_key: None,
            sender_timestamp_ms: Some(now_ms),
        }),
        ..Message::default()
    }
}

/// Deletes `target` (one of ours) for everyone.
pub fn revoke_message(target: &MessageTarget) -> Message {
    Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            key: Some(target.key()),
            r#type: Some(protocol_message::Type::Revoke as i32),
            ..Default::default()
        })),
        ..Message::default()
    }
}

/// Makes an image, video or voice message view-once: the media marked
/// `view_once` and wrapped as WhatsApp clients send it (`viewOnceMessageV2`).
/// Other messages are returned unchanged (WhatsApp has no view-once text).
pub fn view_once(mut msg: Message) -> Message {
    let marked = if let Some(image) = msg.image_message.as_mut() {
        image.view_once = Some(true);
        true
    } else if let Some(video) = msg.video_message.as_mut() {
        video.view_once = Some(true);
        true
    } else if let Some(audio) = msg.audio_message.as_mut() {
        audio.view_once = Some(true);
        true
    } else {
        false
    };
    if !marked {
        return msg;
    }
    Message {
        view_once_message_v2: Some(Box::new(FutureProofMessage {
            message: Some(Box::new(msg)),
        })),
        ..Message::default()
    }
}

/// Turns disappearing messages in a one-to-one chat on (`seconds` > 0: how
/// long messages stay) or off (0), for both sides.
pub fn disappearing_setting(seconds: u32) -> Message {
    Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::EphemeralSetting as i32),
            ephemeral_expiration: Some(seconds),
            ..Default::default()
        })),
        ..Message::default()
    }
}

/// Replaces the text of `target` (one of ours) with `text`, at `now_ms`.
pub fn edit_message(target: &MessageTarget, text: &str, now_ms: i64) -> Message {
    Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            key: Some(target.key()),
            r#type: Some(protocol_message::Type::MessageEdit as i32),
            edited_message: Some(Box::new(crate::content::text_message(text))),
            timestamp_ms: Some(now_ms),
            ..Default::default()
        })),
        ..Message::default()
    }
}

/// How a message relates to the chat: what it quotes, whom it mentions, whether
/// it was forwarded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageContext {
    /// The message replied to, and its content when known (shown in the quote).
    pub reply_to: Option<(MessageTarget, Option<Message>)>,
    /// User JIDs mentioned with `@`.
    pub mentions: Vec<String>,
    /// Shows the "forwarded" label.
    pub forwarded: bool,
}

impl MessageContext {
    /// Whether there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.reply_to.is_none() && self.mentions.is_empty() && !self.forwarded
    }

    fn info(&self) -> ContextInfo {
        let (stanza_id, participant, quoted) = match &self.reply_to {
            Some((target, quoted)) => (
                Some(target.id.clone()),
                // The quoted message's author: its sender in groups, else the chat
                // peer or (for our own) left for the receiver to fill.
                target
                    .participant
                    .clone()
                    .or_else(|| (!target.from_me).then(|| target.chat.clone())),
                quoted.clone().map(Box::new),
            ),
            None => (None, None, None),
        };
        ContextInfo {
            stanza_id,
            participant,
            quoted_message: quoted,
            remote_jid: None,
            mentioned_jid: self.mentions.clone(),
            forwarding_score: self.forwarded.then_some(1),
            is_forwarded: self.forwarded.then_some(true),
            expiration: None,
        }
    }
}

/// Attaches `context` to `msg`: plain text becomes an extended text message (the
/// only text form that carries context); other kinds get it in their own field.
/// Kinds without a context field (reactions, protocol messages) are returned as
/// they are.
pub fn with_context(mut msg: Message, context: &MessageContext) -> Message {
    if context.is_empty() {
        return msg;
    }
    let info = Some(Box::new(context.info()));
    if let Some(text) = msg.conversation.take() {
        msg.extended_text_message = Some(Box::new(ExtendedTextMessage {
            text: Some(text),
            context_info: info,
            ..Default::default()
        }));
    } else if let Some(m) = msg.extended_text_message.as_mut() {
        m.context_info = info;
    } else if let Some(m) = msg.image_message.as_mut() {
        m.context_info = info;
    } else if let Some(m) = msg.video_message.as_mut() {
        m.context_info = info;
    } else if let Some(m) = msg.audio_message.as_mut() {
        m.context_info = info;
    } else if let Some(m) = msg.document_message.as_mut() {
        m.context_info = info;
    } else if let Some(m) = msg.location_message.as_mut() {
        m.context_info = info;
    } else if let Some(m) = msg.contact_message.as_mut() {
        m.context_info = info;
    } else if let Some(m) = msg.poll_creation_message.as_mut() {
        m.context_info = info;
    }
    msg
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::content::{summarize, text_message};

    fn reparse(m: &Message) -> Message {
        Message::decode(m.encode_to_vec().as_slice()).expect("our own encoding decodes")
    }

    fn target(from_me: bool) -> MessageTarget {
        MessageTarget {
            chat: "15550001111@s.whatsapp.net".into(),
            id: "3EB0ABCDEF".into(),
            from_me,
            participant: None,
        }
    }

    #[test]
    fn location_contact_and_poll_round_trip_and_summarize() {
        let loc = reparse(&location_message(
            52.52,
            13.405,
            Some("Berlin".into()),
            None,
        ));
        let l = loc.location_message.as_ref().unwrap();
        assert_eq!(
            (l.degrees_latitude, l.degrees_longitude),
            (Some(52.52), Some(13.405))
        );
        assert_eq!(summarize(&loc).kind, "location");
        assert_eq!(summarize(&loc).text.as_deref(), Some("Berlin"));

        let card = reparse(&contact_message("Ann; Lee", "+1 555-000-1111"));
        let c = card.contact_message.as_ref().unwrap();
        let vcard = c.vcard.as_deref().unwrap();
        assert!(vcard.contains("waid=15550001111:+15550001111"), "{vcard}");
        assert!(vcard.contains("FN:Ann\\; Lee"), "{vcard}");
        assert_eq!(summarize(&card).kind, "contact");

        let poll = reparse(&poll_message(
            "Lunch?",
            &["Pizza".into(), "Sushi".into()],
            1,
            [7; 32],
        ));
        let p = poll.poll_creation_message.as_ref().unwrap();
        assert_eq!(p.options.len(), 2);
        assert_eq!(p.options[1].option_name.as_deref(), Some("Sushi"));
        assert_eq!(p.selectable_options_count, Some(1));
        assert_eq!(
            poll.message_context_info.clone().unwrap().message_secret,
            Some(vec![7; 32])
        );
        assert_eq!(summarize(&poll).text.as_deref(), Some("Lunch?"));
    }

    #[test]
    fn reaction_revoke_and_edit_name_their_target() {
        let r = reparse(&reaction_message(&target(false), "👍", 1_700_000_000_000));
        let key = r.reaction_message.as_ref().unwrap().key.as_ref().unwrap();
        assert_eq!(key.id.as_deref(), Some("3EB0ABCDEF"));
        assert_eq!(key.from_me, Some(false));
        assert_eq!(summarize(&r).kind, "reaction");
        assert_eq!(summarize(&r).text.as_deref(), Some("👍"));

        let revoke = reparse(&revoke_message(&target(true)));
        let p = revoke.protocol_message.as_ref().unwrap();
        assert_eq!(p.r#type, Some(protocol_message::Type::Revoke as i32));
        assert_eq!(p.key.as_ref().unwrap().from_me, Some(true));

        let edit = reparse(&edit_message(&target(true), "fixed", 5));
        assert_eq!(summarize(&edit).kind, "protocol");
        assert_eq!(summarize(&edit).text.as_deref(), Some("fixed"));
    }

    #[test]
    fn context_turns_text_into_extended_text_with_quote_and_mentions() {
        let context = MessageContext {
            reply_to: Some((target(false), Some(text_message("hi")))),
            mentions: vec!["15550002222@s.whatsapp.net".into()],
            forwarded: true,
        };
        let msg = reparse(&with_context(text_message("hello @15550002222"), &context));
        assert!(msg.conversation.is_none());
        let ext = msg.extended_text_message.as_ref().unwrap();
        assert_eq!(ext.text.as_deref(), Some("hello @15550002222"));
        let info = ext.context_info.as_ref().unwrap();
        assert_eq!(info.stanza_id.as_deref(), Some("3EB0ABCDEF"));
        assert_eq!(
            info.participant.as_deref(),
            Some("15550001111@s.whatsapp.net")
        );
        assert_eq!(
            info.mentioned_jid,
            vec!["15550002222@s.whatsapp.net".to_owned()]
        );
        assert_eq!(info.is_forwarded, Some(true));
        assert_eq!(
            info.quoted_message
                .as_ref()
                .unwrap()
                .conversation
                .as_deref(),
            Some("hi")
        );
        assert_eq!(summarize(&msg).text.as_deref(), Some("hello @15550002222"));
    }

    #[test]
    fn view_once_marks_the_media_and_wraps_it() {
        let image = Message {
            image_message: Some(Box::new(crate::proto::message::message::ImageMessage {
                caption: Some("once".into()),
                ..Default::default()
            })),
            ..Message::default()
        };
        let wrapped = reparse(&view_once(image));
        assert!(wrapped.image_message.is_none());
        let inner = crate::content::view_once_inner(&wrapped).unwrap();
        let image = inner.image_message.as_ref().unwrap();
        assert_eq!(image.view_once, Some(true));
        // The receiving side sees through the wrapper.
        let summary = summarize(&wrapped);
        assert_eq!(
            (summary.kind, summary.text.as_deref()),
            ("image", Some("once"))
        );
        // No view-once text: left as it is.
        let text = text_message("hi");
        assert_eq!(view_once(text.clone()), text);
    }

    #[test]
    fn disappearing_setting_is_an_ephemeral_protocol_message() {
        let msg = reparse(&disappearing_setting(604_800));
        let protocol = msg.protocol_message.as_ref().unwrap();
        assert_eq!(
            protocol.r#type,
            Some(protocol_message::Type::EphemeralSetting as i32)
        );
        assert_eq!(protocol.ephemeral_expiration, Some(604_800));
        assert!(protocol.key.is_none());
    }

    #[test]
    fn empty_context_changes_nothing() {
        let msg = text_message("plain");
        assert_eq!(with_context(msg.clone(), &MessageContext::default()), msg);
    }
}
