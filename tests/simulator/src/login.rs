//! After the Noise handshake: a registration payload starts pairing, a login payload
//! must name a device registered at pairing and present the same Noise key.

use tracing::{info, warn};
use wa_proto::binary::{Jid, Node, jid::HIDDEN_USER_SERVER, jid::USER_SERVER};
use wa_proto::proto::payload::ClientPayload;

use crate::connection::Phase;
use crate::pairing;
use crate::router::Ctx;
use crate::state::{ConnCmd, unix_now};

/// Handles the ClientPayload of a finished handshake.
pub(crate) fn on_authenticated(
    ctx: &mut Ctx<'_>,
    client_static: [u8; 32],
    payload: &ClientPayload,
) {
    match (payload.username, &payload.device_pairing_data) {
        (Some(user), _) => login(ctx, client_static, user, payload.device.unwrap_or(0)),
        (None, Some(reg)) => pairing::begin(ctx, client_static, reg),
        (None, None) => {
            warn!(conn = ctx.conn.id, "payload neither registers nor logs in");
            fail(ctx, "400");
        }
    }
}

fn fail(ctx: &mut Ctx<'_>, reason: &str) {
    ctx.replies
        .push(Node::new("failure").attr("reason", reason));
    ctx.close = true;
}

fn login(ctx: &mut Ctx<'_>, client_static: [u8; 32], user: u64, device: u32) {
    let Ok(device) = u16::try_from(device) else {
        return fail(ctx, "400");
    };
    let jid = Jid::device(user.to_string(), device, USER_SERVER);
    let known = ctx
        .state
        .device(&jid)
        .is_some_and(|d| d.noise_pub == client_static);
    if !known {
        warn!(conn = ctx.conn.id, account = %jid, "login refused: unknown device or wrong key");
        return fail(ctx, "401");
    }
    if let Some(old) = ctx.state.online.insert(jid.clone(), ctx.conn.link.clone())
        && old.id != ctx.conn.id
    {
        info!(account = %jid, "a new login replaces the old connection");
        old.send(ConnCmd::Replaced);
    }
    ctx.conn.phase = Phase::LoggedIn(jid.clone());
    let lid = ctx
        .state
        .accounts
        .get(&jid.user)
        .map(|a| a.lid.clone())
        .unwrap_or_default();
    ctx.replies.push(
        Node::new("success")
            .attr("t", unix_now().to_string())
            .attr("props", "1")
            .attr("lid", Jid::device(lid, device, HIDDEN_USER_SERVER)),
    );
    let queued: Vec<Node> = ctx
        .state
        .device(&jid)
        .map(|d| d.queue.iter().map(|p| p.node.clone()).collect())
        .unwrap_or_default();
    info!(account = %jid, offline = queued.len(), "logged in");
    let count = queued.len();
    ctx.replies.extend(queued);
    ctx.replies.push(
        Node::new("ib")
            .attr("from", Jid::server_jid())
            .child(Node::new("offline").attr("count", count.to_string())),
    );
}
