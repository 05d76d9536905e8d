//! `chat_presence`: a contact typing, recording a voice note or stopping, in a
//! chat with us or in a group. WhatsApp relays these only while we show as
//! online; they are not acknowledged. The event goes out with the stanzas
//! around it (one commit), shaped as GOWA sends it: `state` is `composing` or
//! `paused`, and `media` says `audio` for a recording.

use std::time::SystemTime;

use serde_json::json;
use tracing::{debug, warn};
use wa_proto::binary::Node;
use wa_proto::presence::{ChatState, IncomingChatState, parse_chat_state};
use wa_store::NewEvent;

use crate::events::{self, kind};
use crate::receive::InboundBatch;

/// The event for a relayed chat state, received at `at`.
pub fn chat_presence_event(cs: &IncomingChatState, at: SystemTime) -> NewEvent {
    let (state, media) = match cs.state {
        ChatState::Composing => ("composing", ""),
        ChatState::Recording => ("composing", "audio"),
        ChatState::Paused => ("paused", ""),
    };
    events::event(
        kind::CHAT_PRESENCE,
        json!({
            "from": cs.sender.to_non_ad().to_string(),
            "chat_id": cs.chat.to_non_ad().to_string(),
            "state": state,
            "media": media,
            "is_group": cs.is_group(),
            "timestamp": events::rfc3339(at),
        }),
    )
}

/// Handles one `<chatstate>` stanza into `batch`.
pub fn handle_chat_state(node: &Node, batch: &mut InboundBatch) {
    match parse_chat_state(node) {
        Ok(cs) => {
            debug!(chat = %cs.chat, from = %cs.sender, state = ?cs.state, "chat state");
            batch
                .changes_mut()
                .events
                .push(chat_presence_event(&cs, SystemTime::now()));
            batch.count_unanswered();
        }
        Err(e) => warn!(error = %e, "malformed chat state dropped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use wa_proto::binary::Jid;

    #[test]
    fn recording_is_composing_audio_as_gowa_says_it() {
        let member = Jid::new("15550002222", "s.whatsapp.net");
        let cs = IncomingChatState {
            chat: Jid::new("120363000000000001", "g.us"),
            sender: member,
            state: ChatState::Recording,
        };
        let e = chat_presence_event(&cs, events::from_unix(1_700_000_000));
        assert_eq!(e.kind, "chat_presence");
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["from"], "15550002222@s.whatsapp.net");
        assert_eq!(v["chat_id"], "120363000000000001@g.us");
        assert_eq!(
            (&v["state"], &v["media"]),
            (&json!("composing"), &json!("audio"))
        );
        assert_eq!(v["is_group"], true);
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20Z");
    }
}
