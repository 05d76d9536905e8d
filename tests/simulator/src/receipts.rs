//! `<receipt>` (delivery, `read`, `played`, `retry`, ...): forwarded to the original
//! sender's devices, queued until they acknowledge, and acked to the device that sent it.

use tracing::info;
use wa_proto::binary::{Jid, Node};

use crate::error::StanzaError;
use crate::router::{Ctx, server_ack};
use crate::state::unix_now;

/// Forwards a receipt to the devices of the user whose message it answers.
pub(crate) fn handle_receipt(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let to = node
        .attr_jid("to")
        .ok_or(StanzaError::BadRequest("receipt to"))?;
    if node.attr_str("id").is_none() {
        return Err(StanzaError::BadRequest("receipt id"));
    }
    let ty = node.attr_str("type").map(|s| s.into_owned());
    let mut fwd = Node::new("receipt");
    for (k, v) in &node.attrs {
        if !matches!(k.as_str(), "to" | "from" | "participant") {
            fwd.set_attr(k.clone(), v.clone());
        }
    }
    fwd.set_attr("t", unix_now().to_string());
    let target: Jid = if to.is_group() {
        let p = node
            .attr_jid("participant")
            .ok_or(StanzaError::BadRequest("group receipt needs participant"))?;
        fwd.set_attr("from", to.clone());
        fwd.set_attr("participant", me.clone());
        p
    } else {
        fwd.set_attr("from", me.clone());
        to.clone()
    };
    let fwd = fwd.children(node.child_nodes().iter().cloned());
    let devices = if ty.as_deref() == Some("retry") && target.device != 0 {
        vec![target.clone()]
    } else {
        ctx.state.devices_of(&target.user)
    };
    let mut n = 0;
    for dev in devices.into_iter().filter(|d| *d != me) {
        if ctx.state.deliver(&dev, fwd.clone()) {
            n += 1;
        }
    }
    info!(
        account = %me,
        to = %target,
        kind = ty.as_deref().unwrap_or("delivery"),
        devices = n,
        "receipt forwarded"
    );
    ctx.replies.push(server_ack(node));
    Ok(())
}
