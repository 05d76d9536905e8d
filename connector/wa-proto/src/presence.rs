//! Presence: whether this account shows as online (`<presence>`), and what it is
//! doing in one chat — typing, recording a voice note, or stopped
//! (`<chatstate>`). Neither is answered by the server.

use crate::binary::{Jid, Node};

/// `<presence type=available|unavailable name?/>`: online or offline to the
/// contacts subscribed to us. WhatsApp shows `name` (our push name) with it.
pub fn presence(available: bool, name: Option<&str>) -> Node {
    let node = Node::new("presence").attr(
        "type",
        if available {
            "available"
        } else {
            "unavailable"
        },
    );
    match name.filter(|n| !n.is_empty()) {
        Some(name) => node.attr("name", name),
        None => node,
    }
}

/// What this account is doing in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatState {
    /// Typing a message.
    Composing,
    /// Recording a voice note.
    Recording,
    /// Stopped typing or recording.
    Paused,
}

/// `<chatstate to><composing/></chatstate>` (recording: `<composing
/// media=audio/>`; stopped: `<paused/>`).
pub fn chat_state(to: &Jid, state: ChatState) -> Node {
    let child = match state {
        ChatState::Composing => Node::new("composing"),
        ChatState::Recording => Node::new("composing").attr("media", "audio"),
        ChatState::Paused => Node::new("paused"),
    };
    Node::new("chatstate").attr("to", to.clone()).child(child)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> String {
        unmarshal(&marshal(&n).expect("encode"))
            .expect("decode")
            .to_string()
    }

    #[test]
    fn presence_shapes() {
        assert_eq!(
            wire(presence(true, Some("Ann"))),
            "<presence type=\"available\" name=\"Ann\"/>"
        );
        assert_eq!(
            wire(presence(false, Some(""))),
            "<presence type=\"unavailable\"/>"
        );
    }

    #[test]
    fn chat_state_shapes() {
        let bob = Jid::new("15550002222", "s.whatsapp.net");
        assert_eq!(
            wire(chat_state(&bob, ChatState::Composing)),
            "<chatstate to=\"15550002222@s.whatsapp.net\"><composing/></chatstate>"
        );
        assert_eq!(
            wire(chat_state(&bob, ChatState::Recording)),
            "<chatstate to=\"15550002222@s.whatsapp.net\"><composing media=\"audio\"/></chatstate>"
        );
        assert_eq!(
            wire(chat_state(&bob, ChatState::Paused)),
            "<chatstate to=\"15550002222@s.whatsapp.net\"><paused/></chatstate>"
        );
    }
}
