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

/// `message.deleted`: our other device deleted `message` for us; what we had
/// stored of it (`original`) goes along, as GOWA sends it: its chat, content,
/// sender, time and media type.
pub fn deleted_event(message: &MessageRef, original: &NewMessage, at: SystemTime) -> NewEvent {
    let mut p = Map::new();
    p.insert("deleted_message_id".into(), json!(message.id));
    p.insert("timestamp".into(), json!(rfc3339(at)));
    p.insert("from".into(), json!(original.sender));
    p.insert("chat_id".into(), json!(original.chat));
    p.insert(
        "original_content".into(),
        json!(original.text.clone().unwrap_or_default()),
    );
    p.insert("original_sender".into(), json!(original.sender));
    p.insert(
        "original_timestamp".into(),
        json!(rfc3339(original.timestamp)),
    );
    p.insert("was_from_me".into(), json!(original.from_me));
    if let Some(media) = &original.media {
        p.insert("original_media_type".into(), json!(original.kind));
        p.insert(
            "original_filename".into(),
            json!(media.file_name.clone().unwrap_or_default()),
        );
    }
    event(kind::DELETED, Value::Object(p))
}

/// Applies a delete-for-me synced from another of our devices: a stored message
/// is forgotten and `message.deleted` appended with what it was. A message we do
/// not have (never stored, history off, or already forgotten when a sync is
/// replayed) changes nothing and, as in GOWA, sends no event. Called by the
/// app-state sync for each such action.
pub async fn record_deleted_for_me(
    store: &DynStore,
    account: &AccountId,
    message: &MessageRef,
) -> Result<(), StoreError> {
    let Some(original) = store
        .get_message(account, &message.chat, &message.id)
        .await?
        .map(|m| m.message)
    else {
        return Ok(());
    };
    store
        .forget_message(account, &message.chat, &message.id)
        .await?;
    let changes = Changes {
        events: vec![deleted_event(message, &original, SystemTime::now())],
        ..Changes::default()
    };
    store.commit(account, &changes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_says_what_the_message_was() {
        let image = NewMessage {
            id: "3EB0AA".into(),
            chat: "120363000000000001@g.us".into(),
            sender: "15550002222@s.whatsapp.net".into(),
            from_me: false,
            timestamp: super::super::from_unix(1_700_000_000),
            kind: "image".into(),
            text: Some("look".into()),
            media: Some(wa_store::MediaInfo {
                file_name: Some("cat.jpg".into()),
                media_key: Some(vec![1; 32]),
                ..wa_store::MediaInfo::default()
            }),
            content: vec![],
            push_name: None,
            status: wa_store::MessageStatus::Received,
        };
        let message = MessageRef {
            chat: image.chat.clone(),
            id: image.id.clone(),
            from_me: false,
            participant: Some(image.sender.clone()),
        };
        let e = deleted_event(&message, &image, super::super::from_unix(0));
        assert_eq!(e.kind, "message.deleted");
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["deleted_message_id"], "3EB0AA");
        assert_eq!(v["chat_id"], "120363000000000001@g.us");
        assert_eq!(v["from"], "15550002222@s.whatsapp.net");
        assert_eq!(v["original_content"], "look");
        assert_eq!(v["original_timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(v["was_from_me"], false);
        assert_eq!(v["original_media_type"], "image");
        assert_eq!(v["original_filename"], "cat.jpg");
        assert_eq!(v["timestamp"], "1970-01-01T00:00:00Z");
        assert!(!e.payload.contains("media_key"));
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
