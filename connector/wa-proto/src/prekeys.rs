//! One-time pre-keys: generation, the upload stanza, the server count query, and
//! fetching other devices' pre-key bundles to start sessions with them.

use rand_core::{CryptoRng, RngCore};

use crate::binary::{Jid, Node};
use crate::creds::Credentials;
use crate::keys::{DJB_TYPE, KeyPair};
use crate::signal::keys::{PreKeyBundle, PublicKey};
use crate::stanza::{
    StanzaError, child_bytes, error_child, fixed, id3, iq, parse_id3, req_child, req_jid_attr,
    self_or_child,
};

/// Upload more keys when the server holds fewer than this.
pub const MIN_PREKEY_COUNT: u32 = 5;
/// How many keys to upload at a time.
pub const UPLOAD_COUNT: u32 = 30;

/// A one-time pre-key.
#[derive(Debug, Clone)]
pub struct PreKey {
    /// Key id (24 bits on the wire).
    pub id: u32,
    /// The key pair.
    pub key: KeyPair,
}

/// `count` fresh pre-keys with ids from `first_id`.
pub fn generate<R: RngCore + CryptoRng>(rng: &mut R, first_id: u32, count: u32) -> Vec<PreKey> {
    (0..count)
        .map(|i| PreKey {
            id: (first_id + i) & 0x00ff_ffff,
            key: KeyPair::generate(rng),
        })
        .collect()
}

/// `<iq xmlns=encrypt type=set>` uploading `keys` with our identity and signed pre-key.
pub fn upload_node(iq_id: &str, creds: &Credentials, keys: &[PreKey]) -> Node {
    let spk = &creds.signed_pre_key;
    iq(iq_id, "encrypt", "set", Jid::server_jid()).children([
        Node::new("registration").bytes(creds.registration_id.to_be_bytes().to_vec()),
        Node::new("type").bytes(vec![DJB_TYPE]),
        Node::new("identity").bytes(creds.identity_key.public.to_vec()),
        Node::new("list").children(keys.iter().map(|k| {
            Node::new("key").children([
                Node::new("id").bytes(id3(k.id)),
                Node::new("value").bytes(k.key.public.to_vec()),
            ])
        })),
        Node::new("skey").children([
            Node::new("id").bytes(id3(spk.id)),
            Node::new("value").bytes(spk.key.public.to_vec()),
            Node::new("signature").bytes(spk.signature.to_vec()),
        ]),
    ])
}

/// `<iq xmlns=encrypt type=get><count/></iq>`: how many of our pre-keys the server holds.
pub fn count_query(iq_id: &str) -> Node {
    iq(iq_id, "encrypt", "get", Jid::server_jid()).child(Node::new("count"))
}

/// The `value` of `<count value=N/>` in the result.
pub fn parse_count(result: &Node) -> Option<u32> {
    result.get_child("count")?.attr_str("value")?.parse().ok()
}

/// `<iq xmlns=encrypt type=get><key><user jid reason=identity/>…</key></iq>`: the
/// pre-key bundles of `devices` (device JIDs), to start sessions with them. Each
/// one-time pre-key is handed out once, so fetch only for devices without a session.
pub fn bundle_query(iq_id: &str, devices: &[Jid]) -> Node {
    iq(iq_id, "encrypt", "get", Jid::server_jid()).child(Node::new("key").children(
        devices.iter().map(|d| {
            Node::new("user")
                .attr("jid", d.clone())
                .attr("reason", "identity")
        }),
    ))
}

/// A Curve25519 public key from a bundle: 32 bytes, or 33 with the `0x05` prefix.
fn public_key(field: &'static str, bytes: &[u8]) -> Result<PublicKey, StanzaError> {
    PublicKey::from_slice(bytes).ok_or(StanzaError::BadLength {
        field,
        expected: 32,
        got: bytes.len(),
    })
}

/// `<key>` / `<skey>`: the id (3 bytes) and public key.
fn key_entry(node: &Node) -> Result<(u32, PublicKey), StanzaError> {
    Ok((
        parse_id3("id", child_bytes(node, "id")?)?,
        public_key("value", child_bytes(node, "value")?)?,
    ))
}

/// One `<user>` of a bundle answer (its keys may sit in a `<keys>` wrapper).
fn parse_bundle(user: &Node) -> Result<PreKeyBundle, StanzaError> {
    if let Some(e) = error_child(user) {
        return Err(e);
    }
    let registration_id =
        u32::from_be_bytes(fixed("registration", child_bytes(user, "registration")?)?);
    let keys = user.get_child("keys").unwrap_or(user);
    let identity_key = public_key("identity", child_bytes(keys, "identity")?)?;
    let pre_key = keys.get_child("key").map(key_entry).transpose()?;
    let skey = req_child(keys, "skey")?;
    let (signed_pre_key_id, signed_pre_key) = key_entry(skey)?;
    Ok(PreKeyBundle {
        registration_id,
        identity_key,
        signed_pre_key_id,
        signed_pre_key,
        signed_pre_key_signature: fixed("signature", child_bytes(skey, "signature")?)?,
        pre_key,
    })
}

/// One device's entry in a bundle answer: its JID and its bundle or why there is none.
pub type DeviceBundle = (Jid, Result<PreKeyBundle, StanzaError>);

/// Reads the answer to [`bundle_query`] (the iq or its `<list>`): one entry per
/// `<user>`, in order; a device the server reports with `<error code>` (or a malformed
/// bundle) gets its own `Err`, so one bad device does not hide the others.
pub fn parse_bundles(result: &Node) -> Result<Vec<DeviceBundle>, StanzaError> {
    self_or_child(result, "list")?
        .children_by_tag("user")
        .map(|u| Ok((req_jid_attr(u, "jid")?, parse_bundle(u))))
        .collect()
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::binary::{marshal, unmarshal};
    use crate::creds::SignedPreKey;
    use crate::signal::ProtocolAddress;
    use crate::signal::keys::LocalIdentity;
    use crate::signal::store::{self, MemoryStore, TrustPolicy};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    /// A device's published keys as the simulator answers them.
    fn user_node(
        jid: &Jid,
        reg: u32,
        identity: &KeyPair,
        spk: &SignedPreKey,
        otk: Option<&PreKey>,
    ) -> Node {
        let mut children = vec![
            Node::new("registration").bytes(reg.to_be_bytes().to_vec()),
            Node::new("type").bytes(vec![DJB_TYPE]),
            Node::new("identity").bytes(identity.public.to_vec()),
        ];
        if let Some(k) = otk {
            children.push(Node::new("key").children([
                Node::new("id").bytes(id3(k.id)),
                Node::new("value").bytes(k.key.public.to_vec()),
            ]));
        }
        children.push(Node::new("skey").children([
            Node::new("id").bytes(id3(spk.id)),
            Node::new("value").bytes(spk.key.public.to_vec()),
            Node::new("signature").bytes(spk.signature.to_vec()),
        ]));
        Node::new("user")
            .attr("jid", jid.clone())
            .children(children)
    }

    #[test]
    fn bundle_query_shape() {
        let devs = [
            Jid::device("1555", 1, "s.whatsapp.net"),
            Jid::device("1666", 0, "s.whatsapp.net"),
        ];
        assert_eq!(
            wire(bundle_query("q1", &devs)).to_string(),
            "<iq id=\"q1\" xmlns=\"encrypt\" type=\"get\" to=\"s.whatsapp.net\"><key><user jid=\"1555:1@s.whatsapp.net\" reason=\"identity\"/><user jid=\"1666@s.whatsapp.net\" reason=\"identity\"/></key></iq>"
        );
    }

    #[test]
    fn parsed_bundles_start_working_sessions() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let identity = KeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&identity, 0x01_0203, &mut rng);
        let otk = generate(&mut rng, 0x00_0a0b, 1).remove(0);
        let bob = Jid::device("15550002222", 4, "s.whatsapp.net");
        let gone = Jid::device("15550003333", 1, "s.whatsapp.net");
        let answer = wire(
            Node::new("iq")
                .attr("id", "q1")
                .attr("type", "result")
                .attr("from", Jid::server_jid())
                .child(
                    Node::new("list").children([
                        user_node(&bob, 0x3fff, &identity, &spk, Some(&otk)),
                        Node::new("user").attr("jid", gone.clone()).child(
                            Node::new("error")
                                .attr("code", "404")
                                .attr("text", "item-not-found"),
                        ),
                    ]),
                ),
        );
        let mut got = parse_bundles(&answer).expect("answer");
        assert_eq!(got.len(), 2);
        let (gone_jid, gone_res) = got.pop().unwrap();
        assert_eq!(gone_jid, gone);
        assert_eq!(
            gone_res.unwrap_err(),
            StanzaError::Server {
                code: "404".into(),
                text: Some("item-not-found".into())
            }
        );
        let (jid, bundle) = got.pop().unwrap();
        let bundle = bundle.expect("bundle");
        assert_eq!(jid, bob);
        assert_eq!(bundle.registration_id, 0x3fff);
        assert_eq!(bundle.identity_key.0, identity.public);
        assert_eq!(bundle.signed_pre_key_id, 0x01_0203);
        assert_eq!(bundle.signed_pre_key.0, spk.key.public);
        assert_eq!(bundle.pre_key, Some((0x0a0b, PublicKey::from(&otk.key))));
        bundle.verify_signature().expect("signature");

        // The bundle is good enough to talk to the device that published it.
        let alice = LocalIdentity {
            key_pair: KeyPair::generate(&mut rng),
            registration_id: 7,
        };
        let mut a = MemoryStore::new(alice);
        let mut b = MemoryStore::new(LocalIdentity {
            key_pair: identity,
            registration_id: 0x3fff,
        });
        b.signed_pre_keys.insert(spk.id, spk);
        b.pre_keys.insert(otk.id, otk);
        let pol = TrustPolicy::AcceptAndReport;
        let bob_addr = ProtocolAddress::new(bob.user.clone(), 4);
        store::process_bundle(&mut a, &bob_addr, &bundle, pol, &mut rng).unwrap();
        let m = store::encrypt(&mut a, &bob_addr, b"hello", pol).unwrap();
        let alice_addr = ProtocolAddress::new("15550001111", 1);
        let d = store::decrypt(&mut b, &alice_addr, true, m.bytes(), pol, &mut rng).unwrap();
        assert_eq!(d.plaintext, b"hello");
        assert_eq!(d.consumed_pre_key, Some(0x0a0b));
    }

    #[test]
    fn bundle_without_one_time_key_and_in_a_keys_wrapper() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let identity = KeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&identity, 5, &mut rng);
        let dev = Jid::device("1555", 2, "s.whatsapp.net");
        let flat = user_node(&dev, 1, &identity, &spk, None);
        let mut wrapped = Node::new("user")
            .attr("jid", dev.clone())
            .child(Node::new("registration").bytes(1u32.to_be_bytes().to_vec()));
        wrapped = wrapped.child(
            Node::new("keys").children(
                flat.child_nodes()
                    .iter()
                    .filter(|c| c.tag != "registration")
                    .cloned(),
            ),
        );
        let list = Node::new("list").children([flat, wrapped]);
        for (jid, b) in parse_bundles(&wire(list)).unwrap() {
            let b = b.expect("bundle");
            assert_eq!(jid, dev);
            assert_eq!(b.pre_key, None);
            assert_eq!(b.signed_pre_key_id, 5);
            b.verify_signature().unwrap();
        }
    }

    #[test]
    fn malformed_bundles() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let identity = KeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&identity, 5, &mut rng);
        let dev = Jid::device("1555", 2, "s.whatsapp.net");
        let good = user_node(&dev, 1, &identity, &spk, None);
        let without = |tag: &str| Node {
            content: crate::binary::Content::Nodes(
                good.child_nodes()
                    .iter()
                    .filter(|c| c.tag != tag)
                    .cloned()
                    .collect(),
            ),
            ..good.clone()
        };
        let one = |n: Node| {
            parse_bundles(&Node::new("list").child(n))
                .unwrap()
                .remove(0)
                .1
                .unwrap_err()
        };
        assert_eq!(one(without("skey")), StanzaError::MissingChild("skey"));
        assert_eq!(
            one(without("registration")),
            StanzaError::MissingChild("registration")
        );
        let short_id = without("skey").child(Node::new("skey").children([
            Node::new("id").bytes(vec![5]),
            Node::new("value").bytes(spk.key.public.to_vec()),
            Node::new("signature").bytes(spk.signature.to_vec()),
        ]));
        assert_eq!(
            one(short_id),
            StanzaError::BadLength {
                field: "id",
                expected: 3,
                got: 1
            }
        );
        let short_sig = without("skey").child(Node::new("skey").children([
            Node::new("id").bytes(id3(5)),
            Node::new("value").bytes(spk.key.public.to_vec()),
            Node::new("signature").bytes(vec![0; 63]),
        ]));
        assert!(matches!(
            one(short_sig),
            StanzaError::BadLength {
                field: "signature",
                ..
            }
        ));
        let bad_identity = without("identity").child(Node::new("identity").bytes(vec![1; 31]));
        assert!(matches!(
            one(bad_identity),
            StanzaError::BadLength {
                field: "identity",
                ..
            }
        ));
        // A user without jid cannot be attributed: the whole answer is refused.
        assert_eq!(
            parse_bundles(&Node::new("list").child(Node::new("user"))).unwrap_err(),
            StanzaError::MissingAttr("jid")
        );
        let err = Node::new("iq")
            .attr("type", "error")
            .child(Node::new("error").attr("code", "400"));
        assert!(matches!(
            parse_bundles(&err),
            Err(StanzaError::Server { .. })
        ));
        assert_eq!(
            parse_bundles(&Node::new("iq").attr("type", "result")).unwrap_err(),
            StanzaError::MissingChild("list")
        );
    }

    #[test]
    fn upload_and_count_stanzas() {
        let mut rng = ChaCha20Rng::seed_from_u64(14);
        let creds = Credentials::generate(&mut rng);
        let keys = generate(&mut rng, 0x00_ff00, 2);
        let up = wire(upload_node("u1", &creds, &keys));
        assert_eq!(up.attr_str("xmlns").as_deref(), Some("encrypt"));
        let list: Vec<u32> = up
            .get_child("list")
            .unwrap()
            .children_by_tag("key")
            .map(|k| parse_id3("id", child_bytes(k, "id").unwrap()).unwrap())
            .collect();
        assert_eq!(list, [0xff00, 0xff01]);
        assert_eq!(
            wire(count_query("c1")).to_string(),
            "<iq id=\"c1\" xmlns=\"encrypt\" type=\"get\" to=\"s.whatsapp.net\"><count/></iq>"
        );
        let answer = Node::new("iq").child(Node::new("count").attr("value", "17"));
        assert_eq!(parse_count(&answer), Some(17));
    }
}
