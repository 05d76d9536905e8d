//! The simulated primary phone's signature on a new companion: the `pair-success` iq with
//! an ADV identity signed by the account key and authenticated with the ADV secret the
//! companion shared (through the QR or derived from the pairing code).

use hmac::{Hmac, Mac};
use prost::Message;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use wa_proto::binary::{Jid, Node};
use wa_proto::keys::KeyPair;
use wa_proto::proto::adv::{
    AdvDeviceIdentity, AdvSignedDeviceIdentity, AdvSignedDeviceIdentityHmac,
};

/// Prefix of the account signature over `details || companion identity` (ADV fact).
const ACCOUNT_SIG_PREFIX: [u8; 2] = [6, 0];

/// What the phone needs to sign a companion.
#[derive(Debug)]
pub(crate) struct Companion<'a> {
    /// The companion's Signal identity public key.
    pub identity: &'a [u8],
    /// The secret shared with the companion.
    pub adv_secret: &'a [u8; 32],
    /// The device JID assigned to it.
    pub jid: &'a Jid,
    /// Its LID.
    pub lid: &'a Jid,
    /// Its key index in the account's list.
    pub key_index: u32,
}

/// `<iq type=set xmlns=md><pair-success>…` for the companion, signed by `account`.
pub(crate) fn pair_success(
    iq_id: &str,
    c: &Companion<'_>,
    account: &KeyPair,
    timestamp: u64,
) -> Node {
    let details = AdvDeviceIdentity {
        raw_id: Some(OsRng.next_u32()),
        timestamp: Some(timestamp),
        key_index: Some(c.key_index),
        account_type: None,
        device_type: None,
    }
    .encode_to_vec();
    let msg = [&ACCOUNT_SIG_PREFIX[..], &details, c.identity].concat();
    let signed = AdvSignedDeviceIdentity {
        account_signature: Some(account.sign(&msg, &mut OsRng).to_vec()),
        account_signature_key: Some(account.public.to_vec()),
        details: Some(details),
        device_signature: None,
    }
    .encode_to_vec();
    let mut mac = <Hmac<Sha256>>::new_from_slice(c.adv_secret).expect("HMAC takes any key length");
    mac.update(&signed);
    let container = AdvSignedDeviceIdentityHmac {
        hmac: Some(mac.finalize().into_bytes().to_vec()),
        details: Some(signed),
        account_type: None,
    }
    .encode_to_vec();
    Node::new("iq")
        .attr("from", Jid::server_jid())
        .attr("id", iq_id)
        .attr("type", "set")
        .attr("xmlns", "md")
        .child(
            Node::new("pair-success")
                .child(Node::new("device-identity").bytes(container))
                .child(Node::new("platform").attr("name", "android"))
                .child(
                    Node::new("device")
                        .attr("jid", c.jid.clone())
                        .attr("lid", c.lid.clone()),
                ),
        )
}
