//! `/chats` and `/chat/{jid}/messages`: the stored history, paginated.

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{Chat, ChatQuery, Message, MessageQuery, MessageStatus};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::input::Input;
use crate::phone;

/// GOWA's default page size.
const DEFAULT_LIMIT: u32 = 25;
/// The largest page.
const MAX_LIMIT: u32 = 1000;

#[derive(Serialize)]
struct Page<T: Serialize> {
    data: Vec<T>,
    pagination: Pagination,
}

impl<T: Serialize> Page<T> {
    /// One page; `total` counts what this page holds (the store is not asked
    /// for a full count).
    fn new(data: Vec<T>, limit: u32, offset: u32) -> Self {
        Page {
            pagination: Pagination {
                limit,
                offset,
                total: data.len(),
            },
            data,
        }
    }
}

#[derive(Serialize)]
struct Pagination {
    limit: u32,
    offset: u32,
    total: usize,
}

#[derive(Serialize)]
struct ChatView {
    jid: String,
    name: String,
    last_message_time: String,
    message_count: u64,
    pinned: bool,
    archived: bool,
}

/// The account's stored chats matching `query`, most recent first.
pub(super) async fn stored_chats(
    call: &Call,
    device: &str,
    query: ChatQuery,
) -> ApiResult<Vec<Chat>> {
    call.connector
        .try_call("history", "list-chats", (device, query))
        .await
}

/// `GET /chats?limit&offset&search`.
pub async fn list(call: &Call) -> ApiResult<ApiResponse> {
    let query = call.query();
    let (limit, offset) = paging(&query)?;
    let device = call.device().await?;
    let chats = stored_chats(
        call,
        &device,
        ChatQuery {
            search: query.optional("search"),
            limit,
            offset,
        },
    )
    .await?;
    let data: Vec<ChatView> = chats
        .into_iter()
        .map(|c| ChatView {
            name: c.name.unwrap_or_else(|| c.jid.clone()),
            jid: c.jid,
            last_message_time: rfc3339(c.last_message_at),
            message_count: c.message_count,
            pinned: c.pinned,
            archived: c.archived,
        })
        .collect();
    Ok(envelope::success(
        "Success get chat list",
        Page::new(data, limit, offset),
    ))
}

#[derive(Serialize)]
struct MessageView {
    id: String,
    chat_jid: String,
    sender_jid: String,
    content: String,
    message_type: String,
    timestamp: String,
    is_from_me: bool,
    media_type: Option<String>,
    filename: Option<String>,
    url: Option<String>,
    file_length: Option<u64>,
    push_name: Option<String>,
    status: Option<&'static str>,
}

/// `GET /chat/{jid}/messages?limit&offset&start_time&end_time&media_only&is_from_me&search`.
pub async fn messages(call: &Call) -> ApiResult<ApiResponse> {
    let query = call.query();
    let (limit, offset) = paging(&query)?;
    let chat = phone::chat_jid(&call.param)?;
    let device = call.device().await?;
    let from_me = match query.optional("is_from_me") {
        None => None,
        Some(_) => Some(query.flag("is_from_me")?),
    };
    let messages: Vec<Message> = call
        .connector
        .try_call(
            "history",
            "list-messages",
            (
                &device,
                MessageQuery {
                    chat: Some(chat),
                    since: time_field(&query, "start_time")?,
                    before: time_field(&query, "end_time")?,
                    from_me,
                    media_only: query.flag("media_only")?,
                    search: query.optional("search"),
                    limit,
                    offset,
                },
            ),
        )
        .await?;
    let base = call.base_url();
    let data: Vec<MessageView> = messages
        .into_iter()
        .map(|m| MessageView {
            url: m.media.as_ref().map(|_| {
                format!(
                    "{base}/message/{}/download?phone={}&device_id={device}",
                    m.id, m.chat
                )
            }),
            media_type: m.media.as_ref().map(|_| m.kind.clone()),
            filename: m.media.as_ref().and_then(|x| x.file_name.clone()),
            file_length: m.media.as_ref().map(|x| x.size),
            content: m.text.unwrap_or_default(),
            message_type: m.kind,
            timestamp: rfc3339(m.timestamp),
            status: m.status.map(status_name),
            id: m.id,
            chat_jid: m.chat,
            sender_jid: m.sender,
            is_from_me: m.from_me,
            push_name: m.push_name,
        })
        .collect();
    Ok(envelope::success(
        "Success get chat messages",
        Page::new(data, limit, offset),
    ))
}

fn paging(query: &Input) -> ApiResult<(u32, u32)> {
    let limit = query.number::<u32>("limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::validation(format!(
            "limit: must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok((limit, query.number::<u32>("offset")?.unwrap_or(0)))
}

/// A time filter: RFC 3339 (`2024-01-31T12:00:00Z`) or Unix seconds.
fn time_field(query: &Input, name: &str) -> ApiResult<Option<u64>> {
    let Some(value) = query.optional(name) else {
        return Ok(None);
    };
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Ok(Some(secs.saturating_mul(1000)));
    }
    parse_rfc3339(value.trim()).map(Some).ok_or_else(|| {
        ApiError::validation(format!(
            "{name}: `{value}` is not RFC 3339 (e.g. 2024-01-31T12:00:00Z) or Unix seconds"
        ))
    })
}

fn status_name(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Pending => "pending",
        MessageStatus::Sent => "sent",
        MessageStatus::Delivered => "delivered",
        MessageStatus::Read => "read",
        MessageStatus::Played => "played",
        MessageStatus::Failed => "failed",
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC (`2024-01-31T12:00:00Z`).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into milliseconds.
fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `POST /chat/{jid}/disappearing`: `timer_seconds` (0, 86400, 604800 or
/// 7776000). In a group it changes the group's setting; in a one-to-one chat
/// it is a message both sides apply.
pub async fn disappearing(call: &mut Call) -> ApiResult<ApiResponse> {
    let chat = phone::chat_jid(&call.param)?;
    let input = call.body(16 * 1024).await?;
    let seconds: u32 = input
        .number("timer_seconds")?
        .ok_or_else(|| ApiError::validation("timer_seconds: is required"))?;
    let device = call.device().await?;
    call.connector
        .try_call::<()>("messaging", "set-disappearing", (&device, &chat, seconds))
        .await?;
    let message = if seconds == 0 {
        "Disappearing messages disabled".to_owned()
    } else {
        format!("Disappearing messages set to {seconds} seconds")
    };
    #[derive(Serialize)]
    struct Disappearing {
        status: &'static str,
        message: String,
        chat_jid: String,
        timer_seconds: u32,
    }
    Ok(envelope::success(
        message.clone(),
        Disappearing {
            status: "success",
            message,
            chat_jid: chat,
            timer_seconds: seconds,
        },
    ))
}
