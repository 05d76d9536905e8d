//! Incoming calls (`<call>`). Voice and video calls are set up peer to peer; the
//! server only relays their signalling. A client that does not take calls still
//! reads the offer (who rings, the call id, voice or video, a group call's group)
//! and acknowledges every `<call>` stanza with an `<ack class=call type=…>` naming
//! its signalling element, or the server keeps redelivering it.

use crate::binary::{Jid, Node};
use crate::stanza::{
    StanzaError, expect_tag, opt_attr, opt_jid_attr, req_attr, req_jid_attr, req_num_attr,
};

/// A call being offered to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOffer {
    /// The call's id (`call-id`), the same on every device it rings.
    pub call_id: String,
    /// Who rings (the `call-creator`, else the stanza's `from`), as a user JID.
    pub caller: Jid,
    /// When it was offered (`t`, Unix seconds).
    pub timestamp: u64,
    /// A video call (the offer carries a `<video>` element); else voice.
    pub video: bool,
    /// The group, for a group call.
    pub group: Option<Jid>,
    /// The caller's platform (`android`, `iphone`, …), when the server says.
    pub platform: Option<String>,
    /// The caller's app version, when the server says.
    pub version: Option<String>,
    /// The caller's push name (`notify`), when given.
    pub push_name: Option<String>,
}

/// One `<call>` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncomingCall {
    /// A call rings.
    Offer(CallOffer),
    /// Other call signalling (`terminate`, `accept`, `reject`, `relaylatency`,
    /// …): the element's name and the call id when it has one.
    Other {
        /// The signalling element.
        kind: String,
        /// Its `call-id`.
        call_id: Option<String>,
    },
}

/// Parses `<call from id t platform? version? notify?><offer call-id call-creator?
/// group-jid?>…</offer></call>` (or another signalling element).
pub fn parse_call(node: &Node) -> Result<IncomingCall, StanzaError> {
    expect_tag(node, "call")?;
    let from = req_jid_attr(node, "from")?;
    let child = node
        .child_nodes()
        .first()
        .ok_or(StanzaError::MissingChild("offer"))?;
    if child.tag != "offer" {
        return Ok(IncomingCall::Other {
            kind: child.tag.clone(),
            call_id: opt_attr(child, "call-id"),
        });
    }
    let caller = opt_jid_attr(child, "call-creator")?.unwrap_or(from);
    Ok(IncomingCall::Offer(CallOffer {
        call_id: req_attr(child, "call-id")?,
        caller: caller.to_non_ad(),
        timestamp: req_num_attr(node, "t")?,
        video: child.get_child("video").is_some(),
        group: opt_jid_attr(child, "group-jid")?,
        platform: opt_attr(node, "platform"),
        version: opt_attr(node, "version"),
        push_name: opt_attr(node, "notify"),
    }))
}

/// The `<ack class=call id to type=<signalling element>>` for a `<call>` stanza.
pub fn call_ack(node: &Node) -> Node {
    let mut ack = Node::new("ack")
        .attr("class", "call")
        .attr("id", node.attr_str("id").unwrap_or_default().into_owned());
    if let Some(from) = node.get_attr("from") {
        ack.set_attr("to", from.clone());
    }
    if let Some(child) = node.child_nodes().first() {
        ack.set_attr("type", child.tag.clone());
    }
    ack
}

/// Our refusal of `offer`, sent as `me`: `<call id to=caller><reject call-id
/// call-creator count=0/></call>` (stanza `id`). The caller sees the call declined.
pub fn reject_call(id: &str, me: &Jid, offer: &CallOffer) -> Node {
    Node::new("call")
        .attr("id", id.to_owned())
        .attr("from", me.clone())
        .attr("to", offer.caller.clone())
        .child(
            Node::new("reject")
                .attr("call-id", offer.call_id.clone())
                .attr("call-creator", offer.caller.clone())
                .attr("count", "0"),
        )
}

/// The server's `<call>` offering `offer` (stanza `id`), as relayed to the callee's
/// devices: the voice codecs always, a video codec for a video call.
pub fn offer_stanza(id: &str, offer: &CallOffer) -> Node {
    let mut node = Node::new("call")
        .attr("from", offer.caller.clone())
        .attr("id", id.to_owned())
        .attr("t", offer.timestamp.to_string());
    for (key, value) in [
        ("platform", &offer.platform),
        ("version", &offer.version),
        ("notify", &offer.push_name),
    ] {
        if let Some(v) = value {
            node.set_attr(key, v.clone());
        }
    }
    let mut media = vec![
        Node::new("audio").attr("enc", "opus").attr("rate", "16000"),
        Node::new("audio").attr("enc", "opus").attr("rate", "8000"),
    ];
    if offer.video {
        media.push(
            Node::new("video")
                .attr("enc", "vp8")
                .attr("dec", "vp8")
                .attr("orientation", "0")
                .attr("screen_width", "1920")
                .attr("screen_height", "1080")
                .attr("device_orientation", "0"),
        );
    }
    media.push(Node::new("net").attr("medium", "3"));
    let mut o = Node::new("offer")
        .attr("call-id", offer.call_id.clone())
        .attr("call-creator", offer.caller.clone())
        .children(media);
    if let Some(group) = &offer.group {
        o.set_attr("group-jid", group.clone());
    }
    node.child(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    fn offer(video: bool, group: Option<Jid>) -> CallOffer {
        CallOffer {
            call_id: "8F2C1A0B9E".into(),
            caller: Jid::new("15550001111", "s.whatsapp.net"),
            timestamp: 1_700_000_000,
            video,
            group,
            platform: Some("android".into()),
            version: Some("2.24.1.5".into()),
            push_name: Some("Ann".into()),
        }
    }

    #[test]
    fn offers_round_trip_voice_video_and_group() {
        for o in [
            offer(false, None),
            offer(true, None),
            offer(false, Some(Jid::new("120363000000000001", "g.us"))),
        ] {
            let node = wire(offer_stanza("C1", &o));
            assert_eq!(parse_call(&node).unwrap(), IncomingCall::Offer(o));
        }
    }

    #[test]
    fn the_caller_is_the_creator_as_a_user() {
        let node = Node::new("call")
            .attr("from", Jid::device("15550001111", 2, "s.whatsapp.net"))
            .attr("id", "C2")
            .attr("t", "1700000000")
            .child(
                Node::new("offer")
                    .attr("call-id", "X")
                    .attr(
                        "call-creator",
                        Jid::device("15550001111", 2, "s.whatsapp.net"),
                    )
                    .child(Node::new("audio")),
            );
        let IncomingCall::Offer(o) = parse_call(&wire(node)).unwrap() else {
            panic!("not an offer")
        };
        assert_eq!(o.caller, Jid::new("15550001111", "s.whatsapp.net"));
        assert!(!o.video);
        assert_eq!((o.platform, o.push_name), (None, None));
    }

    #[test]
    fn acks_name_the_signalling_and_other_elements_are_reported() {
        let node = wire(offer_stanza("C3", &offer(true, None)));
        assert_eq!(
            call_ack(&node).to_string(),
            "<ack class=\"call\" id=\"C3\" to=\"15550001111@s.whatsapp.net\" type=\"offer\"/>"
        );
        let end = Node::new("call")
            .attr("from", Jid::new("15550001111", "s.whatsapp.net"))
            .attr("id", "C4")
            .attr("t", "1700000001")
            .child(Node::new("terminate").attr("call-id", "8F2C1A0B9E"));
        assert_eq!(
            parse_call(&end).unwrap(),
            IncomingCall::Other {
                kind: "terminate".into(),
                call_id: Some("8F2C1A0B9E".into()),
            }
        );
        assert_eq!(
            call_ack(&end).attr_str("type").as_deref(),
            Some("terminate")
        );
        assert!(
            parse_call(&Node::new("call").attr("from", Jid::new("1", "s.whatsapp.net"))).is_err()
        );
    }

    #[test]
    fn a_rejection_names_the_call_and_its_caller() {
        let me = Jid::device("15550002222", 4, "s.whatsapp.net");
        let o = offer(false, None);
        let node = wire(reject_call("R1", &me, &o));
        assert_eq!(
            node.to_string(),
            "<call id=\"R1\" from=\"15550002222:4@s.whatsapp.net\" to=\"15550001111@s.whatsapp.net\">\
             <reject call-id=\"8F2C1A0B9E\" call-creator=\"15550001111@s.whatsapp.net\" count=\"0\"/></call>"
        );
        // The server reads it as the refusal of that call.
        assert_eq!(
            parse_call(&node).unwrap(),
            IncomingCall::Other {
                kind: "reject".into(),
                call_id: Some(o.call_id),
            }
        );
    }
}
