//! `wa:gateway/groups`: create groups, read them, change their members, name,
//! topic and settings, leave them.

use wa_proto::group_requests::RequestAction;
use wa_proto::groups::{
    GroupInfo as ProtoGroup, GroupSetting as ProtoSetting, INVITE_LINK_PREFIX,
    ParticipantAction as ProtoAction,
};

use super::bindings::wa::gateway::groups::Host;
use super::bindings::wa::gateway::types::{
    GroupInfo, GroupParticipant, GroupSetting, JoinRequest, ParticipantAction, ParticipantResult,
};
use super::messaging::{parse_chat, parse_user};
use super::{Gateway, GatewayError, GatewayResult, request_error};
use crate::requests::RequestError;

/// WhatsApp's limit on a group name, in characters.
const MAX_SUBJECT_CHARS: usize = 100;
/// WhatsApp's limit on a group description, in characters.
const MAX_TOPIC_CHARS: usize = 2048;

/// A group name as WhatsApp accepts it: trimmed, 1 to [`MAX_SUBJECT_CHARS`].
fn group_name(name: &str) -> GatewayResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_SUBJECT_CHARS {
        return Err(GatewayError::InvalidInput(format!(
            "group name must be 1 to {MAX_SUBJECT_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

impl Host for Gateway {
    async fn create_group(
        &mut self,
        account: String,
        subject: String,
        participants: Vec<String>,
    ) -> GatewayResult<GroupInfo> {
        let subject = group_name(&subject)?;
        let members = users(&participants)?;
        let handle = self.running(&account).await?;
        let group = handle
            .create_group(&subject, &members)
            .await
            .map_err(request_error)?;
        Ok(describe(group))
    }

    async fn get_group(&mut self, account: String, group: String) -> GatewayResult<GroupInfo> {
        let group = group_jid(&group)?;
        let handle = self.running(&account).await?;
        handle
            .group_info(&group)
            .await
            .map(describe)
            .map_err(request_error)
    }

    async fn list_groups(&mut self, account: String) -> GatewayResult<Vec<GroupInfo>> {
        let handle = self.running(&account).await?;
        let groups = handle.joined_groups().await.map_err(request_error)?;
        Ok(groups.into_iter().map(describe).collect())
    }

    async fn update_participants(
        &mut self,
        account: String,
        group: String,
        action: ParticipantAction,
        participants: Vec<String>,
    ) -> GatewayResult<Vec<ParticipantResult>> {
        let group = group_jid(&group)?;
        let members = some_users(&participants)?;
        let action = match action {
            ParticipantAction::Add => ProtoAction::Add,
            ParticipantAction::Remove => ProtoAction::Remove,
            ParticipantAction::Promote => ProtoAction::Promote,
            ParticipantAction::Demote => ProtoAction::Demote,
        };
        let handle = self.running(&account).await?;
        let results = handle
            .change_group_participants(&group, action, &members)
            .await
            .map_err(request_error)?;
        Ok(results
            .into_iter()
            .map(|(jid, error)| ParticipantResult {
                jid: jid.to_string(),
                status: error.unwrap_or_else(|| "success".into()),
            })
            .collect())
    }

    async fn set_group_name(
        &mut self,
        account: String,
        group: String,
        name: String,
    ) -> GatewayResult<()> {
        let group = group_jid(&group)?;
        let name = group_name(&name)?;
        let handle = self.running(&account).await?;
        handle
            .set_group_name(&group, &name)
            .await
            .map_err(request_error)
    }

    async fn set_group_topic(
        &mut self,
        account: String,
        group: String,
        topic: String,
    ) -> GatewayResult<()> {
        let group = group_jid(&group)?;
        let topic = topic.trim();
        if topic.chars().count() > MAX_TOPIC_CHARS {
            return Err(GatewayError::InvalidInput(format!(
                "group topic must be at most {MAX_TOPIC_CHARS} characters"
            )));
        }
        let handle = self.running(&account).await?;
        handle
            .set_group_topic(&group, topic)
            .await
            .map_err(request_error)
    }

    async fn set_group_setting(
        &mut self,
        account: String,
        group: String,
        setting: GroupSetting,
        on: bool,
    ) -> GatewayResult<()> {
        let group = group_jid(&group)?;
        let setting = match setting {
            GroupSetting::Announce => ProtoSetting::Announce,
            GroupSetting::Locked => ProtoSetting::Locked,
        };
        let handle = self.running(&account).await?;
        handle
            .set_group_setting(&group, setting, on)
            .await
            .map_err(request_error)
    }

    async fn invite_link(
        &mut self,
        account: String,
        group: String,
        reset: bool,
    ) -> GatewayResult<String> {
        let group = group_jid(&group)?;
        let handle = self.running(&account).await?;
        let code = handle
            .group_invite_code(&group, reset)
            .await
            .map_err(request_error)?;
        Ok(format!("{INVITE_LINK_PREFIX}{code}"))
    }

    async fn join_group(&mut self, account: String, link: String) -> GatewayResult<String> {
        let code = invite_code(&link)?;
        let handle = self.running(&account).await?;
        handle
            .join_group(code)
            .await
            .map(|jid| jid.to_string())
            .map_err(invite_error)
    }

    async fn preview_group(&mut self, account: String, link: String) -> GatewayResult<GroupInfo> {
        let code = invite_code(&link)?;
        let handle = self.running(&account).await?;
        handle
            .preview_group(code)
            .await
            .map(describe)
            .map_err(invite_error)
    }

    async fn list_join_requests(
        &mut self,
        account: String,
        group: String,
    ) -> GatewayResult<Vec<JoinRequest>> {
        let group = group_jid(&group)?;
        let handle = self.running(&account).await?;
        let requests = crate::group_requests::list(handle.requester(), &group)
            .await
            .map_err(request_error)?;
        Ok(requests
            .into_iter()
            .map(|r| JoinRequest {
                jid: r.jid.to_string(),
                requested_at: r.requested_at,
            })
            .collect())
    }

    async fn answer_join_requests(
        &mut self,
        account: String,
        group: String,
        approve: bool,
        participants: Vec<String>,
    ) -> GatewayResult<Vec<ParticipantResult>> {
        let group = group_jid(&group)?;
        let members = some_users(&participants)?;
        let action = if approve {
            RequestAction::Approve
        } else {
            RequestAction::Reject
        };
        let handle = self.running(&account).await?;
        let results = crate::group_requests::answer(handle.requester(), &group, action, &members)
            .await
            .map_err(request_error)?;
        Ok(results
            .into_iter()
            .map(|(jid, error)| ParticipantResult {
                jid: jid.to_string(),
                status: error.unwrap_or_else(|| "success".into()),
            })
            .collect())
    }

    async fn leave_group(&mut self, account: String, group: String) -> GatewayResult<()> {
        let group = group_jid(&group)?;
        let handle = self.running(&account).await?;
        handle.leave_group(&group).await.map_err(request_error)
    }
}

/// The code of an invite link (`https://chat.whatsapp.com/<code>`, or the bare code).
fn invite_code(link: &str) -> GatewayResult<&str> {
    let link = link.trim();
    let code = ["https://", "http://", ""]
        .iter()
        .find_map(|scheme| {
            link.strip_prefix(scheme)
                .and_then(|rest| rest.strip_prefix("chat.whatsapp.com/"))
        })
        .unwrap_or(link)
        .trim_end_matches('/');
    let valid = (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(code)
    } else {
        Err(GatewayError::InvalidInput(format!(
            "`{link}` is not a WhatsApp group invite link ({INVITE_LINK_PREFIX}<code>)"
        )))
    }
}

/// An unknown or revoked invite is the caller's to fix, not a gateway failure.
fn invite_error(error: RequestError) -> GatewayError {
    match error {
        RequestError::Refused { ref code } if matches!(code.as_str(), "404" | "406" | "410") => {
            GatewayError::NotFound(format!(
                "the invite link is unknown or was revoked (WhatsApp {code})"
            ))
        }
        other => request_error(other),
    }
}

fn users(jids: &[String]) -> GatewayResult<Vec<wa_proto::binary::Jid>> {
    jids.iter().map(|j| parse_user(j)).collect()
}

/// [`users`], refusing an empty list: the member changes need someone to act on.
fn some_users(jids: &[String]) -> GatewayResult<Vec<wa_proto::binary::Jid>> {
    let members = users(jids)?;
    if members.is_empty() {
        return Err(GatewayError::InvalidInput(
            "participants must not be empty".into(),
        ));
    }
    Ok(members)
}

fn group_jid(jid: &str) -> GatewayResult<wa_proto::binary::Jid> {
    let parsed = parse_chat(jid)?;
    if !parsed.is_group() {
        return Err(GatewayError::InvalidInput(format!(
            "`{jid}` is not a group JID"
        )));
    }
    Ok(parsed)
}

fn describe(group: ProtoGroup) -> GroupInfo {
    GroupInfo {
        jid: group.jid.to_string(),
        subject: group.subject,
        owner: group.creator.map(|j| j.to_string()),
        participants: group
            .participants
            .into_iter()
            .map(|p| GroupParticipant {
                jid: p.jid.to_string(),
                is_admin: p.admin.is_some(),
                is_super_admin: p.admin.as_deref() == Some("superadmin"),
            })
            .collect(),
        topic: group.topic,
        announce: group.announce,
        locked: group.locked,
        disappearing_seconds: group.disappearing,
    }
}

#[cfg(test)]
mod tests {
    use super::invite_code;

    #[test]
    fn invite_codes_from_links() {
        for link in [
            "https://chat.whatsapp.com/AbC123xyz",
            "http://chat.whatsapp.com/AbC123xyz/",
            "chat.whatsapp.com/AbC123xyz",
            " AbC123xyz ",
        ] {
            assert_eq!(invite_code(link).unwrap(), "AbC123xyz", "{link}");
        }
        for bad in [
            "",
            "https://chat.whatsapp.com/",
            "https://evil.example/AbC",
            "a b",
        ] {
            assert!(invite_code(bad).is_err(), "{bad}");
        }
    }
}
