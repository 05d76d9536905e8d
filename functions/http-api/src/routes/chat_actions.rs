//! Chat actions kept in WhatsApp's app state, so the phone and the account's
//! other devices follow them (GOWA's shapes): star and unstar a message, delete
//! a message for me, pin and archive a chat, change the push name.
//!
//! They need the app-state key the phone shares after linking; until it has
//! arrived they answer `409 APP_STATE_NOT_READY`.

use http::StatusCode;
use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::GatewayError;
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::input::Input;
use crate::phone;

const BODY_LIMIT: usize = 16 * 1024;

/// How the connector's `not-ready` texts start when the app-state key is
/// missing (documented with the `chat-actions` interface in `wit/`).
const APP_STATE_NOT_READY_PREFIX: &str = "app-state:";

/// `POST /message/{id}/star|unstar`: `phone` (the chat).
pub async fn star(call: &mut Call, starred: bool) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let chat = phone::chat_jid(&input.required("phone")?)?;
    let device = call.device().await?;
    let done = call
        .connector
        .call(
            "chat-actions",
            "star-message",
            (&device, &chat, &call.param, starred),
        )
        .await?;
    acted(done)?;
    Ok(envelope::done(if starred {
        "Starred message successfully"
    } else {
        "Unstarred message successfully"
    }))
}

/// `POST /message/{id}/delete`: `phone` (the chat); deletes the message on
/// this account's devices only.
pub async fn delete_for_me(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let chat = phone::chat_jid(&input.required("phone")?)?;
    let device = call.device().await?;
    let done = call
        .connector
        .call(
            "chat-actions",
            "delete-message-for-me",
            (&device, &chat, &call.param),
        )
        .await?;
    acted(done)?;
    Ok(envelope::done("Message deleted successfully"))
}

/// What pin and archive answer.
#[derive(Serialize)]
struct ChatChange {
    status: &'static str,
    message: &'static str,
    chat_jid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pinned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    archived: Option<bool>,
}

/// A yes/no chat setting kept in app state, and how GOWA words its answer.
struct ChatFlag {
    /// The body field and the answer's field.
    field: &'static str,
    on: &'static str,
    off: &'static str,
}

const PINNED: ChatFlag = ChatFlag {
    field: "pinned",
    on: "Chat pinned successfully",
    off: "Chat unpinned successfully",
};

const ARCHIVED: ChatFlag = ChatFlag {
    field: "archived",
    on: "Chat archived successfully",
    off: "Chat unarchived successfully",
};

/// `POST /chat/{jid}/pin`: `pinned`.
pub async fn pin(call: &mut Call) -> ApiResult<ApiResponse> {
    let (device, chat, pinned) = chat_flag_input(call, &PINNED).await?;
    // Literal names at every call: the contract test checks them against wit/.
    let done = call
        .connector
        .call("chat-actions", "pin-chat", (&device, &chat, pinned))
        .await?;
    chat_flag_answer(done, &PINNED, chat, pinned)
}

/// `POST /chat/{jid}/archive`: `archived`.
pub async fn archive(call: &mut Call) -> ApiResult<ApiResponse> {
    let (device, chat, archived) = chat_flag_input(call, &ARCHIVED).await?;
    let done = call
        .connector
        .call("chat-actions", "archive-chat", (&device, &chat, archived))
        .await?;
    chat_flag_answer(done, &ARCHIVED, chat, archived)
}

/// The device, the chat and the flag's new value, validated.
async fn chat_flag_input(call: &mut Call, flag: &ChatFlag) -> ApiResult<(String, String, bool)> {
    let chat = phone::chat_jid(&call.param)?;
    let input = call.body(BODY_LIMIT).await?;
    let value = required_flag(&input, flag.field)?;
    let device = call.device().await?;
    Ok((device, chat, value))
}

fn chat_flag_answer(
    done: Result<(), GatewayError>,
    flag: &ChatFlag,
    chat: String,
    value: bool,
) -> ApiResult<ApiResponse> {
    acted(done)?;
    let message = if value { flag.on } else { flag.off };
    Ok(envelope::success(
        message,
        ChatChange {
            status: "success",
            message,
            chat_jid: chat,
            pinned: (flag.field == PINNED.field).then_some(value),
            archived: (flag.field == ARCHIVED.field).then_some(value),
        },
    ))
}

/// `POST /user/pushname`: `push_name`.
pub async fn push_name(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let name = input.required("push_name")?;
    let device = call.device().await?;
    let done = call
        .connector
        .call("chat-actions", "set-push-name", (&device, name.trim()))
        .await?;
    acted(done)?;
    Ok(envelope::done("Success change push name"))
}

/// A boolean the client must send (GOWA requires `pinned` and `archived`).
fn required_flag(input: &Input, name: &str) -> ApiResult<bool> {
    if !input.has_field(name) {
        return Err(ApiError::validation(format!("{name}: is required")));
    }
    input.flag(name)
}

/// The outcome of a `chat-actions` call: a missing app-state key becomes
/// `409 APP_STATE_NOT_READY`, other errors map as everywhere.
fn acted(result: Result<(), GatewayError>) -> ApiResult<()> {
    result.map_err(|error| match error {
        GatewayError::NotReady(why) if why.starts_with(APP_STATE_NOT_READY_PREFIX) => {
            ApiError::new(StatusCode::CONFLICT, "APP_STATE_NOT_READY", why)
        }
        other => ApiError::from(other),
    })
}
