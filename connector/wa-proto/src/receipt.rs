//! Receipts and acks: what we tell the server and senders about messages we handled,
//! and what they tell us about ours.
//!
//! * `<ack>` (ours, [`message_ack`](crate::receipt::message_ack)) tells the server a stanza was handled, so it stops
//!   redelivering it; `<ack>` from the server ([`parse_ack`](crate::receipt::parse_ack)) confirms (or refuses) a
//!   message we sent.
//! * `<receipt>` travels to the other party: delivered (no `type`), `read`, `played`,
//!   `retry` (please re-encrypt), `sender` (our own device got our message).

use crate::binary::jid::{HIDDEN_USER_SERVER, MESSENGER_SERVER, USER_SERVER};
use crate::binary::{Jid, Node};
use crate::receive::MessageInfo;
use crate::stanza::{
    StanzaError, expect_tag, fixed, opt_attr, opt_jid_attr, req_attr, req_child, req_jid_attr,
    req_num_attr,
};

/// The `<ack>` for a message, receipt, notification or call we handled: `class` is the
/// stanza's tag, `to` its `from`; `participant` and `recipient` are copied, and `type`
/// too except for messages (the server matches acks on these, as whatsmeow sends them).
pub fn message_ack(node: &Node) -> Node {
    let mut ack = Node::new("ack")
        .attr("class", node.tag.clone())
        .attr("id", node.attr_str("id").unwrap_or_default().into_owned());
    for key in ["from", "participant", "recipient"] {
        if let Some(v) = node.get_attr(key) {
            ack.set_attr(if key == "from" { "to" } else { key }, v.clone());
        }
    }
    if node.tag != "message"
        && let Some(t) = node.get_attr("type")
    {
        ack.set_attr("type", t.clone());
    }
    ack
}

/// `<receipt id to [participant] [recipient]>` addressed back along the path `info`
/// arrived on: to the group with the sender as participant, else to the sending
/// device; an echo of our own message names its chat as `recipient`.
fn receipt_to(info: &MessageInfo) -> Node {
    let mut r = Node::new("receipt").attr("id", info.id.clone());
    if info.is_group {
        r = r
            .attr("to", info.chat.clone())
            .attr("participant", info.sender.clone());
    } else {
        r = r.attr("to", info.sender.clone());
        if info.from_me && info.chat != info.sender.to_non_ad() {
            r = r.attr("recipient", info.chat.clone());
        }
    }
    r
}

/// The delivery receipt for a message we stored (two grey ticks for the sender). For
/// our own devices' messages it is `type=sender`, as WhatsApp clients send it.
pub fn delivery_receipt(info: &MessageInfo) -> Node {
    let r = receipt_to(info);
    if info.from_me {
        r.attr("type", ReceiptKind::Sender.as_str())
    } else {
        r
    }
}

/// Marks messages read (`type=read`, time `t`). All `ids` must come from one sender in
/// one chat; in groups (and broadcasts) `sender` names who sent them. The first id is
/// the `id` attribute, the others follow as `<list><item id/></list>`. `ids` must not
/// be empty.
pub fn read_receipt(chat: &Jid, sender: Option<&Jid>, ids: &[String], t: u64) -> Node {
    debug_assert!(!ids.is_empty(), "a read receipt names at least one message");
    let mut r = Node::new("receipt")
        .attr("id", ids.first().cloned().unwrap_or_default())
        .attr("type", ReceiptKind::Read.as_str())
        .attr("to", chat.clone())
        .attr("t", t.to_string());
    let user_chat = matches!(
        chat.server.as_str(),
        USER_SERVER | HIDDEN_USER_SERVER | MESSENGER_SERVER
    );
    if let Some(s) = sender.filter(|_| !user_chat) {
        r = r.attr("participant", s.to_non_ad());
    }
    if ids.len() > 1 {
        r = r.child(
            Node::new("list").children(
                ids[1..]
                    .iter()
                    .map(|id| Node::new("item").attr("id", id.clone())),
            ),
        );
    }
    r
}

/// Asks the sender to encrypt `info`'s message again (we could not decrypt it):
/// `type=retry` with `<retry count id t v=1/>` and our registration id. `count` starts
/// at 1; `t` is the failed message's own timestamp, as WhatsApp clients send it.
pub fn retry_receipt(info: &MessageInfo, count: u32, registration_id: u32, t: u64) -> Node {
    receipt_to(info)
        .attr("type", ReceiptKind::Retry.as_str())
        .children([
            Node::new("retry")
                .attr("count", count.to_string())
                .attr("id", info.id.clone())
                .attr("t", t.to_string())
                .attr("v", "1"),
            Node::new("registration").bytes(registration_id.to_be_bytes().to_vec()),
        ])
}

/// What a receipt reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptKind {
    /// Delivered to a device of the recipient (no `type`).
    Delivered,
    /// Read by the recipient.
    Read,
    /// Read on one of our own devices (read receipts switched off).
    ReadSelf,
    /// A voice/video message was played.
    Played,
    /// Played on one of our own devices.
    PlayedSelf,
    /// One of our own devices received our message.
    Sender,
    /// The recipient could not decrypt and asks for a re-send.
    Retry,
    /// Delivered to a device that is not in the foreground.
    Inactive,
    /// Any other type, kept verbatim.
    Other(String),
}

impl ReceiptKind {
    /// From the `type` attribute (`None`: a plain delivery receipt).
    pub fn from_type(ty: Option<&str>) -> Self {
        match ty {
            None | Some("") => Self::Delivered,
            Some("read") => Self::Read,
            Some("read-self") => Self::ReadSelf,
            Some("played") => Self::Played,
            Some("played-self") => Self::PlayedSelf,
            Some("sender") => Self::Sender,
            Some("retry") => Self::Retry,
            Some("inactive") => Self::Inactive,
            Some(other) => Self::Other(other.to_owned()),
        }
    }

    /// The `type` attribute value (empty for `Delivered`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Delivered => "",
            Self::Read => "read",
            Self::ReadSelf => "read-self",
            Self::Played => "played",
            Self::PlayedSelf => "played-self",
            Self::Sender => "sender",
            Self::Retry => "retry",
            Self::Inactive => "inactive",
            Self::Other(s) => s,
        }
    }
}

/// The `<retry>` part of a retry receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryRequest {
    /// How many times the recipient has asked (1 on the first retry).
    pub count: u32,
    /// The recipient device's registration id, to detect a reinstalled device.
    pub registration_id: Option<u32>,
}

/// A receipt for messages we sent (or, with `ReadSelf`/`Sender`, that our own devices
/// handled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingReceipt {
    /// The messages it covers (the `id`, then any `<list><item id>`).
    pub ids: Vec<String>,
    /// The conversation: the group, or the peer's user JID (for our own devices'
    /// receipts, the `recipient` when present).
    pub chat: Jid,
    /// The device that sent the receipt.
    pub sender: Jid,
    /// What it reports.
    pub kind: ReceiptKind,
    /// When (`t`, Unix seconds).
    pub timestamp: u64,
    /// Details of a retry request.
    pub retry: Option<RetryRequest>,
}

/// Parses a `<receipt>` from the server. Group receipts must name the device in
/// `participant`.
pub fn parse_receipt(node: &Node) -> Result<IncomingReceipt, StanzaError> {
    expect_tag(node, "receipt")?;
    let id = req_attr(node, "id")?;
    let from = req_jid_attr(node, "from")?;
    let (chat, sender) = if from.is_group() || from.is_broadcast() {
        (from, req_jid_attr(node, "participant")?)
    } else {
        let chat = opt_jid_attr(node, "recipient")?.unwrap_or_else(|| from.to_non_ad());
        (chat, from)
    };
    let kind = ReceiptKind::from_type(node.attr_str("type").as_deref());
    let mut ids = vec![id];
    if let Some(list) = node.get_child("list") {
        ids.extend(
            list.children_by_tag("item")
                .filter_map(|i| opt_attr(i, "id")),
        );
    }
    let retry = if kind == ReceiptKind::Retry {
        let r = req_child(node, "retry")?;
        let registration_id = node
            .get_child("registration")
            .map(|n| fixed::<4>("registration", n.content_bytes().unwrap_or_default()))
            .transpose()?
            .map(u32::from_be_bytes);
        Some(RetryRequest {
            count: req_num_attr(r, "count")?,
            registration_id,
        })
    } else {
        None
    };
    Ok(IncomingReceipt {
        ids,
        chat,
        sender,
        kind,
        timestamp: req_num_attr(node, "t")?,
        retry,
    })
}

/// The server's answer to a stanza we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAck {
    /// The acknowledged stanza's tag (`message`, `receipt`, …).
    pub class: String,
    /// Its id.
    pub id: String,
    /// The refusal code (`error` attribute, e.g. `403`, `479`), if refused.
    pub error: Option<String>,
}

/// Reads a server `<ack class id [error]>`; `None` for anything else.
pub fn parse_ack(node: &Node) -> Option<ServerAck> {
    if node.tag != "ack" {
        return None;
    }
    Some(ServerAck {
        class: opt_attr(node, "class")?,
        id: opt_attr(node, "id")?,
        error: opt_attr(node, "error"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }
    fn peer() -> Jid {
        Jid::device("15550002222", 3, "s.whatsapp.net")
    }
    fn group() -> Jid {
        Jid::new("120363000000000001", "g.us")
    }
    fn info(chat: Jid, sender: Jid, from_me: bool, is_group: bool) -> MessageInfo {
        MessageInfo {
            id: "3EB0AA".into(),
            participant: is_group.then(|| sender.clone()),
            chat,
            sender,
            from_me,
            is_group,
            timestamp: 1_700_000_123,
            push_name: None,
            msg_type: "text".into(),
        }
    }

    #[test]
    fn acks_copy_the_addressing() {
        let msg = Node::new("message")
            .attr("id", "M1")
            .attr("from", group())
            .attr("participant", peer())
            .attr("type", "text")
            .attr("t", "1");
        assert_eq!(
            wire(message_ack(&msg)).to_string(),
            "<ack class=\"message\" id=\"M1\" to=\"120363000000000001@g.us\" participant=\"15550002222:3@s.whatsapp.net\"/>"
        );
        let receipt = Node::new("receipt")
            .attr("id", "R1")
            .attr("from", peer())
            .attr("recipient", Jid::new("1555999", "s.whatsapp.net"))
            .attr("type", "read");
        let ack = wire(message_ack(&receipt));
        assert_eq!(ack.attr_str("class").as_deref(), Some("receipt"));
        assert_eq!(ack.attr_jid("to"), Some(peer()));
        assert_eq!(
            ack.attr_str("recipient").as_deref(),
            Some("1555999@s.whatsapp.net")
        );
        assert_eq!(ack.attr_str("type").as_deref(), Some("read"));
        let notif = Node::new("notification")
            .attr("id", "N1")
            .attr("from", group())
            .attr("type", "w:gp2");
        assert_eq!(
            message_ack(&notif).attr_str("type").as_deref(),
            Some("w:gp2")
        );
    }

    #[test]
    fn delivery_receipts() {
        let one = info(peer().to_non_ad(), peer(), false, false);
        assert_eq!(
            wire(delivery_receipt(&one)).to_string(),
            "<receipt id=\"3EB0AA\" to=\"15550002222:3@s.whatsapp.net\"/>"
        );
        let g = info(group(), peer(), false, true);
        assert_eq!(
            wire(delivery_receipt(&g)).to_string(),
            "<receipt id=\"3EB0AA\" to=\"120363000000000001@g.us\" participant=\"15550002222:3@s.whatsapp.net\"/>"
        );
        let own = Jid::device("15550001111", 2, "s.whatsapp.net");
        let echo = info(
            Jid::new("1555333", "s.whatsapp.net"),
            own.clone(),
            true,
            false,
        );
        assert_eq!(
            wire(delivery_receipt(&echo)).to_string(),
            "<receipt id=\"3EB0AA\" to=\"15550001111:2@s.whatsapp.net\" recipient=\"1555333@s.whatsapp.net\" type=\"sender\"/>"
        );
    }

    #[test]
    fn read_receipts_list_extra_ids() {
        let ids: Vec<String> = ["A", "B", "C"].map(String::from).to_vec();
        let r = wire(read_receipt(&group(), Some(&peer()), &ids, 99));
        assert_eq!(
            r.to_string(),
            "<receipt id=\"A\" type=\"read\" to=\"120363000000000001@g.us\" t=\"99\" participant=\"15550002222@s.whatsapp.net\"><list><item id=\"B\"/><item id=\"C\"/></list></receipt>"
        );
        let one = wire(read_receipt(
            &peer().to_non_ad(),
            Some(&peer()),
            &ids[..1],
            5,
        ));
        assert_eq!(
            one.to_string(),
            "<receipt id=\"A\" type=\"read\" to=\"15550002222@s.whatsapp.net\" t=\"5\"/>"
        );
    }

    #[test]
    fn retry_receipt_round_trips_through_the_parser() {
        let i = info(group(), peer(), false, true);
        let r = wire(retry_receipt(&i, 2, 0x0102_0304, i.timestamp));
        assert_eq!(
            r.to_string(),
            "<receipt id=\"3EB0AA\" to=\"120363000000000001@g.us\" participant=\"15550002222:3@s.whatsapp.net\" type=\"retry\"><retry count=\"2\" id=\"3EB0AA\" t=\"1700000123\" v=\"1\"/><registration>01020304</registration></receipt>"
        );
        // As the sender sees it after the server forwarded it (simulator shape).
        let mut fwd = Node::new("receipt")
            .attr("id", "3EB0AA")
            .attr("type", "retry")
            .attr("t", "1700000200")
            .attr("from", group())
            .attr("participant", peer());
        fwd.content = r.content.clone();
        let p = parse_receipt(&wire(fwd)).unwrap();
        assert_eq!(
            p,
            IncomingReceipt {
                ids: vec!["3EB0AA".into()],
                chat: group(),
                sender: peer(),
                kind: ReceiptKind::Retry,
                timestamp: 1_700_000_200,
                retry: Some(RetryRequest {
                    count: 2,
                    registration_id: Some(0x0102_0304)
                }),
            }
        );
    }

    #[test]
    fn parse_receipts() {
        let n = wire(
            Node::new("receipt")
                .attr("id", "A")
                .attr("type", "read")
                .attr("t", "10")
                .attr("from", peer())
                .child(Node::new("list").children([Node::new("item").attr("id", "B")])),
        );
        let r = parse_receipt(&n).unwrap();
        assert_eq!(r.ids, ["A", "B"]);
        assert_eq!(r.chat, peer().to_non_ad());
        assert_eq!(r.sender, peer());
        assert_eq!(r.kind, ReceiptKind::Read);
        assert_eq!(r.retry, None);

        let delivered = Node::new("receipt")
            .attr("id", "A")
            .attr("t", "1")
            .attr("from", peer());
        assert_eq!(
            parse_receipt(&delivered).unwrap().kind,
            ReceiptKind::Delivered
        );
        let own = delivered
            .clone()
            .attr("type", "read-self")
            .attr("from", Jid::device("1555111", 2, "s.whatsapp.net"))
            .attr("recipient", Jid::new("1555333", "s.whatsapp.net"));
        let o = parse_receipt(&own).unwrap();
        assert_eq!(
            (o.kind, o.chat),
            (ReceiptKind::ReadSelf, Jid::new("1555333", "s.whatsapp.net"))
        );
        let other = delivered.clone().attr("type", "server-error");
        assert_eq!(
            parse_receipt(&other).unwrap().kind,
            ReceiptKind::Other("server-error".into())
        );
        for k in [
            "",
            "read",
            "read-self",
            "played",
            "played-self",
            "sender",
            "retry",
            "inactive",
            "peer_msg",
        ] {
            assert_eq!(ReceiptKind::from_type(Some(k)).as_str(), k);
        }
    }

    #[test]
    fn malformed_receipts() {
        let base = Node::new("receipt").attr("id", "A").attr("t", "1");
        assert_eq!(parse_receipt(&base), Err(StanzaError::MissingAttr("from")));
        let g = base.clone().attr("from", group());
        assert_eq!(
            parse_receipt(&g),
            Err(StanzaError::MissingAttr("participant"))
        );
        let retry = base.clone().attr("from", peer()).attr("type", "retry");
        assert_eq!(
            parse_receipt(&retry),
            Err(StanzaError::MissingChild("retry"))
        );
        let bad_reg = retry.clone().children([
            Node::new("retry").attr("count", "1"),
            Node::new("registration").bytes(vec![1, 2]),
        ]);
        assert_eq!(
            parse_receipt(&bad_reg),
            Err(StanzaError::BadLength {
                field: "registration",
                expected: 4,
                got: 2
            })
        );
        let no_t = Node::new("receipt").attr("id", "A").attr("from", peer());
        assert_eq!(parse_receipt(&no_t), Err(StanzaError::MissingAttr("t")));
        assert!(matches!(
            parse_receipt(&Node::new("ack")),
            Err(StanzaError::UnexpectedTag { .. })
        ));
    }

    #[test]
    fn server_acks() {
        let ok = wire(
            Node::new("ack")
                .attr("class", "message")
                .attr("id", "3EB0AA")
                .attr("from", peer().to_non_ad())
                .attr("t", "1"),
        );
        assert_eq!(
            parse_ack(&ok),
            Some(ServerAck {
                class: "message".into(),
                id: "3EB0AA".into(),
                error: None
            })
        );
        let refused = ok.clone().attr("error", "403");
        assert_eq!(parse_ack(&refused).unwrap().error.as_deref(), Some("403"));
        assert_eq!(parse_ack(&Node::new("ack").attr("id", "x")), None);
        assert_eq!(parse_ack(&Node::new("receipt")), None);
    }
}
