//! Groups (`iq xmlns=w:g2`): create, metadata query, participating list, add / remove /
//! promote / demote, subject, topic (description), announce and locked settings,
//! leave; members' devices get `w:gp2` notifications.
//! Message fan-out to members is in [`crate::routing`].

use std::collections::BTreeMap;

use tracing::info;
use wa_proto::binary::{Jid, Node, jid::GROUP_SERVER, jid::USER_SERVER};

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};
use crate::state::{State, random_token, unix_now, user_jid};

/// A member's rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Ordinary member.
    Member,
    /// Admin.
    Admin,
    /// The creator.
    SuperAdmin,
}

/// One group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// User part of `id@g.us`.
    pub id: String,
    /// Subject (name).
    pub subject: String,
    /// Who last set the subject, and when.
    pub subject_by: (String, u64),
    /// Creator's phone number.
    pub creator: String,
    /// Creation time (Unix seconds).
    pub creation: u64,
    /// Members by phone number.
    pub participants: BTreeMap<String, Role>,
    /// The topic: its version id and text.
    pub description: Option<(String, String)>,
    /// Only admins send messages.
    pub announce: bool,
    /// Only admins edit the group's info.
    pub locked: bool,
    /// The current invite code, once an admin asked for one.
    pub invite_code: Option<String>,
    /// How long messages stay, in seconds (0: forever).
    pub disappearing: u32,
    /// Joining by invite link needs an admin's approval.
    pub join_approval: bool,
    /// Pending requests to join: phone number, and when (Unix seconds).
    pub join_requests: BTreeMap<String, u64>,
}

impl Group {
    pub(crate) fn jid(&self) -> Jid {
        Jid::new(self.id.clone(), GROUP_SERVER)
    }

    /// `<group id creator creation subject s_t s_o size><participant jid type?/>…`.
    fn node(&self) -> Node {
        Node::new("group")
            .attr("id", self.id.clone())
            .attr("creator", user_jid(&self.creator))
            .attr("creation", self.creation.to_string())
            .attr("subject", self.subject.clone())
            .attr("s_t", self.subject_by.1.to_string())
            .attr("s_o", user_jid(&self.subject_by.0))
            .attr("addressing_mode", "pn")
            .attr("size", self.participants.len().to_string())
            .children(
                self.participants
                    .iter()
                    .map(|(u, r)| {
                        let p = Node::new("participant").attr("jid", user_jid(u));
                        match r {
                            Role::Member => p,
                            Role::Admin => p.attr("type", "admin"),
                            Role::SuperAdmin => p.attr("type", "superadmin"),
                        }
                    })
                    .chain(self.description.as_ref().map(|(id, text)| {
                        Node::new("description")
                            .attr("id", id.clone())
                            .child(Node::new("body").text(text.clone()))
                    }))
                    .chain(self.announce.then(|| Node::new("announcement")))
                    .chain(self.locked.then(|| Node::new("locked")))
                    .chain((self.disappearing > 0).then(|| {
                        Node::new("ephemeral").attr("expiration", self.disappearing.to_string())
                    }))
                    .chain(self.join_approval.then(|| {
                        Node::new("membership_approval_mode")
                            .child(Node::new("group_join").attr("state", "on"))
                    })),
            )
    }

    /// Whether `user` is an admin (or the creator).
    pub(crate) fn is_admin(&self, user: &str) -> bool {
        matches!(
            self.participants.get(user),
            Some(Role::Admin | Role::SuperAdmin)
        )
    }

    /// Refuses a change by `user` unless they are an admin.
    pub(crate) fn require_admin(&self, user: &str) -> Result<(), StanzaError> {
        match self.participants.get(user) {
            Some(Role::Admin | Role::SuperAdmin) => Ok(()),
            Some(Role::Member) => Err(StanzaError::Forbidden("not an admin")),
            None => Err(StanzaError::Forbidden("not a group member")),
        }
    }

    /// Refuses an edit of the group's info by `user`: members may edit
    /// unless the group is locked, then only admins.
    pub(crate) fn require_editor(&self, user: &str) -> Result<(), StanzaError> {
        if self.locked {
            return self.require_admin(user);
        }
        if self.participants.contains_key(user) {
            Ok(())
        } else {
            Err(StanzaError::Forbidden("not a group member"))
        }
    }
}

/// Routes `w:g2` by target (`g.us` or a group) and first child.
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let to = node
        .attr_jid("to")
        .ok_or(StanzaError::BadRequest("iq to"))?;
    let ty = node.attr_str("type").unwrap_or_default().into_owned();
    let first = node
        .child_nodes()
        .first()
        .ok_or(StanzaError::BadRequest("empty w:g2 iq"))?;
    match (to.user.is_empty(), ty.as_str(), first.tag.as_str()) {
        (true, "set", "create") => create(ctx, node, first),
        (true, "set", "leave") => leave(ctx, node, first),
        (true, "get", "participating") => participating(ctx, node),
        (true, "set", "invite") => join_with_code(ctx, node, first),
        (true, "get", "invite") => group_from_code(ctx, node, first),
        (false, _, "invite") => invite_code(ctx, node, &to, ty == "set"),
        (false, "set", "ephemeral" | "not_ephemeral") => disappearing(ctx, node, &to, first),
        (false, "get", "query") => query(ctx, node, &to),
        (false, "get", "membership_approval_requests") => {
            crate::group_requests::list(ctx, node, &to)
        }
        (false, "set", "membership_requests_action") => {
            crate::group_requests::act(ctx, node, &to, first)
        }
        (false, "set", "add" | "remove" | "promote" | "demote") => change(ctx, node, &to, first),
        (false, "set", "subject") => subject(ctx, node, &to, first),
        (false, "set", "description") => description(ctx, node, &to, first),
        (false, "set", "announcement" | "not_announcement" | "locked" | "unlocked") => {
            setting(ctx, node, &to, first)
        }
        _ => Err(StanzaError::NotImplemented),
    }
}

pub(crate) fn member_users(n: &Node) -> Vec<String> {
    n.children_by_tag("participant")
        .filter_map(|p| p.attr_jid("jid"))
        .filter(|j| j.server == USER_SERVER)
        .map(|j| j.user)
        .collect()
}

/// Queues a `w:gp2` notification carrying `child` for every device of `users`, except
/// the acting device.
pub(crate) fn notify(state: &mut State, group: &Jid, actor: &Jid, child: Node, users: &[String]) {
    let n = Node::new("notification")
        .attr("from", group.clone())
        .attr("type", "w:gp2")
        .attr("id", random_token(8))
        .attr("participant", actor.to_non_ad())
        .attr("t", unix_now().to_string())
        .child(child);
    for u in users {
        for dev in state.devices_of(u) {
            if &dev != actor {
                state.deliver(&dev, n.clone());
            }
        }
    }
}

fn create(ctx: &mut Ctx<'_>, iq: &Node, c: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let subject = c.attr_str("subject").unwrap_or_default().into_owned();
    let mut participants = BTreeMap::new();
    participants.insert(me.user.clone(), Role::SuperAdmin);
    for u in member_users(c) {
        participants.entry(u).or_insert(Role::Member);
    }
    if participants.len() > ctx.state.cfg.max_group_size {
        return Err(StanzaError::ResourceLimit("group too large"));
    }
    let now = unix_now();
    let group = Group {
        id: ctx.state.next_group_id(),
        subject,
        subject_by: (me.user.clone(), now),
        creator: me.user.clone(),
        creation: now,
        participants,
        description: None,
        announce: false,
        locked: false,
        invite_code: None,
        disappearing: 0,
        join_approval: false,
        join_requests: BTreeMap::new(),
    };
    let node = group.node();
    let users: Vec<String> = group.participants.keys().cloned().collect();
    let gjid = group.jid();
    info!(account = %me, group = %gjid, members = users.len(), "group created");
    ctx.state.groups.insert(group.id.clone(), group);
    notify(
        ctx.state,
        &gjid,
        &me,
        Node::new("create").child(node.clone()),
        &users,
    );
    ctx.replies.push(iq_result(iq).child(node));
    Ok(())
}

fn query(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let g = ctx
        .state
        .groups
        .get(&to.user)
        .ok_or(StanzaError::NotFound)?;
    if !g.participants.contains_key(&me.user) {
        return Err(StanzaError::Forbidden("not a group member"));
    }
    ctx.replies.push(iq_result(iq).child(g.node()));
    Ok(())
}

fn participating(ctx: &mut Ctx<'_>, iq: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let mut groups: Vec<&Group> = ctx
        .state
        .groups
        .values()
        .filter(|g| g.participants.contains_key(&me.user))
        .collect();
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    let list = Node::new("groups").children(groups.into_iter().map(Group::node));
    ctx.replies.push(iq_result(iq).child(list));
    Ok(())
}

fn change(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid, c: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let max = ctx.state.cfg.max_group_size;
    let g = ctx
        .state
        .groups
        .get_mut(&to.user)
        .ok_or(StanzaError::NotFound)?;
    g.require_admin(&me.user)?;
    let action = c.tag.as_str();
    let before: Vec<String> = g.participants.keys().cloned().collect();
    let mut results = Vec::new();
    let mut changed = Vec::new();
    for u in member_users(c) {
        let error = match action {
            "add" if g.participants.contains_key(&u) => Some("409"),
            "add" if g.participants.len() >= max => Some("500"),
            "add" => {
                g.participants.insert(u.clone(), Role::Member);
                None
            }
            _ if !g.participants.contains_key(&u) => Some("404"),
            "remove" => {
                g.participants.remove(&u);
                None
            }
            "promote" => {
                g.participants.insert(u.clone(), Role::Admin);
                None
            }
            _ => {
                g.participants.insert(u.clone(), Role::Member);
                None
            }
        };
        let mut p = Node::new("participant").attr("jid", user_jid(&u));
        match error {
            Some(code) => p.set_attr("error", code),
            None => changed.push(u),
        }
        results.push(p);
    }
    let gjid = g.jid();
    let mut users: Vec<String> = g.participants.keys().cloned().collect();
    // Removed members learn of it too; added ones get the whole group.
    users.extend(
        before
            .into_iter()
            .filter(|u| !g.participants.contains_key(u)),
    );
    let child = Node::new(action.to_owned()).children(
        changed
            .iter()
            .map(|u| Node::new("participant").attr("jid", user_jid(u))),
    );
    info!(account = %me, group = %gjid, action, changed = changed.len(), "group membership changed");
    if !changed.is_empty() {
        notify(ctx.state, &gjid, &me, child, &users);
    }
    ctx.replies
        .push(iq_result(iq).child(Node::new(action.to_owned()).children(results)));
    Ok(())
}

/// Changes group `to` as the calling account: `edit` checks the caller's
/// right, changes the group and returns what the members' notification
/// carries; then the members are told and the iq answered.
fn edit_group(
    ctx: &mut Ctx<'_>,
    iq: &Node,
    to: &Jid,
    edit: impl FnOnce(&mut Group, &Jid) -> Result<Node, StanzaError>,
) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let g = ctx
        .state
        .groups
        .get_mut(&to.user)
        .ok_or(StanzaError::NotFound)?;
    let change = edit(g, &me)?;
    let (gjid, users): (Jid, Vec<String>) = (g.jid(), g.participants.keys().cloned().collect());
    info!(account = %me, group = %gjid, change = %change.tag, "group changed");
    notify(ctx.state, &gjid, &me, change, &users);
    ctx.replies.push(iq_result(iq));
    Ok(())
}

/// `<subject>name</subject>`: members may rename, unless the group is locked.
fn subject(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid, c: &Node) -> Result<(), StanzaError> {
    edit_group(ctx, iq, to, |g, me| {
        g.require_editor(&me.user)?;
        let text = c
            .content_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        g.subject = text.clone();
        g.subject_by = (me.user.clone(), unix_now());
        Ok(Node::new("subject").attr("subject", text))
    })
}

/// `<description id prev><body>…</body>` (or `delete=true`): the topic. An edit
/// made on a stale version (`prev` not the current id) is refused as a conflict.
fn description(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid, c: &Node) -> Result<(), StanzaError> {
    edit_group(ctx, iq, to, |g, me| {
        g.require_editor(&me.user)?;
        let id = c
            .attr_str("id")
            .ok_or(StanzaError::BadRequest("description id"))?
            .into_owned();
        let previous = c.attr_str("prev").map(|p| p.into_owned());
        if previous.as_deref() != g.description.as_ref().map(|(id, _)| id.as_str()) {
            return Err(StanzaError::Conflict);
        }
        g.description = if c.attr_str("delete").as_deref() == Some("true") {
            None
        } else {
            let body = c
                .get_child("body")
                .and_then(Node::content_bytes)
                .ok_or(StanzaError::BadRequest("description body"))?;
            Some((id, String::from_utf8_lossy(body).into_owned()))
        };
        Ok(c.clone())
    })
}

/// `<ephemeral expiration/>` or `<not_ephemeral/>`: how long messages stay
/// (members may change it unless the group is locked).
fn disappearing(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid, c: &Node) -> Result<(), StanzaError> {
    let seconds = match c.tag.as_str() {
        "ephemeral" => c
            .attr_str("expiration")
            .and_then(|e| e.parse::<u32>().ok())
            .filter(|&e| e > 0)
            .ok_or(StanzaError::BadRequest("ephemeral expiration"))?,
        _ => 0,
    };
    edit_group(ctx, iq, to, |g, me| {
        g.require_editor(&me.user)?;
        g.disappearing = seconds;
        Ok(c.clone())
    })
}

/// `<announcement/>`, `<not_announcement/>`, `<locked/>`, `<unlocked/>`: admins only.
fn setting(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid, c: &Node) -> Result<(), StanzaError> {
    edit_group(ctx, iq, to, |g, me| {
        g.require_admin(&me.user)?;
        match c.tag.as_str() {
            "announcement" => g.announce = true,
            "not_announcement" => g.announce = false,
            "locked" => g.locked = true,
            _ => g.locked = false,
        }
        Ok(Node::new(c.tag.clone()))
    })
}

/// `<invite/>` to a group: its invite code (admins only); `set` revokes the
/// old one and makes a new one.
fn invite_code(ctx: &mut Ctx<'_>, iq: &Node, to: &Jid, reset: bool) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let g = ctx
        .state
        .groups
        .get_mut(&to.user)
        .ok_or(StanzaError::NotFound)?;
    g.require_admin(&me.user)?;
    if reset || g.invite_code.is_none() {
        g.invite_code = Some(random_token(16));
    }
    let code = g.invite_code.clone().unwrap_or_default();
    ctx.replies
        .push(iq_result(iq).child(Node::new("invite").attr("code", code)));
    Ok(())
}

/// The group a code invites to (a revoked or unknown code: 404).
fn group_by_code<'s>(state: &'s mut State, c: &Node) -> Result<&'s mut Group, StanzaError> {
    let code = c
        .attr_str("code")
        .ok_or(StanzaError::BadRequest("invite code"))?;
    state
        .groups
        .values_mut()
        .find(|g| g.invite_code.as_deref() == Some(code.as_ref()))
        .ok_or(StanzaError::NotFound)
}

/// `<invite code/>` to `g.us`, `get`: the group, before joining.
fn group_from_code(ctx: &mut Ctx<'_>, iq: &Node, c: &Node) -> Result<(), StanzaError> {
    let node = group_by_code(ctx.state, c)?.node();
    ctx.replies.push(iq_result(iq).child(node));
    Ok(())
}

/// `<invite code/>` to `g.us`, `set`: join; members see the addition. A group
/// that needs approval records a request instead, and says so.
fn join_with_code(ctx: &mut Ctx<'_>, iq: &Node, c: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let max = ctx.state.cfg.max_group_size;
    let g = group_by_code(ctx.state, c)?;
    let gjid = g.jid();
    if g.join_approval && !g.participants.contains_key(&me.user) {
        g.join_requests
            .entry(me.user.clone())
            .or_insert_with(unix_now);
        info!(account = %me, group = %gjid, "asked to join group");
        ctx.replies
            .push(iq_result(iq).child(Node::new("membership_approval_request").attr("jid", gjid)));
        return Ok(());
    }
    if !g.participants.contains_key(&me.user) {
        if g.participants.len() >= max {
            return Err(StanzaError::ResourceLimit("group full"));
        }
        g.participants.insert(me.user.clone(), Role::Member);
        let users: Vec<String> = g.participants.keys().cloned().collect();
        info!(account = %me, group = %gjid, "joined group by invite");
        notify(
            ctx.state,
            &gjid,
            &me,
            Node::new("add")
                .attr("reason", "invite")
                .child(Node::new("participant").attr("jid", me.to_non_ad())),
            &users,
        );
    }
    ctx.replies
        .push(iq_result(iq).child(Node::new("group").attr("jid", gjid)));
    Ok(())
}

fn leave(ctx: &mut Ctx<'_>, iq: &Node, c: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    for gid in c.children_by_tag("group").filter_map(|g| g.attr_jid("id")) {
        let Some(g) = ctx.state.groups.get_mut(&gid.user) else {
            continue;
        };
        if g.participants.remove(&me.user).is_none() {
            continue;
        }
        let mut users: Vec<String> = g.participants.keys().cloned().collect();
        users.push(me.user.clone());
        let gjid = g.jid();
        info!(account = %me, group = %gjid, "left group");
        notify(
            ctx.state,
            &gjid,
            &me,
            Node::new("remove").child(Node::new("participant").attr("jid", me.to_non_ad())),
            &users,
        );
    }
    ctx.replies.push(iq_result(iq));
    Ok(())
}
