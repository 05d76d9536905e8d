//! QR pairing: the `pair-device` refs become QR strings, and `pair-success` is verified
//! (ADV HMAC, account signature) and answered with our device signature.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use prost::Message;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use thiserror::Error;

use crate::binary::{Jid, Node};
use crate::creds::Credentials;
use crate::keys;
use crate::proto::adv::{
    AdvDeviceIdentity, AdvEncryptionType, AdvSignedDeviceIdentity, AdvSignedDeviceIdentityHmac,
};

/// How long the first QR code is shown.
pub const QR_FIRST_TTL: Duration = Duration::from_secs(60);
/// How long each later QR code is shown.
pub const QR_NEXT_TTL: Duration = Duration::from_secs(20);
/// Prefix newer clients put in front of the QR payload (deep link).
pub const QR_LINK_PREFIX: &str = "https://wa.me/settings/linked_devices#";

/// Signature prefixes (facts of the ADV scheme).
const ACCOUNT_SIG_PREFIX: [u8; 2] = [6, 0];
const DEVICE_SIG_PREFIX: [u8; 2] = [6, 1];
const HOSTED_DEVICE_SIG_PREFIX: [u8; 2] = [6, 6];
const HOSTED_HMAC_PREFIX: [u8; 2] = [6, 5];

/// The refs of a `pair-device` iq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairDevice {
    /// Id of the iq, echoed in our result.
    pub iq_id: String,
    /// QR refs, shown in order.
    pub refs: Vec<String>,
}

/// Extracts the refs if `node` is `<iq type=set><pair-device>`.
pub fn parse_pair_device(node: &Node) -> Option<PairDevice> {
    let pd = node.get_child("pair-device")?;
    let refs = pd
        .children_by_tag("ref")
        .filter_map(|r| r.content_bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    Some(PairDevice {
        iq_id: node.attr_str("id")?.into_owned(),
        refs,
    })
}

/// The empty result acknowledging an iq from the server.
pub fn iq_result(id: &str) -> Node {
    Node::new("iq")
        .attr("to", Jid::server_jid())
        .attr("type", "result")
        .attr("id", id)
}

/// `ref,base64(noise pub),base64(identity pub),base64(adv secret)`, optionally as a deep link.
pub fn qr_string(r#ref: &str, creds: &Credentials, with_link_prefix: bool) -> String {
    let body = format!(
        "{},{},{},{}",
        r#ref,
        B64.encode(creds.noise_key.public),
        B64.encode(creds.identity_key.public),
        B64.encode(creds.adv_secret)
    );
    if with_link_prefix {
        format!("{QR_LINK_PREFIX}{body}")
    } else {
        body
    }
}

/// Why a `pair-success` was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PairError {
    /// A required child, attribute or field is missing.
    #[error("pair-success lacks {0}")]
    Missing(&'static str),
    /// A protobuf in the stanza does not decode.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The HMAC does not match our ADV secret (the QR was not scanned by this phone).
    #[error("device identity HMAC mismatch")]
    HmacMismatch,
    /// The account signature over our identity does not verify.
    #[error("account signature invalid")]
    BadAccountSignature,
    /// Our device signature in a `pair-device-sign` does not verify.
    #[error("device signature invalid")]
    BadDeviceSignature,
}

/// What a verified `pair-success` gives us.
#[derive(Debug, Clone)]
pub struct PairSuccess {
    /// Our new device JID.
    pub jid: Jid,
    /// Our LID, when the server sent it.
    pub lid: Option<Jid>,
    /// Business name, for business accounts.
    pub business_name: Option<String>,
    /// The phone's platform.
    pub platform: Option<String>,
    /// Key index of this device in the account's list.
    pub key_index: u32,
    /// Serialized ADVSignedDeviceIdentity with our device signature (to persist).
    pub account: Vec<u8>,
    /// The `<iq type=result><pair-device-sign>` reply to send.
    pub reply: Node,
}

/// Verifies `<iq><pair-success>` against our credentials and builds the reply.
pub fn handle_pair_success<R: RngCore + CryptoRng>(
    node: &Node,
    creds: &Credentials,
    rng: &mut R,
) -> Result<PairSuccess, PairError> {
    let iq_id = node.attr_str("id").ok_or(PairError::Missing("iq id"))?;
    let ps = node
        .get_child("pair-success")
        .ok_or(PairError::Missing("pair-success"))?;
    let identity = ps
        .get_child("device-identity")
        .and_then(Node::content_bytes)
        .ok_or(PairError::Missing("device-identity"))?;
    let device = ps.get_child("device").ok_or(PairError::Missing("device"))?;
    let jid = device
        .attr_jid("jid")
        .ok_or(PairError::Missing("device jid"))?;
    let lid = device.attr_jid("lid");
    let business_name = ps
        .get_child("biz")
        .and_then(|b| b.attr_str("name"))
        .map(|s| s.into_owned());
    let platform = ps
        .get_child("platform")
        .and_then(|b| b.attr_str("name"))
        .map(|s| s.into_owned());

    let wrapped = AdvSignedDeviceIdentityHmac::decode(identity)
        .map_err(|_| PairError::Malformed("identity HMAC container"))?;
    let details = wrapped
        .details
        .as_deref()
        .ok_or(PairError::Missing("HMAC details"))?;
    let hosted = wrapped.account_type == Some(AdvEncryptionType::Hosted as i32);
    let mut mac = <Hmac<Sha256>>::new_from_slice(&creds.adv_secret).expect("any key length");
    if hosted {
        mac.update(&HOSTED_HMAC_PREFIX);
    }
    mac.update(details);
    mac.verify_slice(wrapped.hmac.as_deref().unwrap_or_default())
        .map_err(|_| PairError::HmacMismatch)?;

    let mut account = AdvSignedDeviceIdentity::decode(details)
        .map_err(|_| PairError::Malformed("signed device identity"))?;
    let dev_details = account
        .details
        .clone()
        .ok_or(PairError::Missing("device details"))?;
    let account_key = account
        .account_signature_key
        .clone()
        .ok_or(PairError::Missing("account signature key"))?;
    let account_sig = account
        .account_signature
        .as_deref()
        .ok_or(PairError::Missing("account signature"))?;
    let msg = [
        &ACCOUNT_SIG_PREFIX[..],
        &dev_details,
        &creds.identity_key.public,
    ]
    .concat();
    if !keys::verify(&account_key, &msg, account_sig) {
        return Err(PairError::BadAccountSignature);
    }
    let prefix = if hosted {
        HOSTED_DEVICE_SIG_PREFIX
    } else {
        DEVICE_SIG_PREFIX
    };
    let msg = [
        &prefix[..],
        &dev_details,
        &creds.identity_key.public,
        &account_key,
    ]
    .concat();
    account.device_signature = Some(creds.identity_key.sign(&msg, rng).to_vec());
    let key_index = AdvDeviceIdentity::decode(&dev_details[..])
        .map_err(|_| PairError::Malformed("device identity details"))?
        .key_index
        .unwrap_or(0);
    let stored = account.encode_to_vec();
    let sent = AdvSignedDeviceIdentity {
        account_signature_key: None,
        ..account
    }
    .encode_to_vec();
    let reply = iq_result(&iq_id).child(
        Node::new("pair-device-sign").child(
            Node::new("device-identity")
                .attr("key-index", key_index.to_string())
                .bytes(sent),
        ),
    );
    Ok(PairSuccess {
        jid,
        lid,
        business_name,
        platform,
        key_index,
        account: stored,
        reply,
    })
}

/// The phone's side of a pairing, for tests and the simulator.
#[derive(Debug, Clone)]
pub struct PhoneAccount {
    /// The account (phone) identity key that signs companions.
    pub key: keys::KeyPair,
    /// JID the new companion gets.
    pub companion_jid: Jid,
    /// LID the new companion gets, when the account has one.
    pub companion_lid: Option<Jid>,
    /// Key index assigned to the companion.
    pub key_index: u32,
    /// Hosted (business API) account.
    pub hosted: bool,
}

/// What the phone learns of a companion (from its QR code or pairing code): enough to
/// sign it, nothing secret of the companion's own.
#[derive(Debug, Clone, Copy)]
pub struct CompanionKeys<'a> {
    /// The companion's Signal identity public key.
    pub identity: &'a [u8; 32],
    /// The ADV secret shared with the companion.
    pub adv_secret: &'a [u8; 32],
}

impl<'a> From<&'a Credentials> for CompanionKeys<'a> {
    fn from(creds: &'a Credentials) -> Self {
        Self {
            identity: &creds.identity_key.public,
            adv_secret: &creds.adv_secret,
        }
    }
}

/// Phone-side counterpart, for tests and the simulator: builds the `pair-success` iq the
/// server relays after the phone scanned our QR.
pub fn build_pair_success<'a, R: RngCore + CryptoRng>(
    iq_id: &str,
    companion: impl Into<CompanionKeys<'a>>,
    phone: &PhoneAccount,
    timestamp: u64,
    rng: &mut R,
) -> Node {
    let companion = companion.into();
    let (account_key, jid, key_index, hosted) = (
        &phone.key,
        &phone.companion_jid,
        phone.key_index,
        phone.hosted,
    );
    let details = AdvDeviceIdentity {
        raw_id: Some(rng.next_u32()),
        timestamp: Some(timestamp),
        key_index: Some(key_index),
        account_type: hosted.then_some(AdvEncryptionType::Hosted as i32),
        device_type: hosted.then_some(AdvEncryptionType::Hosted as i32),
    }
    .encode_to_vec();
    let msg = [&ACCOUNT_SIG_PREFIX[..], &details, &companion.identity[..]].concat();
    let signed = AdvSignedDeviceIdentity {
        account_signature: Some(account_key.sign(&msg, rng).to_vec()),
        account_signature_key: Some(account_key.public.to_vec()),
        details: Some(details),
        device_signature: None,
    }
    .encode_to_vec();
    let mut mac = <Hmac<Sha256>>::new_from_slice(companion.adv_secret).expect("any key length");
    if hosted {
        mac.update(&HOSTED_HMAC_PREFIX);
    }
    mac.update(&signed);
    let container = AdvSignedDeviceIdentityHmac {
        hmac: Some(mac.finalize().into_bytes().to_vec()),
        details: Some(signed),
        account_type: hosted.then_some(AdvEncryptionType::Hosted as i32),
    }
    .encode_to_vec();
    let mut device = Node::new("device").attr("jid", jid.clone());
    if let Some(lid) = &phone.companion_lid {
        device = device.attr("lid", lid.clone());
    }
    Node::new("iq")
        .attr("from", Jid::server_jid())
        .attr("id", iq_id)
        .attr("type", "set")
        .attr("xmlns", "md")
        .child(
            Node::new("pair-success")
                .child(Node::new("device-identity").bytes(container))
                .child(Node::new("platform").attr("name", "android"))
                .child(device),
        )
}

/// Checks a `pair-device-sign` reply (server side): the device signature over our
/// identity must verify. Returns the key index.
pub fn verify_pair_device_sign(
    reply: &Node,
    companion_identity: &[u8; 32],
    account_key: &[u8; 32],
    hosted: bool,
) -> Result<u32, PairError> {
    let di = reply
        .get_child("pair-device-sign")
        .and_then(|n| n.get_child("device-identity"))
        .ok_or(PairError::Missing("device-identity"))?;
    let signed = AdvSignedDeviceIdentity::decode(di.content_bytes().unwrap_or_default())
        .map_err(|_| PairError::Malformed("signed device identity"))?;
    let details = signed
        .details
        .as_deref()
        .ok_or(PairError::Missing("details"))?;
    let prefix = if hosted {
        HOSTED_DEVICE_SIG_PREFIX
    } else {
        DEVICE_SIG_PREFIX
    };
    let msg = [&prefix[..], details, companion_identity, account_key].concat();
    if !keys::verify(
        companion_identity,
        &msg,
        signed.device_signature.as_deref().unwrap_or_default(),
    ) {
        return Err(PairError::BadDeviceSignature);
    }
    Ok(AdvDeviceIdentity::decode(details)
        .map_err(|_| PairError::Malformed("details"))?
        .key_index
        .unwrap_or(0))
}
