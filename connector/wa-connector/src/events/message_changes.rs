//! `message.revoked`, `message.edited` and `message.deleted`: an earlier message
//! deleted for everyone, given new text, or deleted for us from another of our
//! devices. The first two carry the fields of the message that made the change
//! (its id, sender, time) plus the changed message's id, as GOWA sends them.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use wa_proto::appstate::MessageRef;
use wa_proto::binary::Jid;
use wa_proto::message_change::MessageChange;
use wa_store::{AccountId, Changes, DynStore, EditKind, MessageEdit, NewMessage, StoreError};

use super::{event, kind, message_fields, rfc3339};
use wa_store::NewEvent;

/// The event for a received revoke or edit (`m` is the protocol message as stored).
pub fn message_change_event(m: &NewMessage, change: &MessageChange) -> NewEvent {
    let mut p = message_fields(m, None);
    match change {
        MessageChange::Revoke(target) => {
            p.insert("revoked_message_id".into(), json!(target.id));
            p.insert("revoked_from_me".into(), json!(target.from_me));
            if let Some(chat) = &target.chat {
                p.insert("revoked_chat".into(), json!(chat));
            }
            event(kind::REVOKED, Value::Object(p))
        }
        MessageChange::Edit { target, text, .. } => {
            p.insert("original_message_id".into(), json!(target.id));
            if let Some(text) = text {
                p.insert("body".into(), json!(text));
            }
            event(kind::EDITED, Value::Object(p))
        }
    }
}

/// What a received revoke or edit (`m`, as stored: its chat and sender) does to
/// the stored message it names. The changer's own message (`from_me` in the key,
/// written from the changer's side) is the one in this chat from that sender; a
/// group admin's revoke of a member's message names the member. Only senders
/// edit, so an edit of someone else's message changes nothing.
pub fn stored_edit(m: &NewMessage, change: &MessageChange) -> Option<MessageEdit> {
    let target = change.target();
    let sender = if target.from_me {
        m.sender.clone()
    } else {
        match change {
            MessageChange::Revoke(_) => {
                let member: Jid = target.participant.as_deref()?.parse().ok()?;
                member.to_non_ad().to_string()
            }
            MessageChange::Edit { .. } => return None,
        }
    };
    let change = match change {
        MessageChange::Revoke(_) => EditKind::Revoked,
        MessageChange::Edit { text, .. } => EditKind::Text(text.clone()?),
    };
    Some(MessageEdit {
        chat: m.chat.clone(),
        sender,
        id: target.id.clone(),
        change,
    })
}

/// `message.deleted`: our other device deleted `message` for us. What we had
/// stored of it (`original`, if anything) goes along, as GOWA sends it: the
/// content, sender, time and media type. `from` is the deleted message's sender
/// when known.
pub fn deleted_event(
    message: &MessageRef,
    original: Option<&NewMessage>,
    at: SystemTime,
) -> NewEvent {
    let mut p = Map::new();
    p.insert("deleted_message_id".into(), json!(message.id));
    p.insert("timestamp".into(), json!(rfc3339(at)));
    let sender = original.map(|m| m.sender.clone()).or_else(|| {
        match (&message.participant, message.from_me) {
            (Some(p), false) => Some(p.clone()),
            (None, false) => Some(message.chat.clone()),
            _ => None,
        }
    });
    if let Some(from) = sender {
        p.insert("from".into(), json!(from));
    }
    p.insert("chat_id".into(), json!(message.chat));
    if let Some(m) = original {
        p.insert(
            "original_content".into(),
            json!(m.text.clone().unwrap_or_default()),
        );
        p.insert("original_sender".into(), json!(m.sender));
        p.insert("original_timestamp".into(), json!(rfc3339(m.timestamp)));
        p.insert("was_from_me".into(), json!(m.from_me));
        if let Some(media) = &m.media {
            p.insert("original_media_type".into(), json!(m.kind));
            p.insert(
                "original_filename".into(),
                json!(media.file_name.clone().unwrap_or_default()),
            );
        }
    } else {
        p.insert("was_from_me".into(), json!(message.from_me));
    }
    event(kind::DELETED, Value::Object(p))
}

/// Applies a delete-for-me synced from another of our devices: the stored message
/// (if any) is forgotten and `message.deleted` appended with what it was. Called by
/// the app-state sync for each such action.
pub async fn record_deleted_for_me(
    store: &DynStore,
    account: &AccountId,
    message: &MessageRef,
) -> Result<(), StoreError> {
    let original = store
        .get_message(account, &message.chat, &message.id)
        .await?
        .map(|m| m.message);
    store
        .forget_message(account, &message.chat, &message.id)
        .await?;
    let changes = Changes {
        events: vec![deleted_event(message, original.as_ref(), SystemTime::now())],
        ..Changes::default()
    };
    store.commit(account, &changes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_of_an_unknown_message_still_names_it() {
        let ours = MessageRef {
            chat: "15550001111@s.whatsapp.net".into(),
            id: "3EB0AA".into(),
            from_me: true,
            participant: None,
        };
        let e = deleted_event(&ours, None, super::super::from_unix(0));
        assert_eq!(e.kind, "message.deleted");
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["deleted_message_id"], "3EB0AA");
        assert_eq!(v["chat_id"], "15550001111@s.whatsapp.net");
        assert_eq!(v["was_from_me"], true);
        assert_eq!(v["timestamp"], "1970-01-01T00:00:00Z");
        // Our own message, not stored: its sender is not known here.
        assert!(v.get("from").is_none());
        assert!(v.get("original_content").is_none());

        let theirs = MessageRef {
            chat: "120363000000000001@g.us".into(),
            participant: Some("15550002222@s.whatsapp.net".into()),
            from_me: false,
            ..ours
        };
        let v: Value =
            serde_json::from_str(&deleted_event(&theirs, None, SystemTime::now()).payload).unwrap();
        assert_eq!(v["from"], "15550002222@s.whatsapp.net");
    }

    #[test]
    fn a_change_names_the_stored_message_by_its_sender() {
        use wa_proto::message_change::ChangedMessage;
        let group = "120363000000000001@g.us";
        let admin = "15550009999@s.whatsapp.net";
        let by_admin = NewMessage {
            id: "REV".into(),
            chat: group.into(),
            sender: admin.into(),
            from_me: false,
            timestamp: super::super::from_unix(0),
            kind: "protocol".into(),
            text: None,
            media: None,
            content: vec![],
            push_name: None,
            status: wa_store::MessageStatus::Received,
        };
        let target = |from_me, participant: Option<&str>| ChangedMessage {
            id: "3EB0AA".into(),
            from_me,
            chat: Some(group.into()),
            participant: participant.map(str::to_owned),
        };
        // An admin revoking a member's message: the member's, device dropped.
        let revoke = MessageChange::Revoke(target(false, Some("15550002222:3@s.whatsapp.net")));
        assert_eq!(
            stored_edit(&by_admin, &revoke),
            Some(MessageEdit {
                chat: group.into(),
                sender: "15550002222@s.whatsapp.net".into(),
                id: "3EB0AA".into(),
                change: EditKind::Revoked,
            })
        );
        // Their own message: edited by its sender.
        let own = MessageChange::Edit {
            target: target(true, None),
            text: Some("new".into()),
            edited_at_ms: None,
        };
        let edit = stored_edit(&by_admin, &own).unwrap();
        assert_eq!(
            (edit.sender.as_str(), edit.change),
            (admin, EditKind::Text("new".into()))
        );
        // Nobody edits someone else's message; an edit without text changes nothing.
        let others = MessageChange::Edit {
            target: target(false, Some("15550002222@s.whatsapp.net")),
            text: Some("forged".into()),
            edited_at_ms: None,
        };
        assert_eq!(stored_edit(&by_admin, &others), None);
        let empty = MessageChange::Edit {
            target: target(true, None),
            text: None,
            edited_at_ms: None,
        };
        assert_eq!(stored_edit(&by_admin, &empty), None);
    }
}
