//! Messages that change an earlier message instead of carrying content: a revoke
//! (deleted for everyone, by its sender or a group admin) and an edit (new text).
//! Both travel as a `ProtocolMessage` naming the earlier message by its key; an
//! edit may also come wrapped in the top-level `editedMessage` envelope.

use crate::content;
use crate::proto::message::message::{ProtocolMessage, protocol_message};
use crate::proto::message::{Message, MessageKey};

/// The earlier message a change is about, as its key names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedMessage {
    /// Its id.
    pub id: String,
    /// Whether the receiver of the change sent it (the key is written from the
    /// changer's side: `from_me` means the changer's own message).
    pub from_me: bool,
    /// The chat the key names, when it names one.
    pub chat: Option<String>,
    /// Its sender in a group, when the key names one.
    pub participant: Option<String>,
}

/// What a protocol message does to an earlier message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    /// Deleted for everyone.
    Revoke(ChangedMessage),
    /// Its text replaced.
    Edit {
        /// The edited message.
        target: ChangedMessage,
        /// The new text (or caption), if the edit carries one.
        text: Option<String>,
        /// When it was edited (milliseconds), if said.
        edited_at_ms: Option<i64>,
    },
}

impl MessageChange {
    /// The message changed.
    pub fn target(&self) -> &ChangedMessage {
        match self {
            MessageChange::Revoke(t) | MessageChange::Edit { target: t, .. } => t,
        }
    }
}

fn changed(key: &MessageKey) -> Option<ChangedMessage> {
    let id = key.id.clone().filter(|id| !id.is_empty())?;
    Some(ChangedMessage {
        id,
        from_me: key.from_me.unwrap_or(false),
        chat: key.remote_jid.clone().filter(|j| !j.is_empty()),
        participant: key.participant.clone().filter(|p| !p.is_empty()),
    })
}

fn from_protocol(p: &ProtocolMessage) -> Option<MessageChange> {
    let target = changed(p.key.as_ref()?)?;
    match p.r#type() {
        protocol_message::Type::Revoke => Some(MessageChange::Revoke(target)),
        protocol_message::Type::MessageEdit => Some(MessageChange::Edit {
            target,
            text: p
                .edited_message
                .as_deref()
                .and_then(|m| content::summarize(m).text),
            edited_at_ms: p.timestamp_ms,
        }),
        _ => None,
    }
}

/// The change `msg` makes, if it is a revoke or an edit (a `DeviceSentMessage` from
/// our other device and the `editedMessage` envelope are looked through). Other
/// protocol messages (disappearing setting, key shares, …) are not changes.
pub fn message_change(msg: &Message) -> Option<MessageChange> {
    if let Some(inner) = msg
        .device_sent_message
        .as_ref()
        .and_then(|d| d.message.as_deref())
    {
        return message_change(inner);
    }
    if let Some(p) = msg.protocol_message.as_deref() {
        return from_protocol(p);
    }
    msg.edited_message
        .as_ref()
        .and_then(|f| f.message.as_deref())
        .and_then(message_change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{MessageTarget, disappearing_setting, edit_message, revoke_message};
    use crate::proto::message::message::{DeviceSentMessage, FutureProofMessage};

    fn target(from_me: bool) -> MessageTarget {
        MessageTarget {
            chat: "15550001111@s.whatsapp.net".into(),
            id: "3EB0AA".into(),
            from_me,
            participant: None,
        }
    }

    #[test]
    fn revoke_names_the_message() {
        let change = message_change(&revoke_message(&target(true))).unwrap();
        let MessageChange::Revoke(t) = &change else {
            panic!("{change:?}")
        };
        assert_eq!(t.id, "3EB0AA");
        assert!(t.from_me);
        assert_eq!(t.chat.as_deref(), Some("15550001111@s.whatsapp.net"));
        assert_eq!(t.participant, None);
    }

    #[test]
    fn edit_carries_the_new_text_and_time() {
        let msg = edit_message(&target(true), "fixed", 1_700_000_000_123);
        assert_eq!(
            message_change(&msg),
            Some(MessageChange::Edit {
                target: ChangedMessage {
                    id: "3EB0AA".into(),
                    from_me: true,
                    chat: Some("15550001111@s.whatsapp.net".into()),
                    participant: None,
                },
                text: Some("fixed".into()),
                edited_at_ms: Some(1_700_000_000_123),
            })
        );
        // The same edit in the editedMessage envelope, and from our other device.
        let wrapped = Message {
            edited_message: Some(Box::new(FutureProofMessage {
                message: Some(Box::new(msg.clone())),
            })),
            ..Message::default()
        };
        assert_eq!(message_change(&wrapped), message_change(&msg));
        let synced = Message {
            device_sent_message: Some(Box::new(DeviceSentMessage {
                destination_jid: Some("15550001111@s.whatsapp.net".into()),
                message: Some(Box::new(wrapped)),
                phash: None,
            })),
            ..Message::default()
        };
        assert_eq!(message_change(&synced), message_change(&msg));
    }

    #[test]
    fn other_messages_change_nothing() {
        assert_eq!(message_change(&disappearing_setting(86_400)), None);
        assert_eq!(message_change(&content::text_message("hi")), None);
        // A revoke without the key of what it revokes is nothing to act on.
        let keyless = Message {
            protocol_message: Some(Box::new(ProtocolMessage {
                r#type: Some(protocol_message::Type::Revoke as i32),
                ..Default::default()
            })),
            ..Message::default()
        };
        assert_eq!(message_change(&keyless), None);
    }
}
