//! `/group*`: create groups, read them, change their members, name, topic and
//! settings, leave them.

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{
    GroupInfo, GroupSetting, ParticipantAction, ParticipantResult,
};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::input::Input;
use crate::phone;

const BODY_LIMIT: usize = 256 * 1024;

#[derive(Serialize)]
struct Created {
    group_id: String,
    group: GroupView,
}

#[derive(Serialize)]
pub(super) struct GroupView {
    jid: String,
    name: String,
    owner_jid: Option<String>,
    topic: Option<String>,
    is_announce: bool,
    is_locked: bool,
    disappearing_seconds: u32,
    participants: Vec<ParticipantView>,
}

#[derive(Serialize)]
pub(super) struct ParticipantView {
    jid: String,
    is_admin: bool,
    is_super_admin: bool,
}

pub(super) fn view(group: GroupInfo) -> GroupView {
    GroupView {
        jid: group.jid,
        name: group.subject,
        owner_jid: group.owner,
        topic: group.topic,
        is_announce: group.announce,
        is_locked: group.locked,
        disappearing_seconds: group.disappearing_seconds,
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
    // GOWA's shape: `success` or `error` per member; the reason in the message.
    let view: Vec<ParticipantStatus> = results
        .into_iter()
        .map(|r| {
            let ok = r.status == "success";
            ParticipantStatus {
                message: if ok {
                    "Action success".into()
                } else {
                    format!("WhatsApp refused the change ({})", r.status)
                },
                participant: r.jid,
                status: if ok { "success" } else { "error" }.into(),
            }
        })
        .collect();
    Ok(envelope::success("Success", view))
}

/// `GET /group/participants?group_id=`: the members with their roles.
pub async fn list_participants(call: &Call) -> ApiResult<ApiResponse> {
    let group = phone::group(&call.query().required("group_id")?)?;
    let device = call.device().await?;
    let info = view(
        call.connector
            .try_call("groups", "get-group", (&device, group))
            .await?,
    );
    #[derive(Serialize)]
    struct Members {
        group_id: String,
        name: String,
        participants: Vec<ParticipantView>,
    }
    Ok(envelope::success(
        "Success get group participants",
        Members {
            group_id: info.jid,
            name: info.name,
            participants: info.participants,
        },
    ))
}

/// The body's `group_id`, and the device it is for.
async fn target(call: &mut Call) -> ApiResult<(Input, String, String)> {
    let input = call.body(BODY_LIMIT).await?;
    let group = phone::group(&input.required("group_id")?)?;
    let device = call.device().await?;
    Ok((input, group, device))
}

/// `POST /group/leave`: `group_id`.
pub async fn leave(call: &mut Call) -> ApiResult<ApiResponse> {
    let (_, group, device) = target(call).await?;
    call.connector
        .try_call::<()>("groups", "leave-group", (&device, group))
        .await?;
    Ok(envelope::done("Success leave group"))
}

/// `POST /group/name`: `group_id`, `name`.
pub async fn name(call: &mut Call) -> ApiResult<ApiResponse> {
    let (input, group, device) = target(call).await?;
    let name = input.required("name")?;
    call.connector
        .try_call::<()>("groups", "set-group-name", (&device, group, &name))
        .await?;
    Ok(envelope::done(format!(
        "Success update group name to '{}'",
        name.trim()
    )))
}

/// `POST /group/topic`: `group_id`, `topic` (empty removes it).
pub async fn topic(call: &mut Call) -> ApiResult<ApiResponse> {
    let (input, group, device) = target(call).await?;
    let topic = input.text("topic").unwrap_or_default();
    call.connector
        .try_call::<()>("groups", "set-group-topic", (&device, group, &topic))
        .await?;
    Ok(envelope::done(if topic.trim().is_empty() {
        "Success remove group topic"
    } else {
        "Success update group topic"
    }))
}

/// `POST /group/locked` (`locked`) and `/group/announce` (`announce`), with `group_id`.
pub async fn setting(call: &mut Call, setting: GroupSetting) -> ApiResult<ApiResponse> {
    let (input, group, device) = target(call).await?;
    let (field, what) = match setting {
        GroupSetting::Locked => ("locked", "locked"),
        GroupSetting::Announce => ("announce", "announce"),
    };
    // A missing field must not silently turn the setting off.
    if !input.has_field(field) {
        return Err(ApiError::validation(format!(
            "{field}: is required (true or false)"
        )));
    }
    let on = input.flag(field)?;
    call.connector
        .try_call::<()>("groups", "set-group-setting", (&device, group, setting, on))
        .await?;
    Ok(envelope::done(format!("Success set group {what} to {on}")))
}

fn members(list: &[String]) -> ApiResult<Vec<String>> {
    list.iter().map(|p| phone::user(p)).collect()
}

/// `GET /group/invite-link?group_id=&reset=`: `{invite_link, group_id}`
/// (admins only; `reset=true` revokes the old link first).
pub async fn invite_link(call: &Call) -> ApiResult<ApiResponse> {
    let query = call.query();
    let group = phone::group(&query.required("group_id")?)?;
    let reset = query.flag("reset")?;
    let device = call.device().await?;
    let link: String = call
        .connector
        .try_call("groups", "invite-link", (&device, &group, reset))
        .await?;
    #[derive(Serialize)]
    struct Link {
        invite_link: String,
        group_id: String,
    }
    Ok(envelope::success(
        "Success get group invite link",
        Link {
            invite_link: link,
            group_id: group,
        },
    ))
}

/// `POST /group/join-with-link`: `link` → `{group_id}`.
pub async fn join_with_link(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let link = input.required("link")?;
    let device = call.device().await?;
    let group: String = call
        .connector
        .try_call("groups", "join-group", (&device, &link))
        .await?;
    #[derive(Serialize)]
    struct Joined {
        group_id: String,
    }
    Ok(envelope::success(
        "Success joined group",
        Joined { group_id: group },
    ))
}

/// `GET /group/info-from-link?link=`: the group a link leads to, without joining.
pub async fn info_from_link(call: &Call) -> ApiResult<ApiResponse> {
    let link = call.query().required("link")?;
    let device = call.device().await?;
    let group: GroupInfo = call
        .connector
        .try_call("groups", "preview-group", (&device, &link))
        .await?;
    #[derive(Serialize)]
    struct Preview {
        group_id: String,
        name: String,
        topic: Option<String>,
        participant_count: usize,
        is_locked: bool,
        is_announce: bool,
    }
    Ok(envelope::success(
        "Success get group info from link",
        Preview {
            participant_count: group.participants.len(),
            group_id: group.jid,
            name: group.subject,
            topic: group.topic,
            is_locked: group.locked,
            is_announce: group.announce,
        },
    ))
}
