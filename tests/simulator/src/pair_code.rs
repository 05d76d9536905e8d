//! Pairing by code (`link_code_companion_reg`): the companion's `companion_hello`
//! is answered with a ref; when the test "types the code on the phone" the phone sends
//! `primary_hello`; the companion's `companion_finish` key bundle is opened, the ADV
//! secret derived, and the phone sends `pair-success` as for a QR scan.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use tracing::{info, warn};
use wa_proto::binary::{Jid, Node};
use wa_proto::keys::KeyPair;
use wa_proto::pair_code::{ADV_SECRET_INFO, BUNDLE_KEY_INFO, unwrap_key, validate_code, wrap_key};

use crate::error::{ApiError, StanzaError};
use crate::pairing::{check_phone, prepare_pair_success};
use crate::router::{Ctx, iq_result};
use crate::state::{ConnLink, State, random_token};

/// A pairing-code request from a registering connection.
#[derive(Debug)]
pub(crate) struct CodeRequest {
    /// Phone number the companion wants to link to.
    pub phone: String,
    /// `salt || iv || AES-CTR(code key, companion ephemeral)`.
    pub wrapped_companion: Vec<u8>,
    /// Ref echoed in every stage.
    pub pairing_ref: Vec<u8>,
    /// Set once the code was entered on the phone.
    pub entered: Option<Entered>,
}

/// The phone's half after the code was entered.
#[derive(Debug)]
pub(crate) struct Entered {
    /// Phone ephemeral key.
    pub primary: KeyPair,
    /// Companion ephemeral public key, unwrapped with the code.
    pub companion: [u8; 32],
}

/// `<iq xmlns=md>` from the client: the pairing-code stages.
pub(crate) fn handle_md_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let reg = node
        .get_child("link_code_companion_reg")
        .ok_or(StanzaError::NotImplemented)?;
    match reg.attr_str("stage").as_deref() {
        Some("companion_hello") => hello(ctx, node, reg),
        Some("companion_finish") => finish(ctx, node, reg),
        _ => Err(StanzaError::BadRequest(
            "unknown link_code_companion_reg stage",
        )),
    }
}

fn hello(ctx: &mut Ctx<'_>, iq: &Node, reg: &Node) -> Result<(), StanzaError> {
    let phone = reg
        .attr_jid("jid")
        .map(|j| j.user)
        .filter(|p| check_phone(p).is_ok())
        .ok_or(StanzaError::BadRequest(
            "companion_hello needs the phone jid",
        ))?;
    let wrapped = reg
        .get_child("link_code_pairing_wrapped_companion_ephemeral_pub")
        .and_then(Node::content_bytes)
        .filter(|b| b.len() == 80)
        .ok_or(StanzaError::BadRequest("wrapped companion ephemeral key"))?
        .to_vec();
    let registration = ctx
        .state
        .registrations
        .get_mut(&ctx.conn.id)
        .ok_or(StanzaError::BadRequest("not registering"))?;
    let pairing_ref = random_token(24).into_bytes();
    registration.code = Some(CodeRequest {
        phone: phone.clone(),
        wrapped_companion: wrapped,
        pairing_ref: pairing_ref.clone(),
        entered: None,
    });
    info!(conn = ctx.conn.id, phone = %phone, "pairing code requested");
    ctx.replies.push(
        iq_result(iq).child(
            Node::new("link_code_companion_reg")
                .child(Node::new("link_code_pairing_ref").bytes(pairing_ref)),
        ),
    );
    Ok(())
}

/// The test typed `code` on `phone`'s phone: sends `primary_hello` to the connection that
/// asked for a code for this number.
pub(crate) fn enter_code(
    state: &std::sync::Mutex<State>,
    phone: &str,
    code: &str,
) -> Result<(), ApiError> {
    check_phone(phone)?;
    validate_code(code).map_err(|_| ApiError::BadCode)?;
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    let (conn_id, wrapped) = {
        let st = lock();
        st.registrations
            .iter()
            .find_map(|(id, r)| {
                r.code
                    .as_ref()
                    .filter(|c| c.phone == phone && c.entered.is_none())
                    .map(|c| (*id, c.wrapped_companion.clone()))
            })
            .ok_or(ApiError::NoPairingRequest)?
    };
    // PBKDF2 twice: keep it outside the lock.
    let companion = unwrap_key(code, &wrapped).map_err(|_| ApiError::BadCode)?;
    let primary = KeyPair::generate(&mut OsRng);
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut iv);
    let wrapped_primary = wrap_key(code, &primary.public, salt, iv);
    let mut st = lock();
    let account_key = st.account_mut(phone).key.public;
    let reg = st
        .registrations
        .get_mut(&conn_id)
        .ok_or(ApiError::NoPairingRequest)?;
    let req = reg.code.as_mut().ok_or(ApiError::NoPairingRequest)?;
    let notification = Node::new("notification")
        .attr("from", Jid::server_jid())
        .attr("id", random_token(8))
        .attr("type", "link_code_companion_reg")
        .child(
            Node::new("link_code_companion_reg")
                .attr("stage", "primary_hello")
                .children([
                    Node::new("link_code_pairing_ref").bytes(req.pairing_ref.clone()),
                    Node::new("primary_identity_pub").bytes(account_key.to_vec()),
                    Node::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                        .bytes(wrapped_primary),
                ]),
        );
    req.entered = Some(Entered { primary, companion });
    info!(
        conn = conn_id,
        "pairing code entered on the phone; primary_hello sent"
    );
    send(&reg.link, notification)
}

fn send(link: &ConnLink, node: Node) -> Result<(), ApiError> {
    if link.send(crate::state::ConnCmd::Send(node)) {
        Ok(())
    } else {
        Err(ApiError::Busy)
    }
}

fn finish(ctx: &mut Ctx<'_>, iq: &Node, reg: &Node) -> Result<(), StanzaError> {
    let child = |tag: &'static str| {
        reg.get_child(tag)
            .and_then(Node::content_bytes)
            .ok_or(StanzaError::BadRequest(tag))
    };
    let bundle = child("link_code_pairing_wrapped_key_bundle")?;
    let identity: [u8; 32] = child("companion_identity_public")?
        .try_into()
        .map_err(|_| StanzaError::BadRequest("companion identity length"))?;
    if bundle.len() < 32 + 12 + 16 {
        return Err(StanzaError::BadRequest("key bundle too short"));
    }
    let registration = ctx
        .state
        .registrations
        .get(&ctx.conn.id)
        .ok_or(StanzaError::BadRequest("not registering"))?;
    let request = registration
        .code
        .as_ref()
        .ok_or(StanzaError::BadRequest("no pairing code requested"))?;
    let entered = request
        .entered
        .as_ref()
        .ok_or(StanzaError::BadRequest("code not entered on the phone yet"))?;
    let phone = request.phone.clone();
    let account = ctx
        .state
        .accounts
        .get(&phone)
        .ok_or(StanzaError::NotFound)?;
    let shared = entered.primary.dh(&entered.companion);
    let mut bundle_key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&bundle[..32]), &shared)
        .expand(BUNDLE_KEY_INFO, &mut bundle_key)
        .expect("32 bytes is a valid HKDF length");
    let Ok(plain) = Aes256Gcm::new(&bundle_key.into())
        .decrypt(Nonce::from_slice(&bundle[32..44]), &bundle[44..])
    else {
        warn!(
            conn = ctx.conn.id,
            "key bundle does not open: wrong pairing code"
        );
        return Err(StanzaError::Forbidden(
            "key bundle does not open (wrong code?)",
        ));
    };
    if plain.len() != 96
        || plain[..32] != identity
        || identity != registration.identity
        || plain[32..64] != account.key.public
    {
        return Err(StanzaError::Forbidden("key bundle names other keys"));
    }
    let identity_shared = account.key.dh(&identity);
    let ikm = [&shared[..], &identity_shared[..], &plain[64..96]].concat();
    let mut adv = [0u8; 32];
    Hkdf::<Sha256>::new(None, &ikm)
        .expand(ADV_SECRET_INFO, &mut adv)
        .expect("32 bytes is a valid HKDF length");
    ctx.replies.push(iq_result(iq));
    let (node, jid) = prepare_pair_success(ctx.state, ctx.conn.id, &phone, &adv)
        .map_err(|_| StanzaError::BadRequest("registration vanished"))?;
    info!(conn = ctx.conn.id, account = %jid, "pairing code verified");
    ctx.replies.push(node);
    Ok(())
}
