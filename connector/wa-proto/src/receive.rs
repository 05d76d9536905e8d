//! Incoming `<message>` stanzas: who sent what to which chat, and the `<enc>` payloads
//! to decrypt; then the decrypted bytes back to a `Message`.
//!
//! Addressing follows WhatsApp's rules: a group (or broadcast) message comes `from` the
//! group with the sending device in `participant`; a 1:1 message comes `from` the
//! sender's device; a copy of our own message sent from another of our devices comes
//! `from` that device with the chat in `recipient`.

use prost::Message as _;

use crate::binary::jid::{BROADCAST_SERVER, GROUP_SERVER, NEWSLETTER_SERVER};
use crate::binary::{Jid, Node};
use crate::proto::message::Message;
use crate::signal::unpad_message;
use crate::stanza::{
    StanzaError, expect_tag, opt_attr, opt_jid_attr, req_attr, req_jid_attr, req_num_attr,
};

/// Where a message belongs and who sent it, independent of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// The stanza (and message) id.
    pub id: String,
    /// The conversation: the peer's user JID (no device) in 1:1 chats, the group JID in
    /// groups; for our own messages echoed from another of our devices, the `recipient`.
    pub chat: Jid,
    /// The sending device.
    pub sender: Jid,
    /// True when one of our own devices sent it.
    pub from_me: bool,
    /// True for groups and broadcast lists (the sender is in `participant`).
    pub is_group: bool,
    /// Server timestamp (`t`, Unix seconds).
    pub timestamp: u64,
    /// The sender's display name (`notify`), when the server includes it.
    pub push_name: Option<String>,
    /// The stanza `type` (`text`, `media`, `reaction`, …; empty when absent).
    pub msg_type: String,
    /// The `participant` attribute as sent (groups and broadcasts).
    pub participant: Option<Jid>,
}

/// Which Signal layer an `<enc>` belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncKind {
    /// A pre-key message, which starts a session (may consume a one-time pre-key).
    Pkmsg,
    /// A message in an established session.
    Msg,
    /// A group message under the sender's sender key.
    Skmsg,
}

impl EncKind {
    /// From the `type` attribute; `None` for kinds this crate does not decrypt.
    pub fn from_type(ty: &str) -> Option<Self> {
        Some(match ty {
            "pkmsg" => Self::Pkmsg,
            "msg" => Self::Msg,
            "skmsg" => Self::Skmsg,
            _ => return None,
        })
    }

    /// The `type` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pkmsg => "pkmsg",
            Self::Msg => "msg",
            Self::Skmsg => "skmsg",
        }
    }
}

/// One `<enc>` child to decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncPart {
    /// Its Signal layer.
    pub kind: EncKind,
    /// The ciphertext (the element's content).
    pub ciphertext: Vec<u8>,
    /// The `mediatype` attribute (`image`, `ptt`, …), a hint before decryption.
    pub media_type: Option<String>,
}

/// A parsed `<message>` stanza: addressing plus the payloads to decrypt, in stanza order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// Addressing and metadata.
    pub info: MessageInfo,
    /// The usable `<enc>` children (kinds this crate cannot decrypt are skipped).
    pub encs: Vec<EncPart>,
}

/// True when `jid` is our account (by phone number or LID), any device.
fn is_own(jid: &Jid, me: &Jid, my_lid: Option<&Jid>) -> bool {
    let same = |a: &Jid, b: &Jid| a.user == b.user && a.server == b.server;
    same(jid, me) || my_lid.is_some_and(|l| same(jid, l))
}

/// Reads the addressing and metadata of a `<message>`; `me` and `my_lid` identify our
/// own account so echoes of our messages are recognised.
pub fn parse_info(node: &Node, me: &Jid, my_lid: Option<&Jid>) -> Result<MessageInfo, StanzaError> {
    expect_tag(node, "message")?;
    let id = req_attr(node, "id")?;
    let from = req_jid_attr(node, "from")?;
    let participant = opt_jid_attr(node, "participant")?;
    let (chat, sender, from_me, is_group) = match from.server.as_str() {
        GROUP_SERVER | BROADCAST_SERVER => {
            let sender = participant
                .clone()
                .ok_or(StanzaError::MissingAttr("participant"))?;
            let mine = is_own(&sender, me, my_lid);
            (from, sender, mine, true)
        }
        NEWSLETTER_SERVER => (from.clone(), from, false, false),
        _ if is_own(&from, me, my_lid) => {
            let chat = opt_jid_attr(node, "recipient")?.unwrap_or_else(|| from.to_non_ad());
            (chat, from, true, false)
        }
        _ => (from.to_non_ad(), from, false, false),
    };
    Ok(MessageInfo {
        id,
        chat,
        sender,
        from_me,
        is_group,
        timestamp: req_num_attr(node, "t")?,
        push_name: opt_attr(node, "notify"),
        msg_type: opt_attr(node, "type").unwrap_or_default(),
        participant,
    })
}

/// Parses a `<message>` stanza. `<enc>` children of unknown types are skipped; it is an
/// error only when none is usable (or there is no `<enc>` at all).
pub fn parse_message(
    node: &Node,
    me: &Jid,
    my_lid: Option<&Jid>,
) -> Result<IncomingMessage, StanzaError> {
    let info = parse_info(node, me, my_lid)?;
    let mut encs = Vec::new();
    let mut unknown = Vec::new();
    for enc in node.children_by_tag("enc") {
        let ty = req_attr(enc, "type")?;
        let Some(kind) = EncKind::from_type(&ty) else {
            unknown.push(ty);
            continue;
        };
        let ciphertext = match enc.content_bytes() {
            Some(b) if !b.is_empty() => b.to_vec(),
            _ => {
                return Err(StanzaError::BadValue {
                    field: "enc",
                    value: format!("empty {ty} payload"),
                });
            }
        };
        encs.push(EncPart {
            kind,
            ciphertext,
            media_type: opt_attr(enc, "mediatype"),
        });
    }
    if encs.is_empty() {
        return Err(match unknown.is_empty() {
            true => StanzaError::MissingChild("enc"),
            false => StanzaError::BadValue {
                field: "enc type",
                value: unknown.join(","),
            },
        });
    }
    Ok(IncomingMessage { info, encs })
}

/// Decrypted Signal plaintext to a `Message`: strips the padding (see
/// [`unpad_message`]) and decodes the protobuf.
pub fn decode_plaintext(bytes: &[u8]) -> Result<Message, StanzaError> {
    let body = unpad_message(bytes).map_err(|_| StanzaError::BadPadding)?;
    Message::decode(body).map_err(|e| StanzaError::BadProtobuf(e.to_string()))
}

/// The message inside a `DeviceSentMessage` (what our other device sent to the chat),
/// keeping the outer `message_context_info` when the inner one has none; any other
/// message is returned unchanged.
pub fn unwrap_device_sent(mut msg: Message) -> Message {
    let Some(inner) = msg
        .device_sent_message
        .as_mut()
        .and_then(|d| d.message.take())
    else {
        return msg;
    };
    let mut inner = *inner;
    if inner.message_context_info.is_none() {
        inner.message_context_info = msg.message_context_info.take();
    }
    inner
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};
    use crate::proto::message::MessageContextInfo;
    use crate::proto::message::message::DeviceSentMessage;

    fn me() -> Jid {
        Jid::device("15550001111", 4, "s.whatsapp.net")
    }
    fn my_lid() -> Jid {
        Jid::device("987654", 4, "lid")
    }

    /// Through the binary codec, as the connection delivers stanzas.
    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    fn enc(ty: &str, bytes: &[u8]) -> Node {
        Node::new("enc")
            .attr("v", "2")
            .attr("type", ty)
            .bytes(bytes.to_vec())
    }

    #[test]
    fn one_to_one_from_a_peer_device() {
        // The simulator's shape: <message id type t from=sender-device>.
        let n = wire(
            Node::new("message")
                .attr("id", "3EB0ABCDEF")
                .attr("type", "text")
                .attr("t", "1700000000")
                .attr("notify", "Bob")
                .attr("from", Jid::device("15550002222", 3, "s.whatsapp.net"))
                .children([
                    enc("pkmsg", &[0x33, 1, 2]).attr("mediatype", "image"),
                    enc("frskmsg", &[9]),
                ]),
        );
        let m = parse_message(&n, &me(), Some(&my_lid())).expect("parse");
        assert_eq!(
            m.info,
            MessageInfo {
                id: "3EB0ABCDEF".into(),
                chat: Jid::new("15550002222", "s.whatsapp.net"),
                sender: Jid::device("15550002222", 3, "s.whatsapp.net"),
                from_me: false,
                is_group: false,
                timestamp: 1_700_000_000,
                push_name: Some("Bob".into()),
                msg_type: "text".into(),
                participant: None,
            }
        );
        assert_eq!(
            m.encs,
            vec![EncPart {
                kind: EncKind::Pkmsg,
                ciphertext: vec![0x33, 1, 2],
                media_type: Some("image".into()),
            }]
        );
    }

    #[test]
    fn group_message_names_the_participant() {
        let n = wire(
            Node::new("message")
                .attr("id", "M1")
                .attr("type", "media")
                .attr("t", "5")
                .attr("from", Jid::new("120363000000000001", "g.us"))
                .attr(
                    "participant",
                    Jid::device("15550002222", 2, "s.whatsapp.net"),
                )
                .children([enc("pkmsg", &[1]), enc("skmsg", &[2, 2])]),
        );
        let m = parse_message(&n, &me(), None).unwrap();
        assert!(m.info.is_group && !m.info.from_me);
        assert_eq!(m.info.chat, Jid::new("120363000000000001", "g.us"));
        assert_eq!(
            m.info.sender,
            Jid::device("15550002222", 2, "s.whatsapp.net")
        );
        assert_eq!(m.info.participant.as_ref(), Some(&m.info.sender));
        let kinds: Vec<_> = m.encs.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EncKind::Pkmsg, EncKind::Skmsg]);

        // Our own device's group message is from_me.
        let mine = wire(n.clone().attr(
            "participant",
            Jid::device("15550001111", 9, "s.whatsapp.net"),
        ));
        assert!(parse_message(&mine, &me(), None).unwrap().info.from_me);
        let no_participant = Node {
            attrs: n
                .attrs
                .iter()
                .filter(|(k, _)| k != "participant")
                .cloned()
                .collect(),
            ..n
        };
        assert_eq!(
            parse_message(&no_participant, &me(), None),
            Err(StanzaError::MissingAttr("participant"))
        );
    }

    #[test]
    fn own_device_copy_uses_the_recipient_as_chat() {
        let n = wire(
            Node::new("message")
                .attr("id", "M2")
                .attr("t", "6")
                .attr("from", Jid::device("15550001111", 1, "s.whatsapp.net"))
                .attr("recipient", Jid::new("15550002222", "s.whatsapp.net"))
                .child(enc("msg", &[7])),
        );
        let m = parse_message(&n, &me(), None).unwrap();
        assert!(m.info.from_me && !m.info.is_group);
        assert_eq!(m.info.chat, Jid::new("15550002222", "s.whatsapp.net"));
        assert_eq!(
            m.info.sender,
            Jid::device("15550001111", 1, "s.whatsapp.net")
        );
        assert_eq!(m.info.msg_type, "");

        // Recognised by LID too; without recipient the chat is our own user.
        let lid = wire(
            Node::new("message")
                .attr("id", "M3")
                .attr("t", "6")
                .attr("from", Jid::device("987654", 2, "lid"))
                .child(enc("msg", &[7])),
        );
        let m = parse_message(&lid, &me(), Some(&my_lid())).unwrap();
        assert!(m.info.from_me);
        assert_eq!(m.info.chat, Jid::new("987654", "lid"));
    }

    #[test]
    fn malformed_messages() {
        let base = || {
            Node::new("message")
                .attr("id", "X")
                .attr("t", "1")
                .attr("from", Jid::device("1555", 1, "s.whatsapp.net"))
        };
        let err = |n: Node| parse_message(&n, &me(), None).unwrap_err();
        assert_eq!(err(base()), StanzaError::MissingChild("enc"));
        assert_eq!(
            err(base()
                .child(enc("frskmsg", &[1]))
                .child(enc("plaintext", &[1]))),
            StanzaError::BadValue {
                field: "enc type",
                value: "frskmsg,plaintext".into()
            }
        );
        assert!(matches!(
            err(base().child(Node::new("enc").attr("type", "msg"))),
            StanzaError::BadValue { field: "enc", .. }
        ));
        assert_eq!(
            err(Node::new("receipt")),
            StanzaError::UnexpectedTag {
                expected: "message",
                got: "receipt".into()
            }
        );
        assert_eq!(
            err(base().attr("t", "soon").child(enc("msg", &[1]))),
            StanzaError::BadValue {
                field: "t",
                value: "soon".into()
            }
        );
        let no_from = Node::new("message")
            .attr("id", "X")
            .attr("t", "1")
            .child(enc("msg", &[1]));
        assert_eq!(err(no_from), StanzaError::MissingAttr("from"));
        assert_eq!(
            err(base()
                .attr("from", "1:x@s.whatsapp.net")
                .child(enc("msg", &[1]))),
            StanzaError::BadValue {
                field: "from",
                value: "1:x@s.whatsapp.net".into()
            }
        );
    }

    #[test]
    fn plaintext_decoding() {
        let msg = Message {
            conversation: Some("hi there".into()),
            ..Default::default()
        };
        let mut bytes = msg.encode_to_vec();
        bytes.extend([3, 3, 3]);
        assert_eq!(decode_plaintext(&bytes).unwrap(), msg);
        let mut rng = rand_core::OsRng;
        for _ in 0..20 {
            let padded = crate::signal::pad_message(msg.encode_to_vec(), &mut rng);
            assert_eq!(decode_plaintext(&padded).unwrap(), msg);
        }
        let mut bad = msg.encode_to_vec();
        bad.extend([2, 3, 3]);
        assert_eq!(decode_plaintext(&bad), Err(StanzaError::BadPadding));
        assert_eq!(decode_plaintext(&[]), Err(StanzaError::BadPadding));
        assert!(matches!(
            decode_plaintext(&[0x0a, 0x05, b'a', 1]),
            Err(StanzaError::BadProtobuf(_))
        ));
    }

    #[test]
    fn device_sent_unwraps() {
        let inner = Message {
            conversation: Some("to bob".into()),
            ..Default::default()
        };
        let ctx = MessageContextInfo {
            message_secret: Some(vec![1; 32]),
            ..Default::default()
        };
        let wrapped = Message {
            device_sent_message: Some(Box::new(DeviceSentMessage {
                destination_jid: Some("15550002222@s.whatsapp.net".into()),
                message: Some(Box::new(inner.clone())),
                phash: None,
            })),
            message_context_info: Some(ctx.clone()),
            ..Default::default()
        };
        let got = unwrap_device_sent(wrapped);
        assert_eq!(got.conversation.as_deref(), Some("to bob"));
        assert_eq!(got.message_context_info, Some(ctx));
        assert_eq!(unwrap_device_sent(inner.clone()), inner);
    }
}
