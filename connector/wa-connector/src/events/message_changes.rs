//! `message.revoked`, `message.edited` and `message.deleted`: an earlier message
//! deleted for everyone, given new text, or deleted for us from another of our
//! devices. The first two carry the fields of the message that made the change
//! (its id, sender, time) plus the changed message's id, as GOWA sends them.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use wa_proto::appstate::MessageRef;
use wa_proto::message_change::MessageChange;
use wa_store::{AccountId, Changes, DynStore, NewMessage, StoreError};

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
}
