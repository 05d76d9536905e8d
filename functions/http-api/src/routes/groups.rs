//! `/group*`: create groups, read them, change their members.

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{GroupInfo, ParticipantAction, ParticipantResult};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::phone;

const BODY_LIMIT: usize = 256 * 1024;

#[derive(Serialize)]
struct Created {
    group_id: String,
    group: GroupView,
}

#[derive(Serialize)]
struct GroupView {
    jid: String,
    name: String,
    owner_jid: Option<String>,
    participants: Vec<ParticipantView>,
}

#[derive(Serialize)]
struct ParticipantView {
    jid: String,
    is_admin: bool,
    is_super_admin: bool,
}

fn view(group: GroupInfo) -> GroupView {
    GroupView {
        jid: group.jid,
        name: group.subject,
        owner_jid: group.owner,
        participants: group
            .participants
            .into_iter()
            .map(|p| ParticipantView {
                jid: p.jid,
                is_admin: p.is_admin,
                is_super_admin: p.is_super_admin,
            })
            .collect(),
    }
}

/// `POST /group`: `title`, `participants` (phones or JIDs).
pub async fn create(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let title = input.required("title")?;
    let participants = members(&input.list("participants")?)?;
    let device = call.device().await?;
    let group: GroupInfo = call
        .connector
        .try_call("groups", "create-group", (&device, title, participants))
        .await?;
    Ok(envelope::success(
        "Success created group",
        Created {
            group_id: group.jid.clone(),
            group: view(group),
        },
    ))
}

/// `GET /group/info?group_id=`.
pub async fn info(call: &Call) -> ApiResult<ApiResponse> {
    let group = phone::group(&call.query().required("group_id")?)?;
    let device = call.device().await?;
    let info: GroupInfo = call
        .connector
        .try_call("groups", "get-group", (&device, group))
        .await?;
    Ok(envelope::success("Success get group info", view(info)))
}

#[derive(Serialize)]
struct ParticipantStatus {
    participant: String,
    status: String,
    message: String,
}

/// `POST /group/participants[/remove|/promote|/demote]`: `group_id`, `participants`.
pub async fn participants(call: &mut Call, action: &str) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let group = phone::group(&input.required("group_id")?)?;
    let participants = members(&input.list("participants")?)?;
    if participants.is_empty() {
        return Err(ApiError::validation("participants: cannot be blank"));
    }
    let action = match action {
        "add" => ParticipantAction::Add,
        "remove" => ParticipantAction::Remove,
        "promote" => ParticipantAction::Promote,
        _ => ParticipantAction::Demote,
    };
    let device = call.device().await?;
    let results: Vec<ParticipantResult> = call
        .connector
        .try_call(
            "groups",
            "update-participants",
            (&device, group, action, participants),
        )
        .await?;
    let view: Vec<ParticipantStatus> = results
        .into_iter()
        .map(|r| ParticipantStatus {
            message: if r.status == "success" {
                "Action success".into()
            } else {
                format!("WhatsApp refused: {}", r.status)
            },
            participant: r.jid,
            status: r.status,
        })
        .collect();
    Ok(envelope::success("Success", view))
}

fn members(list: &[String]) -> ApiResult<Vec<String>> {
    list.iter().map(|p| phone::user(p)).collect()
}
