//! One-time pre-keys: generation, the upload stanza, and the server count query.

use rand_core::{CryptoRng, RngCore};

use crate::binary::{Jid, Node};
use crate::creds::Credentials;
use crate::keys::{DJB_TYPE, KeyPair};

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

fn id3(id: u32) -> Vec<u8> {
    id.to_be_bytes()[1..].to_vec()
}

/// `<iq xmlns=encrypt type=set>` uploading `keys` with our identity and signed pre-key.
pub fn upload_node(iq_id: &str, creds: &Credentials, keys: &[PreKey]) -> Node {
    let spk = &creds.signed_pre_key;
    Node::new("iq")
        .attr("id", iq_id)
        .attr("xmlns", "encrypt")
        .attr("type", "set")
        .attr("to", Jid::server_jid())
        .children([
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
    Node::new("iq")
        .attr("id", iq_id)
        .attr("xmlns", "encrypt")
        .attr("type", "get")
        .attr("to", Jid::server_jid())
        .child(Node::new("count"))
}

/// The `value` of `<count value=N/>` in the result.
pub fn parse_count(result: &Node) -> Option<u32> {
    result.get_child("count")?.attr_str("value")?.parse().ok()
}
