//! The events the connector appends to its inbox, in GOWA's webhook shapes: the
//! delivered body is `{"event", "device_id", "payload"}`, and this module builds the
//! `payload` (the inbox stores the event name and payload; the deliverer adds the
//! envelope). Field names follow GOWA's documentation (`chat_id`, `from`,
//! `from_name`, RFC 3339 `timestamp`, `is_from_me`, `body`, …) so its clients work
//! unchanged.
//!
//! Media keys never appear in events: a media payload says where the file is (the
//! media store key once downloaded) and what it is, not how to decrypt it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use wa_store::{NewEvent, NewMessage, ReceiptUpdate};

pub mod message_changes;

pub use message_changes::{
    deleted_event, message_change_event, record_deleted_for_me, stored_edit,
};

/// Event names, as GOWA spells them.
pub mod kind {
    /// An incoming (or our other device's) message.
    pub const MESSAGE: &str = "message";
    /// A reaction to a message.
    pub const REACTION: &str = "message.reaction";
    /// A delivery, read or played receipt for our message.
    pub const ACK: &str = "message.ack";
    /// A message deleted for everyone by its sender (or a group admin).
    pub const REVOKED: &str = "message.revoked";
    /// A message given new text by its sender.
    pub const EDITED: &str = "message.edited";
    /// A message deleted for us from another of our devices.
    pub const DELETED: &str = "message.deleted";
    /// A contact typing, recording or stopping in a chat.
    pub const CHAT_PRESENCE: &str = "chat_presence";
    /// Members of a group joined, left, were promoted or demoted.
    pub const GROUP_PARTICIPANTS: &str = "group.participants";
    /// We were put in a group (added, or in it when it was created).
    pub const GROUP_JOINED: &str = "group.joined";
    /// Someone rings this account.
    pub const CALL_OFFER: &str = "call.offer";
    /// A message that could not be decrypted (the sender was asked to retry).
    pub const UNDECRYPTABLE: &str = "message.undecryptable";
    /// One of our sends was given up on.
    pub const SEND_FAILED: &str = "message.failed";
    /// The account was linked to a phone (beyond GOWA: it has no such webhook).
    pub const LOGIN: &str = "login.success";
    /// The account was unlinked (by the phone, WhatsApp or the API).
    pub const LOGOUT: &str = "logout";
    /// The account's connection is up and logged in.
    pub const CONNECTED: &str = "connection.connected";
    /// The account's connection was lost; a reconnect is scheduled.
    pub const DISCONNECTED: &str = "connection.disconnected";
}

/// RFC 3339 UTC, second precision, as GOWA writes timestamps.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// A message timestamp from the stanza's unix seconds.
pub fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// An event named `kind` with `payload`.
pub(crate) fn event(kind: &str, payload: Value) -> NewEvent {
    NewEvent {
        kind: kind.to_owned(),
        payload: payload.to_string(),
    }
}

/// The fields every message-borne event starts with: the message's id, chat,
/// sender (and its LID when known), push name, time and direction.
pub(crate) fn message_fields(m: &NewMessage, from_lid: Option<&str>) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("id".into(), json!(m.id));
    p.insert("chat_id".into(), json!(m.chat));
    p.insert("from".into(), json!(m.sender));
    if let Some(lid) = from_lid {
        p.insert("from_lid".into(), json!(lid));
    }
    if let Some(name) = &m.push_name {
        p.insert("from_name".into(), json!(name));
    }
    p.insert("timestamp".into(), json!(rfc3339(m.timestamp)));
    p.insert("is_from_me".into(), json!(m.from_me));
    p
}

/// The event for a stored message: `message` (or `message.reaction`).
///
/// `from_lid` is included when the sender's LID is known.
pub fn message_event(m: &NewMessage, from_lid: Option<&str>, reacted_id: Option<&str>) -> NewEvent {
    let mut p = message_fields(m, from_lid);
    if m.kind == "reaction" {
        p.insert("reaction".into(), json!(m.text.clone().unwrap_or_default()));
        if let Some(id) = reacted_id {
            p.insert("reacted_message_id".into(), json!(id));
        }
        return event(kind::REACTION, Value::Object(p));
    }
    if let Some(text) = &m.text {
        p.insert("body".into(), json!(text));
    }
    if m.kind == "text"
        && let Some(card) = crate::link_preview::webhook_fields(&m.content)
    {
        p.insert("link_preview".into(), card);
    }
    if let Some(media) = &m.media {
        let mut o = Map::new();
        if let Some(key) = &media.stored_key {
            o.insert("path".into(), json!(key));
        }
        if let Some(mime) = &media.mimetype {
            o.insert("mime_type".into(), json!(mime));
        }
        if let Some(len) = media.file_length {
            o.insert("file_length".into(), json!(len));
        }
        if let Some(name) = &media.file_name {
            o.insert("filename".into(), json!(name));
        }
        if let Some(caption) = &m.text {
            o.insert("caption".into(), json!(caption));
        }
        p.insert(m.kind.clone(), Value::Object(o));
    }
    event(kind::MESSAGE, Value::Object(p))
}

/// GOWA's wording of a receipt type.
fn receipt_description(status: &str) -> &'static str {
    match status {
        "delivered" => {
            "means the message was delivered to the device (but the user might not have noticed)."
        }
        "read" => "the user opened the chat and saw the message.",
        "played" => "the user played the voice note or video.",
        _ => "the message status changed.",
    }
}

/// `message.ack` for a receipt on our messages.
pub fn receipt_event(r: &ReceiptUpdate, from: &str, at: SystemTime) -> NewEvent {
    let status = r.status.as_str();
    event(
        kind::ACK,
        json!({
            "ids": r.ids,
            "chat_id": r.chat,
            "from": from,
            "receipt_type": status,
            "receipt_type_description": receipt_description(status),
            "timestamp": rfc3339(at),
        }),
    )
}

/// `message.undecryptable`: what we know of a message we could not read.
pub fn undecryptable_event(
    id: &str,
    chat: &str,
    from: &str,
    at: SystemTime,
    error: &str,
) -> NewEvent {
    event(
        kind::UNDECRYPTABLE,
        json!({
            "id": id,
            "chat_id": chat,
            "from": from,
            "timestamp": rfc3339(at),
            "error": error,
        }),
    )
}

/// `message.failed`: a send given up on.
pub fn send_failed_event(id: &str, chat: &str, error: &str, at: SystemTime) -> NewEvent {
    event(
        kind::SEND_FAILED,
        json!({ "id": id, "chat_id": chat, "error": error, "timestamp": rfc3339(at) }),
    )
}

/// A connection-state event (`login.success`, `logout`, `connection.*`).
pub fn connection_event(
    name: &'static str,
    jid: Option<&str>,
    reason: Option<&str>,
    at: SystemTime,
) -> NewEvent {
    let mut payload = Map::new();
    payload.insert(
        "jid".into(),
        jid.map_or(Value::Null, |j| Value::String(j.into())),
    );
    if let Some(reason) = reason {
        payload.insert("reason".into(), Value::String(reason.into()));
    }
    payload.insert("timestamp".into(), Value::String(rfc3339(at)));
    event(name, Value::Object(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wa_store::{MediaInfo, MessageStatus};

    fn msg(kind: &str) -> NewMessage {
        NewMessage {
            id: "3EB0AA".into(),
            chat: "15550001111@s.whatsapp.net".into(),
            sender: "15550001111@s.whatsapp.net".into(),
            from_me: false,
            timestamp: from_unix(1_700_000_000),
            kind: kind.into(),
            text: Some("hi".into()),
            media: None,
            content: vec![],
            push_name: Some("Ann".into()),
            status: MessageStatus::Received,
        }
    }

    #[test]
    fn text_message_has_gowa_fields() {
        let e = message_event(&msg("text"), None, None);
        assert_eq!(e.kind, "message");
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["id"], "3EB0AA");
        assert_eq!(v["chat_id"], "15550001111@s.whatsapp.net");
        assert_eq!(v["from_name"], "Ann");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(v["is_from_me"], false);
        assert_eq!(v["body"], "hi");
    }

    #[test]
    fn media_never_carries_its_key() {
        let mut m = msg("image");
        m.media = Some(MediaInfo {
            mimetype: Some("image/jpeg".into()),
            media_key: Some(vec![7; 32]),
            stored_key: Some("sha256/ab/cd".into()),
            ..MediaInfo::default()
        });
        let e = message_event(&m, Some("1234@lid"), None);
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["image"]["path"], "sha256/ab/cd");
        assert_eq!(v["image"]["caption"], "hi");
        assert_eq!(v["from_lid"], "1234@lid");
        assert!(!e.payload.contains("media_key"));
    }

    #[test]
    fn reactions_and_receipts() {
        let mut m = msg("reaction");
        m.text = Some("👍".into());
        let e = message_event(&m, None, Some("3EB0BB"));
        assert_eq!(e.kind, "message.reaction");
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["reaction"], "👍");
        assert_eq!(v["reacted_message_id"], "3EB0BB");
        let r = ReceiptUpdate {
            chat: "1@s.whatsapp.net".into(),
            ids: vec!["a".into(), "b".into()],
            status: MessageStatus::Read,
        };
        let e = receipt_event(&r, "1@s.whatsapp.net", from_unix(0));
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(e.kind, "message.ack");
        assert_eq!(v["ids"], json!(["a", "b"]));
        assert_eq!(v["receipt_type"], "read");
    }
}
