//! `/send/presence` and `/send/chat-presence`: online / offline, and typing or
//! recording in a chat. WhatsApp answers neither; these succeed once the
//! connector has sent them.

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::ChatState;
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::phone;

const BODY_LIMIT: usize = 16 * 1024;

/// GOWA's answer: a pseudo message id naming what was sent, and a sentence.
#[derive(Serialize)]
struct Sent {
    message_id: String,
    status: String,
}

/// `POST /send/presence`: `type` = `available` or `unavailable`.
pub async fn presence(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let kind = input.required("type")?;
    let available = match kind.trim() {
        "available" => true,
        "unavailable" => false,
        other => {
            return Err(ApiError::validation(format!(
                "type: `{other}` must be `available` or `unavailable`"
            )));
        }
    };
    let device = call.device().await?;
    call.connector
        .try_call::<()>("messaging", "send-presence", (&device, available))
        .await?;
    let status = format!("Send presence success {}", kind.trim());
    Ok(envelope::success(
        status.clone(),
        Sent {
            message_id: "presence".into(),
            status,
        },
    ))
}

/// `POST /send/chat-presence`: `phone`, `action` = `start` (typing), `stop`,
/// or `recording` (a voice note; beyond GOWA).
pub async fn chat_presence(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let phone = input.required("phone")?;
    let chat = phone::chat_jid(&phone)?;
    let action = input.required("action")?;
    let (state, doing) = match action.trim() {
        "start" => (ChatState::Composing, "start typing"),
        "recording" => (ChatState::Recording, "start recording"),
        "stop" => (ChatState::Paused, "stop typing"),
        other => {
            return Err(ApiError::validation(format!(
                "action: `{other}` must be `start`, `stop` or `recording`"
            )));
        }
    };
    let device = call.device().await?;
    call.connector
        .try_call::<()>("messaging", "send-chat-presence", (&device, &chat, state))
        .await?;
    let status = format!("Send chat presence {doing} success {}", phone.trim());
    Ok(envelope::success(
        status.clone(),
        Sent {
            message_id: format!("chat-presence-{}", action.trim()),
            status,
        },
    ))
}
