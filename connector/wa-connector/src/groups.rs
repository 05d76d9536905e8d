//! Groups: create one, change its members, name, topic and settings, leave it,
//! through the account's connection.
//!
//! Membership is the server's: sends to a group query it each time (see
//! [`crate::send`]), so a member added later receives our sender key with the next
//! message, pairwise, before the group part it needs it for.

use rand_core::{OsRng, RngCore};
use wa_proto::binary::Jid;
use wa_proto::groups::{self, GroupInfo, GroupSetting, ParticipantAction};

use crate::requests::{RequestError, Requester};

/// Creates a group named `subject` with `participants` (user JIDs); we are its admin.
pub async fn create(
    requester: &Requester,
    subject: &str,
    participants: &[Jid],
) -> Result<GroupInfo, RequestError> {
    let key = format!("{:016X}", OsRng.next_u64());
    let node = requester
        .iq(|id| groups::create_group(id, subject, &key, participants))
        .await?;
    groups::parse_group_info(&node).map_err(|_| malformed())
}

/// Adds, removes, promotes or demotes `participants` of `group`; answers each
/// participant with WhatsApp's error code where its change failed.
pub async fn change_participants(
    requester: &Requester,
    group: &Jid,
    action: ParticipantAction,
    participants: &[Jid],
) -> Result<Vec<(Jid, Option<String>)>, RequestError> {
    let node = requester
        .iq(|id| groups::change_participants(id, group, action, participants))
        .await?;
    groups::parse_participant_results(&node).map_err(|_| malformed())
}

/// Renames `group`.
pub async fn set_name(requester: &Requester, group: &Jid, name: &str) -> Result<(), RequestError> {
    requester
        .iq(|id| groups::set_subject(id, group, name))
        .await
        .map(|_| ())
}

/// Sets `group`'s topic (empty: removes it), as a new version of the one the
/// server has now.
pub async fn set_topic(
    requester: &Requester,
    group: &Jid,
    topic: &str,
) -> Result<(), RequestError> {
    let current = info(requester, group).await?;
    let version = format!("{:016X}", OsRng.next_u64());
    requester
        .iq(|id| groups::set_topic(id, group, topic, &version, current.topic_id.as_deref()))
        .await
        .map(|_| ())
}

/// Turns an admin-only setting of `group` on or off.
pub async fn set_setting(
    requester: &Requester,
    group: &Jid,
    setting: GroupSetting,
    on: bool,
) -> Result<(), RequestError> {
    requester
        .iq(|id| groups::set_setting(id, group, setting, on))
        .await
        .map(|_| ())
}

/// `group`'s invite code (`reset`: revoke the old one first).
pub async fn invite_code(
    requester: &Requester,
    group: &Jid,
    reset: bool,
) -> Result<String, RequestError> {
    let node = requester
        .iq(|id| groups::invite_code(id, group, reset))
        .await?;
    groups::parse_invite_code(&node).map_err(|_| malformed())
}

/// Joins the group `code` invites to; answers its JID.
pub async fn join(requester: &Requester, code: &str) -> Result<Jid, RequestError> {
    let node = requester.iq(|id| groups::join_with_code(id, code)).await?;
    groups::parse_joined(&node).map_err(|_| malformed())
}

/// The group `code` invites to, without joining.
pub async fn preview(requester: &Requester, code: &str) -> Result<GroupInfo, RequestError> {
    let node = requester.iq(|id| groups::group_from_code(id, code)).await?;
    groups::parse_group_info(&node).map_err(|_| malformed())
}

/// Every group the account is in.
pub async fn joined(requester: &Requester) -> Result<Vec<GroupInfo>, RequestError> {
    let node = requester.iq(groups::participating_groups).await?;
    groups::parse_groups(&node).map_err(|_| malformed())
}

/// Sets how long `group`'s messages stay (0: forever).
pub async fn set_disappearing(
    requester: &Requester,
    group: &Jid,
    seconds: u32,
) -> Result<(), RequestError> {
    requester
        .iq(|id| groups::set_disappearing(id, group, seconds))
        .await
        .map(|_| ())
}

/// Leaves `group`.
pub async fn leave(requester: &Requester, group: &Jid) -> Result<(), RequestError> {
    requester
        .iq(|id| groups::leave_group(id, group))
        .await
        .map(|_| ())
}

fn malformed() -> RequestError {
    RequestError::Refused {
        code: "malformed group".into(),
    }
}

/// The group's subject, creator and members, as the server has them.
pub async fn info(requester: &Requester, group: &Jid) -> Result<GroupInfo, RequestError> {
    let node = requester.iq(|id| groups::query_group(id, group)).await?;
    groups::parse_group_info(&node).map_err(|_| malformed())
}
