//! Phone numbers and JIDs as clients write them, turned into the JIDs the
//! connector sends to (GOWA's rules: a bare number becomes a user JID).

use crate::error::{ApiError, ApiResult};

/// The user server.
const USER_SERVER: &str = "s.whatsapp.net";
/// The group server.
const GROUP_SERVER: &str = "g.us";

/// A chat address from `phone`: `628123…`, `+62 812-3…`, `628123…@s.whatsapp.net`,
/// or a group (`1203…@g.us`, or an old-style `owner-timestamp` id).
pub fn chat_jid(phone: &str) -> ApiResult<String> {
    let phone = phone.trim();
    if phone.is_empty() {
        return Err(ApiError::validation("phone: cannot be blank"));
    }
    if let Some((user, server)) = phone.split_once('@') {
        return match server {
            USER_SERVER | "c.us" => user_jid(user),
            GROUP_SERVER if is_group_id(user) => Ok(format!("{user}@{GROUP_SERVER}")),
            _ => Err(ApiError::invalid_jid(format!(
                "`{phone}` is not a user or group JID"
            ))),
        };
    }
    if is_group_id(phone) && phone.contains('-') {
        return Ok(format!("{phone}@{GROUP_SERVER}"));
    }
    user_jid(phone)
}

/// A user address only (groups refused): for contacts, mentions, members.
pub fn user(phone: &str) -> ApiResult<String> {
    let phone = phone.trim();
    match phone.split_once('@') {
        Some((user, USER_SERVER | "c.us")) => user_jid(user),
        Some(_) => Err(ApiError::invalid_jid(format!(
            "`{phone}` is not a user JID"
        ))),
        None => user_jid(phone),
    }
}

/// A group address only.
pub fn group(id: &str) -> ApiResult<String> {
    let jid = chat_jid(id)?;
    if jid.ends_with(&format!("@{GROUP_SERVER}")) {
        Ok(jid)
    } else {
        Err(ApiError::invalid_jid(format!("`{id}` is not a group JID")))
    }
}

fn user_jid(number: &str) -> ApiResult<String> {
    // A device suffix (`:12`) never addresses a chat.
    let number = number.split(':').next().unwrap_or(number);
    let digits: String = number
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if !(6..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_jid(format!(
            "`{number}` is not a phone number: use 6 to 15 digits with the country code, e.g. 6281234567890"
        )));
    }
    if digits.starts_with('0') {
        return Err(ApiError::invalid_jid(format!(
            "`{number}` starts with 0: use the international format with the country code"
        )));
    }
    Ok(format!("{digits}@{USER_SERVER}"))
}

fn is_group_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && id.bytes().any(|b| b.is_ascii_digit())
}
