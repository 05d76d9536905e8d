//! Presence: whether this account shows as online (`<presence>`), and what it is
//! doing in one chat — typing, recording a voice note, or stopped
//! (`<chatstate>`). Neither is answered by the server. A contact's chat state
//! reaches us as `<chatstate from>` (in a group: `from` the group, `participant`
//! the member), parsed by [`parse_chat_state`].

use crate::binary::{Jid, Node};
use crate::stanza::{StanzaError, expect_tag, opt_jid_attr, req_jid_attr};

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

/// A contact's chat state, as the server relays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingChatState {
    /// The chat: the contact, or the group.
    pub chat: Jid,
    /// Who is typing or recording (the contact, or the group member).
    pub sender: Jid,
    /// What they are doing.
    pub state: ChatState,
}

impl IncomingChatState {
    /// Whether the chat is a group.
    pub fn is_group(&self) -> bool {
        self.chat.is_group()
    }
}

/// Parses `<chatstate from participant?><composing media?/>|<paused/></chatstate>`.
pub fn parse_chat_state(node: &Node) -> Result<IncomingChatState, StanzaError> {
    expect_tag(node, "chatstate")?;
    let chat = req_jid_attr(node, "from")?;
    let sender = match opt_jid_attr(node, "participant")? {
        Some(member) => member,
        None => chat.clone(),
    };
    let child = node
        .child_nodes()
        .first()
        .ok_or(StanzaError::MissingChild("composing"))?;
    let state = match (child.tag.as_str(), child.attr_str("media").as_deref()) {
        ("composing", Some("audio")) => ChatState::Recording,
        ("composing", _) => ChatState::Composing,
        ("paused", _) => ChatState::Paused,
        (other, _) => {
            return Err(StanzaError::BadValue {
                field: "chatstate",
                value: other.to_owned(),
            });
        }
    };
    Ok(IncomingChatState {
        chat,
        sender,
        state,
    })
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

    #[test]
    fn incoming_chat_states() {
        let bob = Jid::new("15550002222", "s.whatsapp.net");
        let group = Jid::new("120363000000000001", "g.us");
        let relayed = |child: Node| {
            let n = Node::new("chatstate")
                .attr("from", bob.clone())
                .child(child);
            unmarshal(&marshal(&n).expect("encode")).expect("decode")
        };
        let typing = parse_chat_state(&relayed(Node::new("composing"))).unwrap();
        assert_eq!(
            typing,
            IncomingChatState {
                chat: bob.clone(),
                sender: bob.clone(),
                state: ChatState::Composing,
            }
        );
        assert!(!typing.is_group());
        let recording = Node::new("composing").attr("media", "audio");
        assert_eq!(
            parse_chat_state(&relayed(recording)).unwrap().state,
            ChatState::Recording
        );
        assert_eq!(
            parse_chat_state(&relayed(Node::new("paused")))
                .unwrap()
                .state,
            ChatState::Paused
        );
        let in_group = Node::new("chatstate")
            .attr("from", group.clone())
            .attr("participant", bob.clone())
            .child(Node::new("paused"));
        let parsed = parse_chat_state(&in_group).unwrap();
        assert_eq!((parsed.chat, parsed.sender), (group, bob.clone()));
        assert!(parse_chat_state(&relayed(Node::new("dancing"))).is_err());
        assert!(parse_chat_state(&Node::new("chatstate").attr("from", bob)).is_err());
    }
}
