//! Outgoing messages: the plaintext each device gets, message ids, and the `<message>`
//! stanza carrying one ciphertext per device.
//!
//! A 1:1 send encrypts [`encode_plaintext`](crate::send::encode_plaintext) of the message for every device of the
//! peer, and of [`device_sent`](crate::send::device_sent) (the same message wrapped with its destination) for our
//! own other devices, so they show it in the right chat. A group send encrypts the
//! message once under our sender key (`skmsg`) and hands the sender-key distribution
//! message pairwise to member devices that lack it. [`message_node`](crate::send::message_node) assembles either.

use prost::Message as _;
use rand_core::{CryptoRng, RngCore};

use crate::binary::{Jid, Node};
use crate::proto::message::Message;
use crate::proto::message::message::DeviceSentMessage;
use crate::signal::{CiphertextMessage, pad_message};

/// Prefix of ids made by WhatsApp Web (and whatsmeow, Baileys).
pub const MESSAGE_ID_PREFIX: &str = "3EB0";

/// The padded plaintext to encrypt: the protobuf plus WhatsApp's random padding.
pub fn encode_plaintext<R: RngCore + CryptoRng>(msg: &Message, rng: &mut R) -> Vec<u8> {
    pad_message(msg.encode_to_vec(), rng)
}

/// What our own other devices get for a message we send to `destination`: the message
/// inside a `DeviceSentMessage` naming the chat, with `message_context_info` repeated at
/// the top level (as WhatsApp clients send it).
pub fn device_sent(msg: Message, destination: &Jid) -> Message {
    let message_context_info = msg.message_context_info.clone();
    Message {
        device_sent_message: Some(Box::new(DeviceSentMessage {
            destination_jid: Some(destination.to_string()),
            message: Some(Box::new(msg)),
            phash: None,
        })),
        message_context_info,
        ..Message::default()
    }
}

/// A fresh message id in WhatsApp Web's format: `3EB0` and 18 uppercase hex digits
/// (9 random bytes; whatsmeow hashes time, own JID and randomness into the same shape).
pub fn generate_message_id<R: RngCore + CryptoRng>(rng: &mut R) -> String {
    let mut b = [0u8; 9];
    rng.fill_bytes(&mut b);
    let mut id = String::with_capacity(MESSAGE_ID_PREFIX.len() + 18);
    id.push_str(MESSAGE_ID_PREFIX);
    for byte in b {
        id.push_str(&format!("{byte:02X}"));
    }
    id
}

/// The stanza `type` of a message, and for media the `mediatype` of its `<enc>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StanzaKind<'a> {
    /// Text, edits, revokes and other protocol messages (`type=text`).
    Text,
    /// Media (`type=media`) with the enc `mediatype`: `image`, `video`, `gif`, `audio`,
    /// `ptt`, `document`, `sticker`, `url` (text with a link preview).
    Media(&'a str),
    /// A reaction (`type=reaction`; its encs carry `decrypt-fail=hide`).
    Reaction,
}

impl<'a> StanzaKind<'a> {
    /// The `type` attribute of the `<message>`.
    pub fn type_attr(&self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Media(_) => "media",
            Self::Reaction => "reaction",
        }
    }

    /// The `mediatype` attribute of the `<enc>`s, for media.
    pub fn media_type(&self) -> Option<&'a str> {
        match self {
            Self::Media(m) => Some(m),
            _ => None,
        }
    }
}

/// The kind of `msg` as WhatsApp clients label it on the wire.
pub fn stanza_kind(msg: &Message) -> StanzaKind<'static> {
    if msg.reaction_message.is_some() {
        return StanzaKind::Reaction;
    }
    let media = if msg.image_message.is_some() {
        "image"
    } else if msg.sticker_message.is_some() {
        "sticker"
    } else if msg.document_message.is_some() {
        "document"
    } else if let Some(a) = &msg.audio_message {
        if a.ptt() { "ptt" } else { "audio" }
    } else if let Some(v) = &msg.video_message {
        if v.gif_playback() { "gif" } else { "video" }
    } else if msg
        .extended_text_message
        .as_ref()
        .is_some_and(|t| t.title.is_some())
    {
        "url"
    } else {
        return StanzaKind::Text;
    };
    StanzaKind::Media(media)
}

/// Everything in an outgoing `<message>`, already encrypted.
#[derive(Debug, Clone)]
pub struct MessageStanza<'a> {
    /// The message id (see [`generate_message_id`]).
    pub id: &'a str,
    /// The chat: a user JID (1:1) or a group JID.
    pub to: &'a Jid,
    /// The `type` / `mediatype` labels.
    pub kind: StanzaKind<'a>,
    /// One ciphertext per device JID: the message itself (1:1) or the sender-key
    /// distribution (groups).
    pub participants: Vec<(Jid, CiphertextMessage)>,
    /// The group ciphertext under our sender key (groups only).
    pub skmsg: Option<Vec<u8>>,
    /// Our serialized `ADVSignedDeviceIdentity` as stored at pairing
    /// ([`crate::Credentials::account`], account signature key included, as whatsmeow
    /// and Baileys send it). Put in the stanza only when some participant gets a
    /// `pkmsg`: a device starting a session with us verifies from it that we belong to
    /// the account. Pass it whenever you have it.
    pub device_identity: Option<Vec<u8>>,
}

/// Builds `<message id to type><participants><to jid><enc v=2 type>…</enc></to>…
/// </participants>[<enc v=2 type=skmsg>][<device-identity>]</message>`. Participant
/// encs carry `mediatype` only in 1:1 sends (in groups they hold key material; the
/// `skmsg` carries it), as WhatsApp clients do.
pub fn message_node(m: &MessageStanza<'_>) -> Node {
    let hide = m.kind == StanzaKind::Reaction;
    let enc = |ty: &str, bytes: &[u8], media: Option<&str>| {
        let mut e = Node::new("enc").attr("v", "2").attr("type", ty);
        if let Some(mt) = media {
            e = e.attr("mediatype", mt);
        }
        if hide {
            e = e.attr("decrypt-fail", "hide");
        }
        e.bytes(bytes.to_vec())
    };
    let pairwise_media = m.kind.media_type().filter(|_| m.skmsg.is_none());
    let mut participants = Node::new("participants");
    for (jid, ct) in &m.participants {
        participants = participants.child(Node::new("to").attr("jid", jid.clone()).child(enc(
            ct.enc_type(),
            ct.bytes(),
            pairwise_media,
        )));
    }
    let mut node = Node::new("message")
        .attr("id", m.id)
        .attr("to", m.to.clone())
        .attr("type", m.kind.type_attr())
        .child(participants);
    if let Some(sk) = &m.skmsg {
        node = node.child(enc("skmsg", sk, m.kind.media_type()));
    }
    let any_pkmsg = m
        .participants
        .iter()
        .any(|(_, c)| matches!(c, CiphertextMessage::PreKey(_)));
    if let Some(identity) = m.device_identity.as_ref().filter(|_| any_pkmsg) {
        node = node.child(Node::new("device-identity").bytes(identity.clone()));
    }
    node
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::binary::{marshal, unmarshal};
    use crate::creds::SignedPreKey;
    use crate::keys::KeyPair;
    use crate::prekeys;
    use crate::proto::message::MessageContextInfo;
    use crate::proto::message::message::{
        AudioMessage, ExtendedTextMessage, ReactionMessage, VideoMessage,
    };
    use crate::receive::{self, EncKind};
    use crate::signal::ProtocolAddress;
    use crate::signal::keys::{LocalIdentity, PreKeyBundle, PublicKey};
    use crate::signal::sender_key::SenderKeyName;
    use crate::signal::store::{self, MemoryStore, TrustPolicy};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    fn text(s: &str) -> Message {
        Message {
            conversation: Some(s.into()),
            ..Message::default()
        }
    }

    /// What the simulator's router delivers to `device`: the shared attributes, `from`
    /// (and `participant` for groups), that device's enc and the shared children.
    fn route(sent: &Node, from: &Jid, device: &Jid) -> Node {
        let to = sent.attr_jid("to").unwrap();
        let mut out = Node::new("message")
            .attr("id", sent.attr_str("id").unwrap().into_owned())
            .attr("type", sent.attr_str("type").unwrap().into_owned())
            .attr("t", "1700000000");
        if to.is_group() {
            out = out
                .attr("from", to.clone())
                .attr("participant", from.clone());
        } else {
            out = out.attr("from", from.clone());
        }
        let mut children: Vec<Node> = sent
            .get_child("participants")
            .into_iter()
            .flat_map(|p| p.children_by_tag("to"))
            .filter(|t| t.attr_jid("jid").as_ref() == Some(device))
            .flat_map(|t| t.child_nodes().to_vec())
            .collect();
        children.extend(
            sent.child_nodes()
                .iter()
                .filter(|c| c.tag != "participants")
                .cloned(),
        );
        out.children(children)
    }

    struct Party {
        jid: Jid,
        store: MemoryStore,
        bundle: PreKeyBundle,
    }

    fn party(rng: &mut ChaCha20Rng, jid: Jid) -> Party {
        let key_pair = KeyPair::generate(rng);
        let spk = SignedPreKey::generate(&key_pair, 1, rng);
        let otk = prekeys::generate(rng, 10, 1).remove(0);
        let bundle = PreKeyBundle {
            registration_id: 42,
            identity_key: PublicKey::from(&key_pair),
            signed_pre_key_id: spk.id,
            signed_pre_key: PublicKey::from(&spk.key),
            signed_pre_key_signature: spk.signature,
            pre_key: Some((otk.id, PublicKey::from(&otk.key))),
        };
        let mut store = MemoryStore::new(LocalIdentity {
            key_pair,
            registration_id: 42,
        });
        store.signed_pre_keys.insert(spk.id, spk);
        store.pre_keys.insert(otk.id, otk);
        Party { jid, store, bundle }
    }

    fn addr(j: &Jid) -> ProtocolAddress {
        ProtocolAddress::new(j.user.clone(), u32::from(j.device))
    }

    #[test]
    fn one_to_one_send_decrypts_on_the_peer_and_our_other_device() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let pol = TrustPolicy::AcceptAndReport;
        let mut alice = party(&mut rng, Jid::device("15550001111", 1, "s.whatsapp.net"));
        let mut bob = party(&mut rng, Jid::device("15550002222", 3, "s.whatsapp.net"));
        let mut alice2 = party(&mut rng, Jid::device("15550001111", 2, "s.whatsapp.net"));
        let chat = bob.jid.to_non_ad();
        let msg = Message {
            message_context_info: Some(MessageContextInfo {
                message_secret: Some(vec![7; 32]),
                ..Default::default()
            }),
            ..text("hello bob")
        };
        let mut participants = Vec::new();
        for (peer, plain) in [
            (&bob, msg.clone()),
            (&alice2, device_sent(msg.clone(), &chat)),
        ] {
            let a = addr(&peer.jid);
            store::process_bundle(&mut alice.store, &a, &peer.bundle, pol, &mut rng).unwrap();
            let pt = encode_plaintext(&plain, &mut rng);
            participants.push((
                peer.jid.clone(),
                store::encrypt(&mut alice.store, &a, &pt, pol).unwrap(),
            ));
        }
        let id = generate_message_id(&mut rng);
        let stanza = MessageStanza {
            id: &id,
            to: &chat,
            kind: stanza_kind(&msg),
            participants,
            skmsg: None,
            device_identity: Some(vec![0xAD; 10]),
        };
        let sent = wire(message_node(&stanza));
        assert_eq!(sent.attr_str("type").as_deref(), Some("text"));
        assert_eq!(
            sent.get_child("device-identity").unwrap().content_bytes(),
            Some(&[0xAD; 10][..])
        );

        // Bob sees Alice's chat; Alice's other device sees Bob's (named by `recipient`).
        let alice_user = alice.jid.to_non_ad();
        for (party, expect_chat) in [(&mut bob, alice_user), (&mut alice2, chat.clone())] {
            let mut delivered = route(&sent, &alice.jid, &party.jid);
            if party.jid.user == alice.jid.user {
                delivered.set_attr("recipient", chat.clone());
            }
            let inc = receive::parse_message(&wire(delivered), &party.jid, None).unwrap();
            assert_eq!(inc.info.chat, expect_chat);
            assert_eq!(inc.info.from_me, party.jid.user == alice.jid.user);
            assert_eq!(inc.info.sender, alice.jid);
            assert_eq!(inc.encs.len(), 1);
            assert_eq!(inc.encs[0].kind, EncKind::Pkmsg);
            let d = store::decrypt(
                &mut party.store,
                &addr(&alice.jid),
                true,
                &inc.encs[0].ciphertext,
                pol,
                &mut rng,
            )
            .unwrap();
            let got = receive::unwrap_device_sent(receive::decode_plaintext(&d.plaintext).unwrap());
            assert_eq!(got, msg);
        }
    }

    #[test]
    fn group_send_shares_one_skmsg() {
        let mut rng = ChaCha20Rng::seed_from_u64(22);
        let pol = TrustPolicy::AcceptAndReport;
        let mut alice = party(&mut rng, Jid::device("15550001111", 1, "s.whatsapp.net"));
        let mut bob = party(&mut rng, Jid::device("15550002222", 3, "s.whatsapp.net"));
        let group = Jid::new("120363000000000007", "g.us");
        let name = SenderKeyName {
            group_id: group.to_string(),
            sender: addr(&alice.jid),
        };
        let dist = store::create_distribution(&mut alice.store, &name, &mut rng).unwrap();
        let skdm = crate::content::skdm_message(&group, &dist.serialize());
        let b = addr(&bob.jid);
        store::process_bundle(&mut alice.store, &b, &bob.bundle, pol, &mut rng).unwrap();
        let pt = encode_plaintext(&skdm, &mut rng);
        let to_bob = store::encrypt(&mut alice.store, &b, &pt, pol).unwrap();
        let image = Message {
            image_message: Some(Box::default()),
            ..Message::default()
        };
        let sk = store::group_encrypt(
            &mut alice.store,
            &name,
            &encode_plaintext(&image, &mut rng),
            &mut rng,
        )
        .unwrap();
        let id = generate_message_id(&mut rng);
        let sent = wire(message_node(&MessageStanza {
            id: &id,
            to: &group,
            kind: stanza_kind(&image),
            participants: vec![(bob.jid.clone(), to_bob)],
            skmsg: Some(sk),
            device_identity: None,
        }));
        let enc_bob = sent
            .get_child("participants")
            .unwrap()
            .get_child("to")
            .unwrap()
            .get_child("enc")
            .unwrap();
        assert_eq!(
            enc_bob.attr_str("mediatype"),
            None,
            "pairwise encs in groups carry key material"
        );
        assert_eq!(
            sent.get_child("enc")
                .unwrap()
                .attr_str("mediatype")
                .as_deref(),
            Some("image")
        );
        assert!(
            sent.get_child("device-identity").is_none(),
            "nothing to send when not given"
        );

        let inc =
            receive::parse_message(&route(&sent, &alice.jid, &bob.jid), &bob.jid, None).unwrap();
        assert!(inc.info.is_group);
        assert_eq!(inc.info.chat, group);
        let kinds: Vec<_> = inc.encs.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EncKind::Pkmsg, EncKind::Skmsg]);
        let a = addr(&alice.jid);
        let d = store::decrypt(
            &mut bob.store,
            &a,
            true,
            &inc.encs[0].ciphertext,
            pol,
            &mut rng,
        )
        .unwrap();
        let got = receive::decode_plaintext(&d.plaintext).unwrap();
        let raw = got
            .sender_key_distribution_message
            .unwrap()
            .axolotl_sender_key_distribution_message
            .unwrap();
        let dist = crate::signal::sender_key::SenderKeyDistributionMessage::parse(&raw).unwrap();
        store::process_distribution(&mut bob.store, &name, &dist).unwrap();
        let pt = store::group_decrypt(&mut bob.store, &name, &inc.encs[1].ciphertext).unwrap();
        assert_eq!(receive::decode_plaintext(&pt).unwrap(), image);
    }

    #[test]
    fn stanza_shape() {
        let to = Jid::new("15550002222", "s.whatsapp.net");
        let dev = Jid::device("15550002222", 1, "s.whatsapp.net");
        let stanza = MessageStanza {
            id: "3EB0X",
            to: &to,
            kind: StanzaKind::Media("ptt"),
            participants: vec![
                (dev.clone(), CiphertextMessage::Whisper(vec![1, 2])),
                (to.clone(), CiphertextMessage::PreKey(vec![3])),
            ],
            skmsg: None,
            device_identity: Some(vec![9]),
        };
        assert_eq!(
            wire(message_node(&stanza)).to_string(),
            "<message id=\"3EB0X\" to=\"15550002222@s.whatsapp.net\" type=\"media\"><participants>\
             <to jid=\"15550002222:1@s.whatsapp.net\"><enc v=\"2\" type=\"msg\" mediatype=\"ptt\">0102</enc></to>\
             <to jid=\"15550002222@s.whatsapp.net\"><enc v=\"2\" type=\"pkmsg\" mediatype=\"ptt\">03</enc></to>\
             </participants><device-identity>09</device-identity></message>"
        );
        let only_msg = MessageStanza {
            kind: StanzaKind::Reaction,
            participants: vec![(dev, CiphertextMessage::Whisper(vec![1]))],
            ..stanza
        };
        assert_eq!(
            wire(message_node(&only_msg)).to_string(),
            "<message id=\"3EB0X\" to=\"15550002222@s.whatsapp.net\" type=\"reaction\"><participants>\
             <to jid=\"15550002222:1@s.whatsapp.net\"><enc v=\"2\" type=\"msg\" decrypt-fail=\"hide\">01</enc></to>\
             </participants></message>"
        );
    }

    #[test]
    fn kinds_and_ids() {
        assert_eq!(stanza_kind(&text("x")), StanzaKind::Text);
        let reaction = Message {
            reaction_message: Some(ReactionMessage::default()),
            ..Message::default()
        };
        assert_eq!(stanza_kind(&reaction), StanzaKind::Reaction);
        let ptt = Message {
            audio_message: Some(Box::new(AudioMessage {
                ptt: Some(true),
                ..Default::default()
            })),
            ..Message::default()
        };
        assert_eq!(stanza_kind(&ptt), StanzaKind::Media("ptt"));
        let gif = Message {
            video_message: Some(Box::new(VideoMessage {
                gif_playback: Some(true),
                ..Default::default()
            })),
            ..Message::default()
        };
        assert_eq!(stanza_kind(&gif).media_type(), Some("gif"));
        let link = Message {
            extended_text_message: Some(Box::new(ExtendedTextMessage {
                text: Some("see https://x.y".into()),
                title: Some("X".into()),
                ..Default::default()
            })),
            ..Message::default()
        };
        assert_eq!(stanza_kind(&link).type_attr(), "media");

        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let id = generate_message_id(&mut rng);
        assert_eq!(id.len(), 22);
        assert!(id.starts_with("3EB0"));
        assert!(
            id[4..]
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
        );
        assert_ne!(generate_message_id(&mut rng), id);
    }

    #[test]
    fn device_sent_wraps_and_keeps_context() {
        let ctx = MessageContextInfo {
            message_secret: Some(vec![1; 32]),
            ..Default::default()
        };
        let msg = Message {
            message_context_info: Some(ctx.clone()),
            ..text("hi")
        };
        let dest = Jid::new("15550002222", "s.whatsapp.net");
        let w = device_sent(msg.clone(), &dest);
        let dsm = w.device_sent_message.as_ref().unwrap();
        assert_eq!(
            dsm.destination_jid.as_deref(),
            Some("15550002222@s.whatsapp.net")
        );
        assert_eq!(dsm.message.as_deref(), Some(&msg));
        assert_eq!(w.message_context_info, Some(ctx));
        assert_eq!(w.conversation, None);
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let padded = encode_plaintext(&w, &mut rng);
        assert_eq!(receive::decode_plaintext(&padded).unwrap(), w);
    }
}
