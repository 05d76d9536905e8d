//! `POST /message/{id}/forward`: a message from the chat history sent again to
//! another chat, labelled "forwarded" (GOWA's fields: `phone` is where it
//! goes, `duration` an optional disappearing timer, `force_reupload` uploads
//! its file again instead of reusing the original's reference).

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{ForwardRequest, SendReceipt};
use crate::envelope::{self, ApiResponse};
use crate::error::ApiResult;
use crate::phone;

const BODY_LIMIT: usize = 16 * 1024;

/// What the route answers (GOWA's send response).
#[derive(Serialize)]
struct Forwarded {
    message_id: String,
    status: String,
}

/// See the module docs. The message is found by its id in whichever chat it
/// is; a timer of 0 is no timer.
pub async fn forward(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let to = phone::chat_jid(&input.required("phone")?)?;
    let request = ForwardRequest {
        message_id: call.param.clone(),
        to,
        expiration_secs: input.number::<u32>("duration")?.filter(|&secs| secs > 0),
        reupload: input.flag("force_reupload")?,
    };
    let device = call.device().await?;
    let receipt: SendReceipt = call
        .connector
        .try_call("messaging", "forward-message", (&device, request))
        .await?;
    let status = format!("Message forwarded to {}", receipt.chat);
    Ok(envelope::success(
        status.clone(),
        Forwarded {
            message_id: receipt.message_id,
            status,
        },
    ))
}
