//! Requests to join groups that need an admin's approval: list them, approve
//! or reject them, through the account's connection.

use wa_proto::binary::Jid;
use wa_proto::group_requests::{self, MembershipRequest, RequestAction};

use crate::requests::{RequestError, Requester};

/// The pending requests to join `group` (we must be an admin).
pub async fn list(
    requester: &Requester,
    group: &Jid,
) -> Result<Vec<MembershipRequest>, RequestError> {
    let node = requester
        .iq(|id| group_requests::membership_requests(id, group))
        .await?;
    group_requests::parse_membership_requests(&node).map_err(|_| malformed())
}

/// Approves or rejects the requests of `participants`; answers each with
/// WhatsApp's error code where it failed.
pub async fn answer(
    requester: &Requester,
    group: &Jid,
    action: RequestAction,
    participants: &[Jid],
) -> Result<Vec<(Jid, Option<String>)>, RequestError> {
    let node = requester
        .iq(|id| group_requests::act_on_requests(id, group, action, participants))
        .await?;
    group_requests::parse_request_results(&node, action).map_err(|_| malformed())
}

fn malformed() -> RequestError {
    RequestError::Refused {
        code: "malformed membership requests".into(),
    }
}
