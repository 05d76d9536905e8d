//! Linking a new companion: the connection registers (registration payload), gets QR
//! refs in `pair-device`; when the test "scans" the QR through the handle, the phone
//! sends `pair-success`; the companion's `pair-device-sign` is verified, the device is
//! recorded, and the stream is restarted (515) so it logs in.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand_core::OsRng;
use tracing::{info, warn};
use wa_proto::binary::{Jid, Node, jid::HIDDEN_USER_SERVER, jid::USER_SERVER};
use wa_proto::pair::{
    CompanionKeys, PhoneAccount, QR_LINK_PREFIX, build_pair_success, verify_pair_device_sign,
};
use wa_proto::proto::payload::client_payload::DevicePairingRegistrationData;

use crate::connection::Phase;
use crate::error::{ApiError, StanzaError};
use crate::pair_code::CodeRequest;
use crate::router::Ctx;
use crate::state::{ConnLink, Device, SignedKey, State, random_token, unix_now};

/// A connection that registered and waits for the phone.
#[derive(Debug)]
pub(crate) struct Registration {
    /// How to reach the connection.
    pub link: ConnLink,
    /// Its Noise static key (must match the QR and, later, the login).
    pub noise_pub: [u8; 32],
    /// Its Signal identity public key.
    pub identity: [u8; 32],
    /// Signal registration id.
    pub registration_id: u32,
    /// Signed pre-key from the registration payload.
    pub signed_prekey: SignedKey,
    /// QR refs issued to it.
    pub refs: Vec<String>,
    /// The pair-success sent, awaiting the device signature.
    pub pending: Option<PendingPair>,
    /// A pairing-code request in progress.
    pub code: Option<CodeRequest>,
}

/// A `pair-success` waiting for its `pair-device-sign`.
#[derive(Debug, Clone)]
pub(crate) struct PendingPair {
    /// Id of the pair-success iq (the answer echoes it).
    pub iq_id: String,
    /// The device JID assigned.
    pub jid: Jid,
    /// The phone's account key, which the device signature covers.
    pub account_key: [u8; 32],
    /// Key index assigned.
    pub key_index: u32,
}

fn take<const N: usize>(v: &Option<Vec<u8>>) -> Option<[u8; N]> {
    v.as_deref()?.try_into().ok()
}

/// Starts pairing for a registering connection: records it and sends the QR refs.
pub(crate) fn begin(
    ctx: &mut Ctx<'_>,
    client_static: [u8; 32],
    reg: &DevicePairingRegistrationData,
) {
    let parsed = (|| {
        let regid: [u8; 4] = take(&reg.e_regid)?;
        let identity: [u8; 32] = take(&reg.e_ident)?;
        let skey_id: [u8; 3] = take(&reg.e_skey_id)?;
        let skey: [u8; 32] = take(&reg.e_skey_val)?;
        let sig: [u8; 64] = take(&reg.e_skey_sig)?;
        Some((regid, identity, skey_id, skey, sig))
    })();
    let Some((regid, identity, skey_id, skey, sig)) = parsed else {
        warn!(conn = ctx.conn.id, "malformed registration payload");
        ctx.replies.push(Node::new("failure").attr("reason", "400"));
        ctx.close = true;
        return;
    };
    let refs: Vec<String> = (0..ctx.state.cfg.qr_refs.max(1))
        .map(|_| format!("2@{}", random_token(24)))
        .collect();
    ctx.state.registrations.insert(
        ctx.conn.id,
        Registration {
            link: ctx.conn.link.clone(),
            noise_pub: client_static,
            identity,
            registration_id: u32::from_be_bytes(regid),
            signed_prekey: SignedKey {
                id: u32::from_be_bytes([0, skey_id[0], skey_id[1], skey_id[2]]),
                public: skey.to_vec(),
                signature: sig.to_vec(),
            },
            refs: refs.clone(),
            pending: None,
            code: None,
        },
    );
    ctx.conn.phase = Phase::Registering;
    info!(
        conn = ctx.conn.id,
        refs = refs.len(),
        "new companion registering; QR refs issued"
    );
    ctx.replies.push(
        Node::new("iq")
            .attr("from", Jid::server_jid())
            .attr("id", random_token(8))
            .attr("type", "set")
            .attr("xmlns", "md")
            .child(
                Node::new("pair-device").children(
                    refs.into_iter()
                        .map(|r| Node::new("ref").bytes(r.into_bytes())),
                ),
            ),
    );
}

/// The test scanned `qr` with the phone of `phone`: finds the connection that showed the
/// ref, checks the keys, and builds its `pair-success`. Returns the connection link,
/// the stanza and the device JID assigned.
pub(crate) fn scan_qr(
    state: &mut State,
    qr: &str,
    phone: &str,
) -> Result<(ConnLink, Node, Jid), ApiError> {
    check_phone(phone)?;
    let body = qr.strip_prefix(QR_LINK_PREFIX).unwrap_or(qr);
    let parts: Vec<&str> = body.split(',').collect();
    if parts.len() < 4 {
        return Err(ApiError::MalformedQr);
    }
    let key = |s: &str| -> Result<[u8; 32], ApiError> {
        B64.decode(s)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ApiError::MalformedQr)
    };
    let (noise, identity, adv) = (key(parts[1])?, key(parts[2])?, key(parts[3])?);
    let conn_id = state
        .registrations
        .iter()
        .find(|(_, r)| r.pending.is_none() && r.refs.iter().any(|x| x == parts[0]))
        .map(|(id, _)| *id)
        .ok_or(ApiError::UnknownRef)?;
    let reg = &state.registrations[&conn_id];
    if reg.noise_pub != noise || reg.identity != identity {
        return Err(ApiError::QrKeyMismatch);
    }
    let (node, jid) = prepare_pair_success(state, conn_id, phone, &adv)?;
    Ok((state.registrations[&conn_id].link.clone(), node, jid))
}

/// Digits only, as phone numbers are.
pub(crate) fn check_phone(phone: &str) -> Result<(), ApiError> {
    if phone.is_empty() || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadPhone);
    }
    Ok(())
}

/// Assigns the next device of `phone`'s account to registration `conn_id` and builds
/// the phone's `pair-success` for it, authenticated with `adv_secret`.
pub(crate) fn prepare_pair_success(
    state: &mut State,
    conn_id: u64,
    phone: &str,
    adv_secret: &[u8; 32],
) -> Result<(Node, Jid), ApiError> {
    let identity = state
        .registrations
        .get(&conn_id)
        .ok_or(ApiError::UnknownRef)?
        .identity;
    let account = state.account_mut(phone);
    let device = account.next_device;
    account.next_device += 1;
    let jid = Jid::device(phone, device, USER_SERVER);
    let lid = Jid::device(account.lid.clone(), device, HIDDEN_USER_SERVER);
    let iq_id = random_token(8);
    // The phone signs the companion exactly as the protocol crate's phone side does.
    let signer = PhoneAccount {
        key: account.key.clone(),
        companion_jid: jid.clone(),
        companion_lid: Some(lid.clone()),
        key_index: u32::from(device),
        hosted: false,
    };
    let node = build_pair_success(
        &iq_id,
        CompanionKeys {
            identity: &identity,
            adv_secret,
        },
        &signer,
        unix_now(),
        &mut OsRng,
    );
    let account_key = account.key.public;
    let reg = state
        .registrations
        .get_mut(&conn_id)
        .ok_or(ApiError::UnknownRef)?;
    reg.pending = Some(PendingPair {
        iq_id,
        jid: jid.clone(),
        account_key,
        key_index: u32::from(device),
    });
    info!(conn = conn_id, account = %jid, "phone accepted the companion; pair-success sent");
    Ok((node, jid))
}

/// `<iq type=result|error>` from the client: a `pair-device-sign` completes pairing;
/// other answers (to `pair-device`, to pings) need nothing.
pub(crate) fn handle_iq_answer(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    if node.get_child("pair-device-sign").is_none() {
        return Ok(());
    }
    let id = node.attr_str("id").unwrap_or_default().into_owned();
    let reg = ctx
        .state
        .registrations
        .get(&ctx.conn.id)
        .ok_or(StanzaError::BadRequest("no pairing in progress"))?;
    let pending = reg
        .pending
        .clone()
        .filter(|p| p.iq_id == id)
        .ok_or(StanzaError::BadRequest(
            "pair-device-sign does not answer our pair-success",
        ))?;
    let key_index = verify_pair_device_sign(node, &reg.identity, &pending.account_key, false)
        .map_err(|_| StanzaError::Forbidden("device signature does not verify"))?;
    if key_index != pending.key_index {
        return Err(StanzaError::Forbidden("key index mismatch"));
    }
    let reg = ctx
        .state
        .registrations
        .remove(&ctx.conn.id)
        .expect("checked above");
    let device = Device {
        jid: pending.jid.clone(),
        noise_pub: reg.noise_pub,
        identity: reg.identity.to_vec(),
        registration_id: reg.registration_id,
        signed_prekey: reg.signed_prekey,
        prekeys: Default::default(),
        key_index,
        queue: Default::default(),
        acked_messages: Vec::new(),
    };
    ctx.state
        .account_mut(&pending.jid.user)
        .devices
        .insert(pending.jid.device, device);
    info!(account = %pending.jid, "device paired; restarting the stream");
    ctx.replies
        .push(Node::new("stream:error").attr("code", "515"));
    ctx.close = true;
    Ok(())
}
