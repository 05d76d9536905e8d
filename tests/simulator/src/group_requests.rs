//! Membership requests of groups that need approval to join (`iq xmlns=w:g2`):
//! admins list them, approve them (the requester becomes a member and the
//! members see an `add`) or reject them. Requests are made by joining with an
//! invite link (see [`crate::groups`]).

use tracing::info;
use wa_proto::binary::{Jid, Node};

use crate::error::StanzaError;
use crate::groups::{Role, member_users, notify};
use crate::router::{Ctx, iq_result};
use crate::state::user_jid;

/// `<membership_approval_requests/>`: the pending requests, oldest first (admins only).
pub(crate) fn list(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let g = ctx
        .state
        .groups
        .get(&to.user)
        .ok_or(StanzaError::NotFound)?;
    g.require_admin(&me.user)?;
    let mut pending: Vec<(&String, &u64)> = g.join_requests.iter().collect();
    pending.sort_by_key(|(user, at)| (**at, (*user).clone()));
    let list = Node::new("membership_approval_requests").children(pending.into_iter().map(
        |(user, at)| {
            Node::new("membership_approval_request")
                .attr("jid", user_jid(user))
                .attr("request_time", at.to_string())
        },
    ));
    ctx.replies.push(iq_result(iq).child(list));
    Ok(())
}

/// `<membership_requests_action><approve|reject><participant jid/>…`: admins
/// only; a participant with no pending request gets `error=404`.
pub(crate) fn act(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid, c: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let max = ctx.state.cfg.max_group_size;
    let action = c
        .child_nodes()
        .first()
        .filter(|a| matches!(a.tag.as_str(), "approve" | "reject"))
        .ok_or(StanzaError::BadRequest("approve or reject"))?
        .clone();
    let approve = action.tag == "approve";
    let g = ctx
        .state
        .groups
        .get_mut(&to.user)
        .ok_or(StanzaError::NotFound)?;
    g.require_admin(&me.user)?;
    let mut results = Vec::new();
    let mut added = Vec::new();
    for user in member_users(&action) {
        let error = if !g.join_requests.contains_key(&user) {
            Some("404")
        } else if approve && g.participants.len() >= max {
            Some("500")
        } else {
            g.join_requests.remove(&user);
            if approve {
                g.participants.insert(user.clone(), Role::Member);
                added.push(user.clone());
            }
            None
        };
        let mut p = Node::new("participant").attr("jid", user_jid(&user));
        if let Some(code) = error {
            p.set_attr("error", code);
        }
        results.push(p);
    }
    let gjid = g.jid();
    let members: Vec<String> = g.participants.keys().cloned().collect();
    info!(account = %me, group = %gjid, action = %action.tag, answered = results.len(), "membership requests answered");
    if !added.is_empty() {
        let child = Node::new("add").children(
            added
                .iter()
                .map(|u| Node::new("participant").attr("jid", user_jid(u))),
        );
        notify(ctx.state, &gjid, &me, child, &members);
    }
    ctx.replies.push(iq_result(iq).child(
        Node::new("membership_requests_action").child(Node::new(action.tag).children(results)),
    ));
    Ok(())
}
