//! `GET /group/participants/export`: a group's members as a CSV download, the
//! columns and file name GOWA clients expect.

use super::Call;
use crate::bindings::wa::gateway::types::GroupInfo;
use crate::envelope::{self, ApiResponse};
use crate::error::ApiResult;
use crate::phone;

/// The header row; GOWA's column order.
const COLUMNS: [&str; 5] = [
    "participant_jid",
    "phone_number",
    "lid",
    "display_name",
    "role",
];

/// `GET /group/participants/export?group_id=`: `text/csv`, one row per member.
pub async fn export(call: &Call) -> ApiResult<ApiResponse> {
    let group = phone::group(&call.query().required("group_id")?)?;
    let device = call.device().await?;
    let info: GroupInfo = call
        .connector
        .try_call("groups", "get-group", (&device, group))
        .await?;
    let mut csv = String::new();
    push_row(&mut csv, &COLUMNS);
    for member in &info.participants {
        let (user, server) = member.jid.split_once('@').unwrap_or((&member.jid, ""));
        let user = user.split(':').next().unwrap_or(user);
        let (phone_number, lid) = match server {
            "lid" => ("", member.jid.as_str()),
            _ => (user, ""),
        };
        let role = if member.is_super_admin {
            "super_admin"
        } else if member.is_admin {
            "admin"
        } else {
            "member"
        };
        // The connector knows no display names for members (GOWA leaves the
        // column blank for unknown contacts too).
        push_row(&mut csv, &[&member.jid, phone_number, lid, "", role]);
    }
    let mut response = envelope::bytes("text/csv; charset=utf-8", csv.into());
    let file = format!("group-{}-participants.csv", info.jid.replace('@', "_"));
    if let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Appends one record, RFC 4180 quoting where a field needs it, `\n`-ended.
fn push_row(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if needs_quotes(field) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}

/// Separators, quotes, line breaks and a leading space would not survive a
/// bare field.
fn needs_quotes(field: &str) -> bool {
    field.contains([',', '"', '\r', '\n']) || field.starts_with(char::is_whitespace)
}
