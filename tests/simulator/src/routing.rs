//! `<message>` routing: the server never decrypts; it copies each device's `<enc>` (from
//! `<participants><to jid=..>`) and the shared children (a group's `skmsg`,
//! `device-identity`) into one stanza per recipient device, queues it until that device
//! acknowledges it, and acks the sender.

use std::collections::HashMap;

use tracing::{debug, info};
use wa_proto::binary::{Jid, Node};

use crate::error::StanzaError;
use crate::router::{Ctx, server_ack};
use crate::state::unix_now;

/// Routes a message from the logged-in device to a user (1:1) or a group.
pub(crate) fn handle_message(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    if node.attr_str("id").is_none_or(|s| s.is_empty()) {
        return Err(StanzaError::BadRequest("message id"));
    }
    let to = node
        .attr_jid("to")
        .ok_or(StanzaError::BadRequest("message to"))?;
    let mut per_device: HashMap<Jid, Vec<Node>> = HashMap::new();
    if let Some(p) = node.get_child("participants") {
        for t in p.children_by_tag("to") {
            let jid = t
                .attr_jid("jid")
                .ok_or(StanzaError::BadRequest("participants/to jid"))?;
            per_device
                .entry(jid)
                .or_default()
                .extend(t.child_nodes().iter().cloned());
        }
    }
    let common: Vec<Node> = node
        .child_nodes()
        .iter()
        .filter(|c| c.tag != "participants")
        .cloned()
        .collect();
    let mut base = Node::new("message");
    for (k, v) in &node.attrs {
        if !matches!(
            k.as_str(),
            "to" | "phash" | "from" | "participant" | "recipient"
        ) {
            base.set_attr(k.clone(), v.clone());
        }
    }
    base.set_attr("t", unix_now().to_string());

    let mut targets: Vec<(Jid, Node)> = Vec::new();
    if to.is_group() {
        let group = ctx
            .state
            .groups
            .get(&to.user)
            .ok_or(StanzaError::NotFound)?;
        if !group.participants.contains_key(&me.user) {
            return Err(StanzaError::Forbidden("not a group member"));
        }
        if group.announce && !group.is_admin(&me.user) {
            return Err(StanzaError::Forbidden("only admins send to this group"));
        }
        let members: Vec<String> = group.participants.keys().cloned().collect();
        for user in members {
            for dev in ctx.state.devices_of(&user) {
                let mut m = base.clone();
                m.set_attr("from", to.clone());
                m.set_attr("participant", me.clone());
                targets.push((dev, m));
            }
        }
    } else if to.server == wa_proto::binary::jid::USER_SERVER {
        let users = if per_device.is_empty() {
            if to.device != 0 {
                vec![to.clone()]
            } else {
                ctx.state.devices_of(&to.user)
            }
        } else {
            per_device.keys().cloned().collect()
        };
        for dev in users {
            let mut m = base.clone();
            m.set_attr("from", me.clone());
            if dev.user == me.user && to.user != me.user {
                // A copy for one of the sender's own devices names the chat.
                m.set_attr("recipient", to.to_non_ad());
            }
            targets.push((dev, m));
        }
    } else {
        return Err(StanzaError::NotImplemented);
    }

    let mut delivered = 0;
    for (dev, mut m) in targets {
        if dev == me {
            continue;
        }
        let mut children = per_device.remove(&dev).unwrap_or_default();
        children.extend(common.iter().cloned());
        if !children.iter().any(|c| c.tag == "enc") {
            debug!(device = %dev, "no ciphertext for this device; skipped");
            continue;
        }
        m = m.children(children);
        if ctx.state.deliver(&dev, m) {
            delivered += 1;
        }
    }
    info!(
        account = %me,
        to = %to,
        id = %node.attr_str("id").unwrap_or_default(),
        devices = delivered,
        "message routed"
    );
    ctx.replies.push(server_ack(node));
    Ok(())
}

/// `<ack class=.. id=..>` from a device: removes what it acknowledges from its queue.
pub(crate) fn handle_ack(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let n = ctx.state.acknowledge(&me, node);
    debug!(account = %me, stanza = %node, removed = n, "ack");
    Ok(())
}
