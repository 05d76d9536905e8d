//! `<presence>` (online / offline) and `<chatstate>` (typing, recording,
//! paused). Presence is remembered per account; a chat state goes to the
//! other side's devices (every member's in a group), `from` the sender, as
//! WhatsApp relays it. Neither is answered.

use tracing::debug;
use wa_proto::binary::{Jid, Node, jid::USER_SERVER};

use crate::error::StanzaError;
use crate::router::Ctx;

/// One chat state a device sent, as the simulator relayed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatStateSent {
    /// The sender's user JID.
    pub from: Jid,
    /// The chat (a user or a group).
    pub to: Jid,
    /// `composing`, `recording` or `paused`.
    pub state: String,
}

/// `<presence type=available|unavailable name?/>`.
pub(crate) fn handle_presence(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let ty = node
        .attr_str("type")
        .ok_or(StanzaError::BadRequest("presence type"))?;
    if !matches!(ty.as_ref(), "available" | "unavailable") {
        return Err(StanzaError::BadRequest("presence type"));
    }
    debug!(account = %me, presence = %ty, "presence");
    ctx.state.presence.insert(me.user.clone(), ty.into_owned());
    Ok(())
}

/// `<chatstate to><composing media?/>|<paused/></chatstate>`.
pub(crate) fn handle_chat_state(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let to = node
        .attr_jid("to")
        .ok_or(StanzaError::BadRequest("chatstate to"))?;
    let child = node
        .child_nodes()
        .first()
        .ok_or(StanzaError::BadRequest("chatstate child"))?;
    let state = match (child.tag.as_str(), child.attr_str("media").as_deref()) {
        ("composing", Some("audio")) => "recording",
        ("composing", _) => "composing",
        ("paused", _) => "paused",
        _ => return Err(StanzaError::BadRequest("chatstate child")),
    };
    let users: Vec<String> = if to.is_group() {
        let group = ctx
            .state
            .groups
            .get(&to.user)
            .ok_or(StanzaError::NotFound)?;
        if !group.participants.contains_key(&me.user) {
            return Err(StanzaError::Forbidden("not a group member"));
        }
        group.participants.keys().cloned().collect()
    } else if to.server == USER_SERVER {
        vec![to.user.clone()]
    } else {
        return Err(StanzaError::BadRequest("chatstate to"));
    };
    let sender = me.to_non_ad();
    let mut relayed = Node::new("chatstate").child(child.clone());
    if to.is_group() {
        relayed = relayed
            .attr("from", to.clone())
            .attr("participant", sender.clone());
    } else {
        relayed = relayed.attr("from", sender.clone());
    }
    for user in users {
        for device in ctx.state.devices_of(&user) {
            if device.user != me.user {
                ctx.state.deliver(&device, relayed.clone());
            }
        }
    }
    ctx.state.chat_states.push(ChatStateSent {
        from: sender,
        to,
        state: state.to_owned(),
    });
    Ok(())
}
