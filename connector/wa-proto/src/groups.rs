//! Groups (`iq xmlns=w:g2`): create, query, membership changes, and the `w:gp2`
//! notifications members' devices get when a group changes.

use crate::binary::jid::GROUP_SERVER;
use crate::binary::{Jid, Node};
use crate::stanza::{
    StanzaError, expect_tag, iq, opt_attr, opt_jid_attr, req_attr, req_jid_attr, req_num_attr,
    self_or_child,
};

/// The `g.us` server JID, target of group creation and of requests about no group.
fn groups_server() -> Jid {
    Jid::server(GROUP_SERVER)
}

/// `<participant jid/>` for each of `participants` (user JIDs; devices are dropped).
fn participant_nodes(participants: &[Jid]) -> impl Iterator<Item = Node> + '_ {
    participants
        .iter()
        .map(|p| Node::new("participant").attr("jid", p.to_non_ad()))
}

/// `<iq xmlns=w:g2 type=get to=group><query request=interactive/></iq>`: the group's
/// metadata and members (answer: [`parse_group_info`]).
pub fn query_group(iq_id: &str, group: &Jid) -> Node {
    iq(iq_id, "w:g2", "get", group.clone()).child(Node::new("query").attr("request", "interactive"))
}

/// `<iq xmlns=w:g2 type=set to=g.us><create subject key><participant jid/>…</create>`:
/// creates a group with us as super-admin. `key` is a caller-chosen id that makes a
/// retried request idempotent. The answer holds the new `<group>`.
pub fn create_group(iq_id: &str, subject: &str, key: &str, participants: &[Jid]) -> Node {
    iq(iq_id, "w:g2", "set", groups_server()).child(
        Node::new("create")
            .attr("subject", subject)
            .attr("key", key)
            .children(participant_nodes(participants)),
    )
}

/// A membership change an admin can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantAction {
    /// Add members.
    Add,
    /// Remove members.
    Remove,
    /// Make members admins.
    Promote,
    /// Make admins ordinary members.
    Demote,
}

impl ParticipantAction {
    /// The element name of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Promote => "promote",
            Self::Demote => "demote",
        }
    }
}

/// `<iq xmlns=w:g2 type=set to=group><add|remove|promote|demote><participant jid/>…`.
/// The answer lists each participant, with an `error` code where the change failed
/// (see [`parse_participant_results`]).
pub fn change_participants(
    iq_id: &str,
    group: &Jid,
    action: ParticipantAction,
    participants: &[Jid],
) -> Node {
    iq(iq_id, "w:g2", "set", group.clone())
        .child(Node::new(action.as_str()).children(participant_nodes(participants)))
}

/// `<iq xmlns=w:g2 type=set to=group><subject>text</subject></iq>`: renames the group.
pub fn set_subject(iq_id: &str, group: &Jid, subject: &str) -> Node {
    iq(iq_id, "w:g2", "set", group.clone()).child(Node::new("subject").text(subject))
}

/// `<iq xmlns=w:g2 type=set to=g.us><leave><group id/></leave></iq>`: leaves a group.
pub fn leave_group(iq_id: &str, group: &Jid) -> Node {
    iq(iq_id, "w:g2", "set", groups_server())
        .child(Node::new("leave").child(Node::new("group").attr("id", group.clone())))
}

/// A group setting only admins may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSetting {
    /// Only admins send messages (`announcement` / `not_announcement`).
    Announce,
    /// Only admins edit the group's name, topic and picture (`locked` / `unlocked`).
    Locked,
}

impl GroupSetting {
    /// The element that turns the setting on or off.
    pub fn element(self, on: bool) -> &'static str {
        match (self, on) {
            (Self::Announce, true) => "announcement",
            (Self::Announce, false) => "not_announcement",
            (Self::Locked, true) => "locked",
            (Self::Locked, false) => "unlocked",
        }
    }
}

/// `<iq xmlns=w:g2 type=set to=group><announcement/>` (or `not_announcement`,
/// `locked`, `unlocked`): turns a group setting on or off.
pub fn set_setting(iq_id: &str, group: &Jid, setting: GroupSetting, on: bool) -> Node {
    iq(iq_id, "w:g2", "set", group.clone()).child(Node::new(setting.element(on)))
}

/// `<iq xmlns=w:g2 type=set to=group><ephemeral expiration/>` (or
/// `<not_ephemeral/>` for 0): how long the group's messages stay.
pub fn set_disappearing(iq_id: &str, group: &Jid, seconds: u32) -> Node {
    let child = if seconds == 0 {
        Node::new("not_ephemeral")
    } else {
        Node::new("ephemeral").attr("expiration", seconds.to_string())
    };
    iq(iq_id, "w:g2", "set", group.clone()).child(child)
}

/// `<iq xmlns=w:g2 type=set to=group><description id prev><body>topic</body>`:
/// sets the group's topic, or removes it (`delete=true`, no body) when `topic`
/// is empty. `id` is a fresh id for the new version, `previous` the id of the
/// version it replaces (from [`GroupInfo::topic_id`]), so the server can refuse
/// an edit made on a stale topic.
pub fn set_topic(iq_id: &str, group: &Jid, topic: &str, id: &str, previous: Option<&str>) -> Node {
    let mut description = Node::new("description").attr("id", id);
    if let Some(previous) = previous {
        description.set_attr("prev", previous);
    }
    let description = if topic.is_empty() {
        description.attr("delete", "true")
    } else {
        description.child(Node::new("body").text(topic))
    };
    iq(iq_id, "w:g2", "set", group.clone()).child(description)
}

/// `<iq xmlns=w:g2 type=get to=g.us><participating><participants/><description/>
/// </participating></iq>`: every group we are in, with members and topics
/// (answer: [`parse_groups`]).
pub fn participating_groups(iq_id: &str) -> Node {
    iq(iq_id, "w:g2", "get", groups_server()).child(
        Node::new("participating").children([Node::new("participants"), Node::new("description")]),
    )
}

/// Reads the answer to [`participating_groups`]: `<groups><group>…</groups>`.
pub fn parse_groups(result: &Node) -> Result<Vec<GroupInfo>, StanzaError> {
    crate::stanza::check_iq(result)?;
    let groups = result
        .get_child("groups")
        .ok_or(StanzaError::MissingChild("groups"))?;
    groups
        .children_by_tag("group")
        .map(parse_group_info)
        .collect()
}

/// Where WhatsApp's invite links point; the code follows.
pub const INVITE_LINK_PREFIX: &str = "https://chat.whatsapp.com/";

/// `<iq xmlns=w:g2 type=get|set to=group><invite/></iq>`: the group's invite
/// code (`set`: revoke the old one and make a new one). Admins only. Answer:
/// [`parse_invite_code`].
pub fn invite_code(iq_id: &str, group: &Jid, reset: bool) -> Node {
    let ty = if reset { "set" } else { "get" };
    iq(iq_id, "w:g2", ty, group.clone()).child(Node::new("invite"))
}

/// Reads `<invite code/>` from the answer to [`invite_code`].
pub fn parse_invite_code(result: &Node) -> Result<String, StanzaError> {
    crate::stanza::check_iq(result)?;
    let invite = result
        .get_child("invite")
        .ok_or(StanzaError::MissingChild("invite"))?;
    req_attr(invite, "code")
}

/// `<iq xmlns=w:g2 type=set to=g.us><invite code/></iq>`: joins the group the
/// code invites to. Answer: `<group jid/>` ([`parse_joined`]).
pub fn join_with_code(iq_id: &str, code: &str) -> Node {
    iq(iq_id, "w:g2", "set", groups_server()).child(Node::new("invite").attr("code", code))
}

/// Reads the group's JID from the answer to [`join_with_code`]: `<group jid/>`
/// when we joined, `<membership_approval_request jid/>` when the group needs
/// an admin's approval and our request now waits for it (see
/// [`crate::group_requests`]).
pub fn parse_joined(result: &Node) -> Result<Jid, StanzaError> {
    crate::stanza::check_iq(result)?;
    let group = result
        .get_child("group")
        .or_else(|| result.get_child("membership_approval_request"))
        .ok_or(StanzaError::MissingChild("group"))?;
    req_jid_attr(group, "jid")
}

/// `<iq xmlns=w:g2 type=get to=g.us><invite code/></iq>`: the group an invite
/// code leads to, before joining. Answer: a `<group>` ([`parse_group_info`]).
pub fn group_from_code(iq_id: &str, code: &str) -> Node {
    iq(iq_id, "w:g2", "get", groups_server()).child(Node::new("invite").attr("code", code))
}

/// Reads the answer to [`change_participants`]: each participant with the error code
/// (`409` already a member, `404` not a member, …) when its change failed.
pub fn parse_participant_results(result: &Node) -> Result<Vec<(Jid, Option<String>)>, StanzaError> {
    crate::stanza::check_iq(result)?;
    let action = result
        .child_nodes()
        .iter()
        .find(|c| matches!(c.tag.as_str(), "add" | "remove" | "promote" | "demote"))
        .ok_or(StanzaError::MissingChild("add|remove|promote|demote"))?;
    action
        .children_by_tag("participant")
        .map(|p| Ok((req_jid_attr(p, "jid")?, opt_attr(p, "error"))))
        .collect()
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupParticipant {
    /// The member's user JID.
    pub jid: Jid,
    /// `admin` or `superadmin` (the creator); `None` for ordinary members.
    pub admin: Option<String>,
}

/// A group's metadata and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group JID (`…@g.us`).
    pub jid: Jid,
    /// The group name.
    pub subject: String,
    /// Who created it.
    pub creator: Option<Jid>,
    /// The members.
    pub participants: Vec<GroupParticipant>,
    /// `pn` (members addressed by phone number) or `lid` (by hidden id).
    pub addressing_mode: Option<String>,
    /// The group's description, when it has one.
    pub topic: Option<String>,
    /// The id of the topic's current version (the `prev` of the next edit).
    pub topic_id: Option<String>,
    /// Only admins send messages.
    pub announce: bool,
    /// Only admins edit the group's info.
    pub locked: bool,
    /// How long messages stay, in seconds (0: they do not disappear).
    pub disappearing: u32,
}

/// The group JID from `<group id>`: the bare id, or already a full JID.
fn group_jid(node: &Node) -> Result<Jid, StanzaError> {
    let id = req_attr(node, "id")?;
    if id.contains('@') {
        return req_jid_attr(node, "id");
    }
    if id.is_empty() {
        return Err(StanzaError::BadValue {
            field: "id",
            value: id,
        });
    }
    Ok(Jid::new(id, GROUP_SERVER))
}

/// Reads a `<group>` (or an iq answer containing one): the answer to
/// [`query_group`] and [`create_group`].
pub fn parse_group_info(node: &Node) -> Result<GroupInfo, StanzaError> {
    let g = self_or_child(node, "group")?;
    let participants = g
        .children_by_tag("participant")
        .map(|p| {
            Ok(GroupParticipant {
                jid: req_jid_attr(p, "jid")?,
                admin: opt_attr(p, "type").filter(|t| !t.is_empty()),
            })
        })
        .collect::<Result<Vec<_>, StanzaError>>()?;
    let description = g.get_child("description");
    Ok(GroupInfo {
        jid: group_jid(g)?,
        subject: opt_attr(g, "subject").unwrap_or_default(),
        creator: opt_jid_attr(g, "creator")?,
        participants,
        addressing_mode: opt_attr(g, "addressing_mode"),
        topic: description
            .and_then(|d| d.get_child("body"))
            .and_then(Node::content_bytes)
            .map(|body| String::from_utf8_lossy(body).into_owned()),
        topic_id: description.and_then(|d| opt_attr(d, "id")),
        announce: g.get_child("announcement").is_some(),
        locked: g.get_child("locked").is_some(),
        disappearing: match g.get_child("ephemeral") {
            Some(e) => req_num_attr(e, "expiration")?,
            None => 0,
        },
    })
}

/// One change carried by a `w:gp2` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    /// The group was created (we are in it), with its metadata.
    Create(Box<GroupInfo>),
    /// Members joined or were added.
    Add(Vec<Jid>),
    /// Members left or were removed.
    Remove(Vec<Jid>),
    /// Members became admins.
    Promote(Vec<Jid>),
    /// Admins became ordinary members.
    Demote(Vec<Jid>),
    /// The group was renamed.
    Subject(String),
    /// A change this crate does not interpret (the element name).
    Other(String),
}

/// A `<notification type=w:gp2>`: who changed which group, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    /// The notification id (ack it with [`crate::receipt::message_ack`]).
    pub id: String,
    /// The group.
    pub group: Jid,
    /// Who made the change, when the server names them.
    pub actor: Option<Jid>,
    /// When (`t`, Unix seconds).
    pub timestamp: u64,
    /// What changed, in stanza order.
    pub actions: Vec<GroupAction>,
}

fn members(node: &Node) -> Result<Vec<Jid>, StanzaError> {
    node.children_by_tag("participant")
        .map(|p| req_jid_attr(p, "jid"))
        .collect()
}

/// Parses a group notification (`<notification type=w:gp2 from=group
/// participant=actor>` with `create`, `add`, `remove`, `promote`, `demote`, `subject`
/// children).
pub fn parse_group_notification(node: &Node) -> Result<GroupChange, StanzaError> {
    expect_tag(node, "notification")?;
    let ty = req_attr(node, "type")?;
    if ty != "w:gp2" {
        return Err(StanzaError::BadValue {
            field: "type",
            value: ty,
        });
    }
    let actions = node
        .child_nodes()
        .iter()
        .map(|c| {
            Ok(match c.tag.as_str() {
                "create" => GroupAction::Create(Box::new(parse_group_info(c)?)),
                "add" => GroupAction::Add(members(c)?),
                "remove" => GroupAction::Remove(members(c)?),
                "promote" => GroupAction::Promote(members(c)?),
                "demote" => GroupAction::Demote(members(c)?),
                "subject" => GroupAction::Subject(req_attr(c, "subject")?),
                other => GroupAction::Other(other.to_owned()),
            })
        })
        .collect::<Result<Vec<_>, StanzaError>>()?;
    Ok(GroupChange {
        id: req_attr(node, "id")?,
        group: req_jid_attr(node, "from")?,
        actor: opt_jid_attr(node, "participant")?,
        timestamp: req_num_attr(node, "t")?,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }
    fn user(n: &str) -> Jid {
        Jid::new(n, "s.whatsapp.net")
    }
    fn group() -> Jid {
        Jid::new("120363000000000001", "g.us")
    }

    /// The simulator's `<group>` element.
    fn group_node() -> Node {
        Node::new("group")
            .attr("id", "120363000000000001")
            .attr("creator", user("1555111"))
            .attr("creation", "1700000000")
            .attr("subject", "Team")
            .attr("s_t", "1700000000")
            .attr("s_o", user("1555111"))
            .attr("addressing_mode", "pn")
            .attr("size", "2")
            .children([
                Node::new("participant")
                    .attr("jid", user("1555111"))
                    .attr("type", "superadmin"),
                Node::new("participant").attr("jid", user("1555222")),
            ])
    }

    fn info() -> GroupInfo {
        GroupInfo {
            jid: group(),
            subject: "Team".into(),
            creator: Some(user("1555111")),
            participants: vec![
                GroupParticipant {
                    jid: user("1555111"),
                    admin: Some("superadmin".into()),
                },
                GroupParticipant {
                    jid: user("1555222"),
                    admin: None,
                },
            ],
            addressing_mode: Some("pn".into()),
            topic: None,
            topic_id: None,
            announce: false,
            locked: false,
            disappearing: 0,
        }
    }

    #[test]
    fn request_shapes() {
        assert_eq!(
            wire(query_group("g1", &group())).to_string(),
            "<iq id=\"g1\" xmlns=\"w:g2\" type=\"get\" to=\"120363000000000001@g.us\"><query request=\"interactive\"/></iq>"
        );
        assert_eq!(
            wire(create_group(
                "g2",
                "Team",
                "K1",
                &[Jid::device("1555222", 3, "s.whatsapp.net")]
            ))
            .to_string(),
            "<iq id=\"g2\" xmlns=\"w:g2\" type=\"set\" to=\"g.us\"><create subject=\"Team\" key=\"K1\"><participant jid=\"1555222@s.whatsapp.net\"/></create></iq>"
        );
        assert_eq!(
            wire(change_participants(
                "g3",
                &group(),
                ParticipantAction::Promote,
                &[user("1555333")]
            ))
            .to_string(),
            "<iq id=\"g3\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><promote><participant jid=\"1555333@s.whatsapp.net\"/></promote></iq>"
        );
        assert_eq!(
            wire(set_subject("g4", &group(), "New name")).to_string(),
            "<iq id=\"g4\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><subject>New name</subject></iq>"
        );
        assert_eq!(
            wire(leave_group("g5", &group())).to_string(),
            "<iq id=\"g5\" xmlns=\"w:g2\" type=\"set\" to=\"g.us\"><leave><group id=\"120363000000000001@g.us\"/></leave></iq>"
        );
        assert_eq!(
            wire(set_setting("g6", &group(), GroupSetting::Announce, true)).to_string(),
            "<iq id=\"g6\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><announcement/></iq>"
        );
        assert_eq!(
            wire(set_setting("g7", &group(), GroupSetting::Locked, false)).to_string(),
            "<iq id=\"g7\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><unlocked/></iq>"
        );
        assert_eq!(
            wire(set_disappearing("g10", &group(), 86_400)).to_string(),
            "<iq id=\"g10\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><ephemeral expiration=\"86400\"/></iq>"
        );
        assert_eq!(
            wire(set_disappearing("g11", &group(), 0)).to_string(),
            "<iq id=\"g11\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><not_ephemeral/></iq>"
        );
        assert_eq!(
            wire(set_topic("g8", &group(), "Rules", "T2", Some("T1"))).to_string(),
            "<iq id=\"g8\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><description id=\"T2\" prev=\"T1\"><body>Rules</body></description></iq>"
        );
        assert_eq!(
            wire(set_topic("g9", &group(), "", "T3", None)).to_string(),
            "<iq id=\"g9\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><description id=\"T3\" delete=\"true\"/></iq>"
        );
    }

    #[test]
    fn invite_requests_and_answers() {
        assert_eq!(
            wire(invite_code("i1", &group(), false)).to_string(),
            "<iq id=\"i1\" xmlns=\"w:g2\" type=\"get\" to=\"120363000000000001@g.us\"><invite/></iq>"
        );
        assert_eq!(
            wire(invite_code("i2", &group(), true)).to_string(),
            "<iq id=\"i2\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><invite/></iq>"
        );
        assert_eq!(
            wire(join_with_code("i3", "AbC123")).to_string(),
            "<iq id=\"i3\" xmlns=\"w:g2\" type=\"set\" to=\"g.us\"><invite code=\"AbC123\"/></iq>"
        );
        assert_eq!(
            wire(group_from_code("i4", "AbC123")).to_string(),
            "<iq id=\"i4\" xmlns=\"w:g2\" type=\"get\" to=\"g.us\"><invite code=\"AbC123\"/></iq>"
        );
        let code = wire(
            Node::new("iq")
                .attr("type", "result")
                .child(Node::new("invite").attr("code", "AbC123")),
        );
        assert_eq!(parse_invite_code(&code).unwrap(), "AbC123");
        let joined = wire(
            Node::new("iq")
                .attr("type", "result")
                .child(Node::new("group").attr("jid", group())),
        );
        assert_eq!(parse_joined(&joined).unwrap(), group());
        // A group that needs approval: the request waits, the answer names the group.
        let requested = wire(
            Node::new("iq")
                .attr("type", "result")
                .child(Node::new("membership_approval_request").attr("jid", group())),
        );
        assert_eq!(parse_joined(&requested).unwrap(), group());
        let refused = wire(
            Node::new("iq")
                .attr("type", "error")
                .child(Node::new("error").attr("code", "410")),
        );
        assert!(parse_invite_code(&refused).is_err());
        assert!(parse_joined(&refused).is_err());
    }

    #[test]
    fn participating_query_and_answer() {
        assert_eq!(
            wire(participating_groups("p1")).to_string(),
            "<iq id=\"p1\" xmlns=\"w:g2\" type=\"get\" to=\"g.us\"><participating><participants/><description/></participating></iq>"
        );
        let answer = wire(
            Node::new("iq").attr("type", "result").child(
                Node::new("groups")
                    .children([group_node(), group_node().attr("id", "120363000000000002")]),
            ),
        );
        let groups = parse_groups(&answer).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0], info());
        assert_eq!(groups[1].jid.user, "120363000000000002");
        let empty = wire(
            Node::new("iq")
                .attr("type", "result")
                .child(Node::new("groups")),
        );
        assert!(parse_groups(&empty).unwrap().is_empty());
        assert!(parse_groups(&wire(Node::new("iq").attr("type", "result"))).is_err());
    }

    #[test]
    fn group_answers() {
        let answer = wire(Node::new("iq").attr("type", "result").child(group_node()));
        assert_eq!(parse_group_info(&answer).unwrap(), info());
        let full_id = group_node().attr("id", group());
        assert_eq!(parse_group_info(&wire(full_id)).unwrap().jid, group());
        // Topic and settings, as the server lists them inside `<group>`.
        let configured = group_node()
            .child(
                Node::new("description")
                    .attr("id", "T1")
                    .attr("participant", user("1555111"))
                    .attr("t", "1700000100")
                    .child(Node::new("body").text("Rules")),
            )
            .child(Node::new("announcement"))
            .child(Node::new("locked"))
            .child(Node::new("ephemeral").attr("expiration", "604800"));
        let parsed = parse_group_info(&wire(configured)).unwrap();
        assert_eq!(
            (parsed.topic.as_deref(), parsed.topic_id.as_deref()),
            (Some("Rules"), Some("T1"))
        );
        assert!(parsed.announce && parsed.locked);
        assert_eq!(parsed.disappearing, 604_800);
        assert_eq!(parsed.participants, info().participants);
        let results = wire(
            Node::new("iq").attr("type", "result").child(
                Node::new("add").children([
                    Node::new("participant").attr("jid", user("1555333")),
                    Node::new("participant")
                        .attr("jid", user("1555222"))
                        .attr("error", "409"),
                ]),
            ),
        );
        assert_eq!(
            parse_participant_results(&results).unwrap(),
            vec![
                (user("1555333"), None),
                (user("1555222"), Some("409".into()))
            ]
        );
    }

    #[test]
    fn malformed_group_answers() {
        assert_eq!(
            parse_group_info(&Node::new("iq").attr("type", "result")),
            Err(StanzaError::MissingChild("group"))
        );
        let forbidden = Node::new("iq").attr("type", "error").child(
            Node::new("error")
                .attr("code", "403")
                .attr("text", "forbidden"),
        );
        assert!(matches!(
            parse_group_info(&forbidden),
            Err(StanzaError::Server { code, .. }) if code == "403"
        ));
        let no_id = Node::new("group").attr("subject", "x");
        assert_eq!(
            parse_group_info(&no_id),
            Err(StanzaError::MissingAttr("id"))
        );
        let bad_member = group_node().child(Node::new("participant"));
        assert_eq!(
            parse_group_info(&bad_member),
            Err(StanzaError::MissingAttr("jid"))
        );
        assert!(parse_participant_results(&Node::new("iq")).is_err());
    }

    fn notification(child: Node) -> Node {
        wire(
            Node::new("notification")
                .attr("from", group())
                .attr("type", "w:gp2")
                .attr("id", "N1")
                .attr("participant", user("1555111"))
                .attr("t", "1700000100")
                .child(child),
        )
    }

    #[test]
    fn simulator_notifications() {
        let cases = [
            (
                Node::new("create").child(group_node()),
                GroupAction::Create(Box::new(info())),
            ),
            (
                Node::new("add").children([Node::new("participant").attr("jid", user("1555333"))]),
                GroupAction::Add(vec![user("1555333")]),
            ),
            (
                Node::new("remove")
                    .children([Node::new("participant").attr("jid", user("1555222"))]),
                GroupAction::Remove(vec![user("1555222")]),
            ),
            (
                Node::new("promote")
                    .children([Node::new("participant").attr("jid", user("1555222"))]),
                GroupAction::Promote(vec![user("1555222")]),
            ),
            (
                Node::new("demote")
                    .children([Node::new("participant").attr("jid", user("1555222"))]),
                GroupAction::Demote(vec![user("1555222")]),
            ),
            (
                Node::new("subject").attr("subject", "Renamed"),
                GroupAction::Subject("Renamed".into()),
            ),
            (Node::new("locked"), GroupAction::Other("locked".into())),
        ];
        for (child, action) in cases {
            let change = parse_group_notification(&notification(child)).unwrap();
            assert_eq!(
                change,
                GroupChange {
                    id: "N1".into(),
                    group: group(),
                    actor: Some(user("1555111")),
                    timestamp: 1_700_000_100,
                    actions: vec![action],
                }
            );
        }
    }

    #[test]
    fn malformed_notifications() {
        let n = notification(Node::new("subject"));
        assert_eq!(
            parse_group_notification(&n),
            Err(StanzaError::MissingAttr("subject"))
        );
        let other = Node::new("notification").attr("type", "encrypt");
        assert_eq!(
            parse_group_notification(&other),
            Err(StanzaError::BadValue {
                field: "type",
                value: "encrypt".into()
            })
        );
        let bad_member = notification(
            Node::new("add").child(Node::new("participant").attr("jid", "x:y@s.whatsapp.net")),
        );
        assert!(matches!(
            parse_group_notification(&bad_member),
            Err(StanzaError::BadValue { field: "jid", .. })
        ));
        let mut no_t = notification(Node::new("locked"));
        no_t.attrs.retain(|(k, _)| k != "t");
        assert_eq!(
            parse_group_notification(&no_t),
            Err(StanzaError::MissingAttr("t"))
        );
        assert!(matches!(
            parse_group_notification(&Node::new("message")),
            Err(StanzaError::UnexpectedTag { .. })
        ));
    }
}
