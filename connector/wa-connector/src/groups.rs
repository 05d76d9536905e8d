//! Groups: create one and change its members, through the account's connection.
//!
//! Membership is the server's: sends to a group query it each time (see
//! [`crate::send`]), so a member added later receives our sender key with the next
//! message, pairwise, before the group part it needs it for.

use rand_core::{OsRng, RngCore};
use wa_proto::binary::Jid;
use wa_proto::groups::{self, GroupInfo, ParticipantAction};

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
    groups::parse_group_info(&node).map_err(|_| RequestError::Refused {
        code: "malformed group".into(),
    })
}

/// Adds, removes, promotes or demotes `participants` of `group`.
pub async fn change_participants(
    requester: &Requester,
    group: &Jid,
    action: ParticipantAction,
    participants: &[Jid],
) -> Result<(), RequestError> {
    requester
        .iq(|id| groups::change_participants(id, group, action, participants))
        .await
        .map(|_| ())
}

/// The group's subject, creator and members, as the server has them.
pub async fn info(requester: &Requester, group: &Jid) -> Result<GroupInfo, RequestError> {
    let node = requester.iq(|id| groups::query_group(id, group)).await?;
    groups::parse_group_info(&node).map_err(|_| RequestError::Refused {
        code: "malformed group".into(),
    })
}
