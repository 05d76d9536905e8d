//! `/message/{id}/*`: actions on an earlier message of a chat (`phone` names it).

use super::Call;
use super::send::send;
use crate::bindings::wa::gateway::types::{
    MediaRef, Message, MessageEdit, OutboundContent, Reaction,
};
use crate::envelope::{self, ApiResponse};
use crate::error::ApiResult;
use crate::phone;

const BODY_LIMIT: usize = 64 * 1024;

/// `POST /message/{id}/read`: `phone` (the chat). Sends the read receipt
/// (blue ticks) for a message this account received.
pub async fn read(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let chat = phone::chat_jid(&input.required("phone")?)?;
    let device = call.device().await?;
    call.connector
        .try_call::<()>("messaging", "mark-read", (&device, &chat, [&call.param]))
        .await?;
    #[derive(serde::Serialize)]
    struct Read {
        message_id: String,
        status: String,
    }
    Ok(envelope::success(
        "Success read message",
        Read {
            message_id: call.param.clone(),
            status: format!("Mark as read success {}", call.param),
        },
    ))
}

/// `POST /message/{id}/reaction`: `phone`, `emoji` (empty removes ours).
pub async fn reaction(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let chat = phone::chat_jid(&input.required("phone")?)?;
    let emoji = input.text("emoji").unwrap_or_default();
    let known = lookup(call, &chat).await?;
    let reaction = Reaction {
        message_id: call.param.clone(),
        from_me: known.as_ref().is_some_and(|m| m.from_me),
        participant: known
            .filter(|m| !m.from_me && chat.ends_with("@g.us"))
            .map(|m| m.sender),
        emoji,
    };
    send(call, &input, OutboundContent::Reaction(reaction)).await
}

/// `POST /message/{id}/revoke`: `phone`; deletes one of our messages for everyone.
pub async fn revoke(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    send(call, &input, OutboundContent::Revoke(call.param.clone())).await
}

/// `POST /message/{id}/update`: `phone`, `message`; edits one of our texts.
pub async fn update(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let edit = MessageEdit {
        message_id: call.param.clone(),
        text: input.required("message")?,
    };
    send(call, &input, OutboundContent::Edit(edit)).await
}

/// `GET /message/{id}/download?phone=`: the message's media file.
pub async fn download(call: &Call) -> ApiResult<ApiResponse> {
    let chat = phone::chat_jid(&call.query().required("phone")?)?;
    let device = call.device().await?;
    let media: MediaRef = call
        .connector
        .try_call("media", "message-media", (&device, &chat, &call.param))
        .await?;
    let bytes = call.connector.read_media(&media.key).await?;
    let mut response = envelope::bytes(&media.mime, bytes);
    if let Ok(value) = http::HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        call.param.replace('"', "")
    )) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The stored message `{id}` of `chat`, if the history has it.
async fn lookup(call: &Call, chat: &str) -> ApiResult<Option<Message>> {
    let device = call.device().await?;
    match call
        .connector
        .try_call::<Message>("history", "get-message", (&device, chat, &call.param))
        .await
    {
        Ok(message) => Ok(Some(message)),
        Err(e) if e.status == http::StatusCode::NOT_FOUND => Ok(None),
        Err(e) => Err(e),
    }
}
