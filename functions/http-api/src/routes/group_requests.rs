//! `/group/participant-requests*`: who asked to join a group that needs an
//! admin's approval, and approving or rejecting them (GOWA's shapes).

use serde::Serialize;

use super::Call;
use super::chats::rfc3339;
use crate::bindings::wa::gateway::types::{JoinRequest, ParticipantResult};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::phone;

const BODY_LIMIT: usize = 256 * 1024;

/// One pending request, as GOWA lists it.
#[derive(Serialize)]
struct RequestView {
    jid: String,
    phone_number: String,
    requested_at: String,
}

/// `GET /group/participant-requests?group_id=`: the pending requests.
pub async fn list(call: &Call) -> ApiResult<ApiResponse> {
    let group = phone::group(&call.query().required("group_id")?)?;
    let device = call.device().await?;
    let requests: Vec<JoinRequest> = call
        .connector
        .try_call("groups", "list-join-requests", (&device, group))
        .await?;
    let view: Vec<RequestView> = requests
        .into_iter()
        .map(|r| RequestView {
            phone_number: r
                .jid
                .split(['@', ':'])
                .next()
                .unwrap_or_default()
                .to_owned(),
            jid: r.jid,
            // GOWA's zero time when WhatsApp gives none.
            requested_at: r
                .requested_at
                .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |s| rfc3339(s * 1000)),
        })
        .collect();
    Ok(envelope::success(
        "Success getting list requested participants",
        view,
    ))
}

#[derive(Serialize)]
struct ParticipantStatus {
    participant: String,
    status: String,
    message: String,
}

/// `POST /group/participant-requests/approve|reject`: `group_id`, `participants`.
pub async fn answer(call: &mut Call, approve: bool) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let group = phone::group(&input.required("group_id")?)?;
    let participants = input
        .list("participants")?
        .iter()
        .map(|p| phone::user(p))
        .collect::<ApiResult<Vec<String>>>()?;
    if participants.is_empty() {
        return Err(ApiError::validation("participants: cannot be blank"));
    }
    let device = call.device().await?;
    let results: Vec<ParticipantResult> = call
        .connector
        .try_call(
            "groups",
            "answer-join-requests",
            (&device, group, approve, participants),
        )
        .await?;
    let action = if approve { "approve" } else { "reject" };
    let view: Vec<ParticipantStatus> = results
        .into_iter()
        .map(|r| {
            let ok = r.status == "success";
            ParticipantStatus {
                message: if ok {
                    format!("Action {action} success")
                } else {
                    format!("Action {action} failed (code {})", r.status)
                },
                participant: r.jid,
                status: if ok { "success" } else { "error" }.into(),
            }
        })
        .collect();
    let message = if approve {
        "Success approve requested participants"
    } else {
        "Success reject requested participants"
    };
    Ok(envelope::success(message, view))
}
