//! Calls: a phone rings an account. The offer goes to every device of the
//! callee as a `<call>` stanza, queued (and redelivered at login) until each
//! device acknowledges it with `<ack class=call type=offer>`. A device may
//! decline (`<call><reject call-id/></call>`): recorded and acknowledged. Only
//! the signalling a client needs to see a call ring is simulated, no media.

use rand_core::{OsRng, RngCore};
use tracing::info;
use wa_proto::binary::{Jid, Node};
use wa_proto::call::{CallOffer, IncomingCall, offer_stanza, parse_call};

use crate::error::StanzaError;
use crate::router::Ctx;
use crate::state::{State, random_token, unix_now, user_jid};

/// A call id as WhatsApp writes them: 16 random bytes in upper-case hex.
fn call_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Rings `callee` from `caller` (phone numbers), as a voice or video call;
/// returns the call id, or `None` when the callee has no device.
pub(crate) fn ring(state: &mut State, caller: &str, callee: &str, video: bool) -> Option<String> {
    let devices: Vec<Jid> = state.devices_of(callee);
    if devices.is_empty() {
        return None;
    }
    let offer = CallOffer {
        call_id: call_id(),
        caller: user_jid(caller),
        timestamp: unix_now(),
        video,
        group: None,
        platform: Some("android".into()),
        version: Some("2.24.1.5".into()),
        push_name: None,
    };
    let node = offer_stanza(&random_token(8), &offer);
    for device in &devices {
        state.deliver(device, node.clone());
    }
    info!(caller, callee, video, call = %offer.call_id, "call offered");
    Some(offer.call_id)
}

/// `<call to><reject call-id …/></call>` from a device: the callee declines.
/// Recorded, and acknowledged as the server does (`<ack class=call type=reject>`).
pub(crate) fn handle_call(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let signalling = node
        .child_nodes()
        .first()
        .map(|c| c.tag.clone())
        .ok_or(StanzaError::BadRequest("call child"))?;
    let call_id = match parse_call(&node.clone().attr("from", me.clone())) {
        Ok(IncomingCall::Other {
            kind,
            call_id: Some(id),
        }) if kind == "reject" => id,
        _ => return Err(StanzaError::NotImplemented),
    };
    info!(account = %me, call = %call_id, "call declined");
    ctx.state.call_rejections.push((me.user.clone(), call_id));
    let mut ack = Node::new("ack")
        .attr("class", "call")
        .attr("id", node.attr_str("id").unwrap_or_default().into_owned())
        .attr("type", signalling);
    if let Some(to) = node.attr_jid("to") {
        ack.set_attr("from", to);
    }
    ctx.replies.push(ack);
    Ok(())
}
