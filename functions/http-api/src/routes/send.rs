//! `/send/*`: every kind of message, from JSON or multipart bodies.
//!
//! A send answers once the message is durably queued in the connector (its
//! outbox delivers it, retrying across reconnects); `message_id` names it in
//! later `message.ack` events.

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{
    ContactCard, LinkText, Location, MediaKind, OutboundContent, OutboundMedia, OutboundMessage,
    Poll, SendReceipt,
};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::input::Input;
use crate::link_preview::{self, PreviewReport};
use crate::media::{self, Fetched, Limit};
use crate::phone;

/// The largest JSON body a non-media send accepts.
const TEXT_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Serialize)]
struct Sent {
    message_id: String,
    status: String,
}

/// `POST /send/message` (and `/send/text`): `phone`, `message`, optional
/// `reply_message_id`, `is_forwarded`, `mentions`.
pub async fn message(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(TEXT_BODY_LIMIT).await?;
    let text = input.required("message")?;
    send(call, &input, OutboundContent::Text(text)).await
}

/// `POST /send/image`: `image` (file) or `image_url`, `caption`.
pub async fn image(call: &mut Call) -> ApiResult<ApiResponse> {
    send_media(
        call,
        MediaKind::Image,
        Limit::Image,
        "image",
        Some("image/"),
    )
    .await
}

/// `POST /send/file`: `file` (any type), `caption`.
pub async fn file(call: &mut Call) -> ApiResult<ApiResponse> {
    send_media(call, MediaKind::Document, Limit::Document, "file", None).await
}

/// `POST /send/video`: `video` (file) or `video_url`, `caption`, `gif_playback`,
/// `compress`.
pub async fn video(call: &mut Call) -> ApiResult<ApiResponse> {
    send_media(
        call,
        MediaKind::Video,
        Limit::Video,
        "video",
        Some("video/"),
    )
    .await
}

/// `POST /send/audio`: `audio` (file) or `audio_url`; `ptt=true` sends a voice note.
pub async fn audio(call: &mut Call) -> ApiResult<ApiResponse> {
    send_media(
        call,
        MediaKind::Audio,
        Limit::Audio,
        "audio",
        Some("audio/"),
    )
    .await
}

/// `POST /send/sticker`: `sticker` (file) or `sticker_url`, a WebP image.
pub async fn sticker(call: &mut Call) -> ApiResult<ApiResponse> {
    send_media(
        call,
        MediaKind::Sticker,
        Limit::Image,
        "sticker",
        Some("image/"),
    )
    .await
}

/// The media sends' common path: read the body within the kind's limit, take
/// the file from `field` (or `<field>_url`), check its family, store it, send.
async fn send_media(
    call: &mut Call,
    kind: MediaKind,
    limit: Limit,
    field: &str,
    family: Option<&str>,
) -> ApiResult<ApiResponse> {
    let input = call.body(limit.body_bytes()).await?;
    let file = media::from_input(&input, field, &format!("{field}_url"), limit).await?;
    if let Some(family) = family {
        media::expect_kind(&file, family, field)?;
    }
    let content = upload(call, file, kind, &input).await?;
    send(call, &input, content).await
}

/// `POST /send/contact`: `contact_name`, `contact_phone`.
pub async fn contact(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(TEXT_BODY_LIMIT).await?;
    let card = ContactCard {
        name: input.required("contact_name")?,
        phone: input.required("contact_phone")?,
    };
    send(call, &input, OutboundContent::Contact(card)).await
}

/// `POST /send/link`: `link`, `caption` — the text with a preview card for
/// the link when its page can be read (see `link_preview`); the answer's
/// `link_preview` says what the card shows, or why there is none.
pub async fn link(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(TEXT_BODY_LIMIT).await?;
    let link = input.required("link")?;
    if !(link.starts_with("http://") || link.starts_with("https://")) {
        return Err(ApiError::validation("link: must be an http(s) URL"));
    }
    let text = match input.optional("caption") {
        Some(caption) => format!("{caption}\n{link}"),
        None => link.clone(),
    };
    // The page is read only for a send that can go out.
    phone::chat_jid(&input.required("phone")?)?;
    call.device().await?;
    let (preview, report) = link_preview::gather(&call.connector, &link).await;
    let content = OutboundContent::Link(LinkText {
        text,
        url: link,
        preview,
    });
    let receipt = queue(call, &input, content).await?;
    Ok(envelope::success(
        "Success",
        LinkSent {
            sent: Sent::from(receipt),
            link_preview: report,
        },
    ))
}

/// The answer to `/send/link`: the send's, with the card's report.
#[derive(Serialize)]
struct LinkSent {
    #[serde(flatten)]
    sent: Sent,
    link_preview: PreviewReport,
}

/// `POST /send/location`: `latitude`, `longitude` (numbers or numeric strings).
pub async fn location(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(TEXT_BODY_LIMIT).await?;
    let number = |name| {
        input
            .number::<f64>(name)?
            .filter(|v| v.is_finite())
            .ok_or_else(|| ApiError::validation(format!("{name}: cannot be blank")))
    };
    let location = Location {
        latitude: number("latitude")?,
        longitude: number("longitude")?,
        name: input.optional("name"),
        address: input.optional("address"),
    };
    send(call, &input, OutboundContent::Location(location)).await
}

/// `POST /send/poll`: `question`, `options` (list), `max_answer`.
pub async fn poll(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(TEXT_BODY_LIMIT).await?;
    let poll = Poll {
        question: input.required("question")?,
        options: input.list("options")?,
        max_answers: input.number::<u32>("max_answer")?.unwrap_or(1),
    };
    send(call, &input, OutboundContent::Poll(poll)).await
}

/// Queues `content` for the body's `phone` with the common options.
pub(super) async fn send(
    call: &Call,
    input: &Input,
    content: OutboundContent,
) -> ApiResult<ApiResponse> {
    let receipt = queue(call, input, content).await?;
    Ok(envelope::success("Success", Sent::from(receipt)))
}

/// Queues `content` for the body's `phone`; the connector's receipt.
async fn queue(call: &Call, input: &Input, content: OutboundContent) -> ApiResult<SendReceipt> {
    let device = call.device().await?;
    let to = phone::chat_jid(&input.required("phone")?)?;
    let mentions = input
        .list("mentions")?
        .iter()
        .map(|m| phone::user(m))
        .collect::<ApiResult<Vec<_>>>()?;
    let message = OutboundMessage {
        to,
        content,
        reply_to: input.optional("reply_message_id"),
        mentions,
        forwarded: input.flag("is_forwarded")?,
        id: input.optional("message_id"),
    };
    call.connector
        .try_call("messaging", "send", (&device, message))
        .await
}

impl From<SendReceipt> for Sent {
    fn from(receipt: SendReceipt) -> Self {
        Sent {
            status: format!("Message queued for {}", receipt.chat),
            message_id: receipt.message_id,
        }
    }
}

/// Stores the file in the media store and describes it for the send.
async fn upload(
    call: &Call,
    file: Fetched,
    kind: MediaKind,
    input: &Input,
) -> ApiResult<OutboundContent> {
    let voice_note = kind == MediaKind::Audio && input.flag("ptt")?;
    let stored = call.connector.put_media(&file.mime, file.bytes).await?;
    Ok(OutboundContent::Media(OutboundMedia {
        kind,
        media: stored,
        caption: match kind {
            MediaKind::Image | MediaKind::Video | MediaKind::Document => input.optional("caption"),
            MediaKind::Audio | MediaKind::Sticker => None,
        },
        file_name: file.file_name,
        voice_note,
        gif_playback: kind == MediaKind::Video && input.flag("gif_playback")?,
        compress: kind == MediaKind::Video && input.flag("compress")?,
        duration_secs: input.number::<u32>("duration")?,
        waveform: None,
        width: None,
        height: None,
        view_once: matches!(kind, MediaKind::Image | MediaKind::Video | MediaKind::Audio)
            && input.flag("view_once")?,
    }))
}
