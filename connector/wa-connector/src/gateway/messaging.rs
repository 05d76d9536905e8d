//! `wa:gateway/messaging`: every kind of outgoing message, durably queued.

use std::time::SystemTime;

use prost::Message as _;
use rand_core::{OsRng, RngCore};
use wa_proto::binary::Jid;
use wa_proto::compose::{self, MessageContext, MessageTarget};
use wa_proto::content::{self, MediaExtra, MediaKind};
use wa_proto::presence::ChatState as ProtoChatState;
use wa_proto::proto::message::Message;

use super::bindings::wa::gateway::messaging::Host;
use super::bindings::wa::gateway::types::{
    ChatState, ForwardRequest, MediaKind as ApiMediaKind, MessageStatus, OutboundContent,
    OutboundMedia, OutboundMessage, SendReceipt,
};
use super::{Gateway, GatewayError, GatewayResult, millis, request_error, store_error};
use crate::accounts::AccountHandle;
use crate::media_http::MediaTransferError;
use crate::messaging::SendRequestError;
use crate::requests::RequestError;
use crate::transcode::TranscodeFailure;

/// WhatsApp's limit on a text message, in bytes.
const MAX_TEXT_BYTES: usize = 65_536;
/// The disappearing-message timers WhatsApp offers (0: off).
const DISAPPEARING_TIMERS: [u32; 4] = [0, 86_400, 604_800, 7_776_000];
/// Poll options WhatsApp accepts.
const POLL_OPTIONS: std::ops::RangeInclusive<usize> = 2..=12;

impl Host for Gateway {
    async fn send(
        &mut self,
        account: String,
        message: OutboundMessage,
    ) -> GatewayResult<SendReceipt> {
        let handle = self.running(&account).await?;
        let to = parse_chat(&message.to)?;
        let view_once = matches!(&message.content, OutboundContent::Media(m) if m.view_once);
        let (body, stored_media) = self.compose(&handle, &to, message.content).await?;
        let context = MessageContext {
            reply_to: match &message.reply_to {
                Some(id) => Some(self.quoted(&handle, &to, id).await?),
                None => None,
            },
            mentions: message
                .mentions
                .iter()
                .map(|m| parse_user(m).map(|j| j.to_string()))
                .collect::<GatewayResult<_>>()?,
            forwarded: message.forwarded,
        };
        let body = compose::with_context(body, &context);
        // Wrapped last: the reply and mentions belong to the media inside.
        let body = if view_once {
            compose::view_once(body)
        } else {
            body
        };
        if let Some(id) = &message.id {
            check_message_id(id)?;
        }
        let stored = handle
            .send_message_as(&to, body, message.id, stored_media)
            .await
            .map_err(send_error)?;
        Ok(SendReceipt {
            message_id: stored.message.id,
            status: MessageStatus::Pending,
            chat: stored.message.chat,
        })
    }

    async fn send_presence(&mut self, account: String, available: bool) -> GatewayResult<()> {
        let handle = self.running(&account).await?;
        handle.send_presence(available).await.map_err(request_error)
    }

    async fn send_chat_presence(
        &mut self,
        account: String,
        chat: String,
        state: ChatState,
    ) -> GatewayResult<()> {
        let chat = parse_chat(&chat)?;
        let state = match state {
            ChatState::Composing => ProtoChatState::Composing,
            ChatState::Recording => ProtoChatState::Recording,
            ChatState::Paused => ProtoChatState::Paused,
        };
        let handle = self.running(&account).await?;
        handle
            .send_chat_state(&chat, state)
            .await
            .map_err(request_error)
    }

    async fn set_disappearing(
        &mut self,
        account: String,
        chat: String,
        seconds: u32,
    ) -> GatewayResult<()> {
        if !DISAPPEARING_TIMERS.contains(&seconds) {
            return Err(invalid(format!(
                "disappearing timer must be one of {DISAPPEARING_TIMERS:?} seconds"
            )));
        }
        let chat = parse_chat(&chat)?;
        let handle = self.running(&account).await?;
        if chat.is_group() {
            handle
                .set_group_disappearing(&chat, seconds)
                .await
                .map_err(request_error)
        } else {
            // In a one-to-one chat the setting is a message both sides apply.
            handle
                .send_message(&chat, compose::disappearing_setting(seconds))
                .await
                .map(|_| ())
                .map_err(send_error)
        }
    }

    async fn mark_read(
        &mut self,
        account: String,
        chat: String,
        message_ids: Vec<String>,
    ) -> GatewayResult<()> {
        let chat_jid = parse_chat(&chat)?;
        if message_ids.is_empty() {
            return Err(invalid("message ids must not be empty"));
        }
        let handle = self.running(&account).await?;
        // One receipt per sender: in a group, each names whose messages it covers.
        let mut by_sender: Vec<(Option<Jid>, Vec<String>)> = Vec::new();
        for id in message_ids {
            let stored = handle
                .store()
                .get_message(handle.id(), &chat_jid.to_string(), &id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| {
                    GatewayError::NotFound(format!("message `{id}` not found in {chat}"))
                })?;
            if stored.message.from_me {
                return Err(invalid(format!(
                    "message `{id}` was sent by this account; only received messages are marked read"
                )));
            }
            let sender = match chat_jid.is_group() {
                true => Some(parse_user(&stored.message.sender)?),
                false => None,
            };
            match by_sender.iter_mut().find(|(s, _)| *s == sender) {
                Some((_, ids)) => ids.push(id),
                None => by_sender.push((sender, vec![id])),
            }
        }
        for (sender, ids) in by_sender {
            handle
                .mark_read(&chat_jid, sender.as_ref(), &ids)
                .await
                .map_err(request_error)?;
        }
        Ok(())
    }

    async fn forward_message(
        &mut self,
        account: String,
        request: ForwardRequest,
    ) -> GatewayResult<SendReceipt> {
        self.forward(account, request).await
    }
}

impl Gateway {
    /// Builds the message body; media are uploaded first (WhatsApp needs the
    /// encrypted file on its media host before the message names it).
    async fn compose(
        &self,
        handle: &AccountHandle,
        to: &Jid,
        content: OutboundContent,
    ) -> GatewayResult<(Message, Option<String>)> {
        let now_ms = millis(SystemTime::now()) as i64;
        let message = match content {
            OutboundContent::Text(text) => {
                check_text("message", &text)?;
                content::text_message(text)
            }
            OutboundContent::Link(link) => self.compose_link(link).await?,
            OutboundContent::Media(media) => return self.compose_media(handle, media).await,
            OutboundContent::Location(l) => {
                if !(-90.0..=90.0).contains(&l.latitude) || !(-180.0..=180.0).contains(&l.longitude)
                {
                    return Err(invalid(
                        "latitude must be within ±90 and longitude within ±180",
                    ));
                }
                compose::location_message(l.latitude, l.longitude, l.name, l.address)
            }
            OutboundContent::Contact(card) => {
                check_text("contact name", &card.name)?;
                let digits = card.phone.chars().filter(char::is_ascii_digit).count();
                if !(6..=15).contains(&digits) {
                    return Err(invalid("contact phone must have 6 to 15 digits"));
                }
                compose::contact_message(&card.name, &card.phone)
            }
            OutboundContent::Poll(poll) => {
                check_text("question", &poll.question)?;
                if !POLL_OPTIONS.contains(&poll.options.len()) {
                    return Err(invalid("a poll needs 2 to 12 options"));
                }
                let mut seen = std::collections::HashSet::new();
                for option in &poll.options {
                    check_text("poll option", option)?;
                    if !seen.insert(option.as_str()) {
                        return Err(invalid(format!("poll option `{option}` is repeated")));
                    }
                }
                if poll.max_answers == 0 || poll.max_answers as usize > poll.options.len() {
                    return Err(invalid(
                        "max answers must be between 1 and the number of options",
                    ));
                }
                let mut secret = [0u8; 32];
                OsRng.fill_bytes(&mut secret);
                compose::poll_message(&poll.question, &poll.options, poll.max_answers, secret)
            }
            OutboundContent::Reaction(reaction) => {
                let target = MessageTarget {
                    chat: to.to_string(),
                    id: reaction.message_id,
                    from_me: reaction.from_me,
                    participant: reaction
                        .participant
                        .as_deref()
                        .map(parse_user)
                        .transpose()?
                        .map(|j| j.to_string()),
                };
                check_message_id(&target.id)?;
                compose::reaction_message(&target, &reaction.emoji, now_ms)
            }
            OutboundContent::Revoke(id) => {
                let target = self.own_message(handle, to, &id).await?;
                compose::revoke_message(&target)
            }
            OutboundContent::Edit(edit) => {
                check_text("message", &edit.text)?;
                let target = self.own_message(handle, to, &edit.message_id).await?;
                compose::edit_message(&target, &edit.text, now_ms)
            }
        };
        Ok((message, None))
    }

    async fn compose_media(
        &self,
        handle: &AccountHandle,
        media: OutboundMedia,
    ) -> GatewayResult<(Message, Option<String>)> {
        let store = self.media_store()?;
        let key = wa_media::MediaKey::new(media.media.key.clone())
            .map_err(|e| invalid(format!("media key: {e}")))?;
        let kind = match media.kind {
            ApiMediaKind::Image => MediaKind::Image,
            ApiMediaKind::Video => MediaKind::Video,
            ApiMediaKind::Audio => MediaKind::Audio {
                ptt: media.voice_note,
            },
            ApiMediaKind::Document => MediaKind::Document {
                file_name: media.file_name.clone().unwrap_or_else(|| "file".into()),
            },
            ApiMediaKind::Sticker => MediaKind::Sticker,
        };
        if let Some(caption) = &media.caption {
            check_text("caption", caption)?;
        }
        // Voice notes are always re-encoded: phones play only Opus in OGG, and
        // the conversion measures the duration they show. Videos are brought
        // to the one shape every client plays, with their preview.
        let Converted {
            key,
            mime,
            seconds,
            size,
            waveform,
            thumbnail,
        } = if media.voice_note {
            let note = self
                .converted("voice_note", crate::transcode::voice_note(store, &key))
                .await?;
            Converted {
                key: note.key,
                mime: note.mime,
                seconds: Some(note.seconds),
                size: None,
                waveform: Some(note.waveform),
                thumbnail: None,
            }
        } else if kind == MediaKind::Video {
            let video = self
                .converted(
                    "video",
                    crate::transcode::video(store, &key, &self.conversion, media.compress),
                )
                .await?;
            Converted {
                key: video.key,
                mime: video.mime,
                seconds: Some(video.seconds),
                size: Some((video.width, video.height)),
                waveform: None,
                thumbnail: Some(video.thumbnail),
            }
        } else {
            Converted {
                key,
                mime: media.media.mime.clone(),
                seconds: media.duration_secs,
                size: media.width.zip(media.height),
                waveform: media.waveform,
                thumbnail: None,
            }
        };
        let uploaded = handle
            .upload_media(store, &key, kind.media_type(), &mime)
            .await
            .map_err(transfer_error)?;
        let extra = MediaExtra {
            seconds,
            width: size.map(|(w, _)| w),
            height: size.map(|(_, h)| h),
            waveform,
            thumbnail,
        };
        let mut message = content::media_message(kind, &uploaded, media.caption, extra);
        if let Some(video) = message.video_message.as_mut() {
            video.gif_playback = media.gif_playback.then_some(true);
        }
        Ok((message, Some(key.to_string())))
    }

    /// Runs one media conversion, timed as `kind` in the metrics; an input
    /// ffmpeg cannot read is the client's error.
    async fn converted<T>(
        &self,
        kind: &'static str,
        conversion: impl std::future::Future<Output = Result<T, TranscodeFailure>>,
    ) -> GatewayResult<T> {
        let started = std::time::Instant::now();
        let result = conversion.await;
        self.metrics.media_processed(kind, started.elapsed());
        result.map_err(|e| match e {
            TranscodeFailure::BadInput { .. } => GatewayError::InvalidInput(e.to_string()),
            e => GatewayError::Unavailable(e.to_string()),
        })
    }

    /// The message a reply quotes, with its content for the quote bubble.
    async fn quoted(
        &self,
        handle: &AccountHandle,
        chat: &Jid,
        id: &str,
    ) -> GatewayResult<(MessageTarget, Option<Message>)> {
        check_message_id(id)?;
        let stored = self
            .store
            .get_message(handle.id(), &chat.to_string(), id)
            .await
            .map_err(store_error)?;
        Ok(match stored {
            Some(stored) => {
                let quoted = Message::decode(stored.message.content.as_slice()).ok();
                (target_of(chat, &stored.message), quoted)
            }
            // WhatsApp shows a reply to a message we never stored as a plain reply.
            None => (
                MessageTarget {
                    chat: chat.to_string(),
                    id: id.to_owned(),
                    from_me: false,
                    participant: None,
                },
                None,
            ),
        })
    }

    /// One of our own messages (revokes and edits apply only to those).
    async fn own_message(
        &self,
        handle: &AccountHandle,
        chat: &Jid,
        id: &str,
    ) -> GatewayResult<MessageTarget> {
        check_message_id(id)?;
        let stored = self
            .store
            .get_message(handle.id(), &chat.to_string(), id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| GatewayError::NotFound(format!("message `{id}` not found in {chat}")))?;
        if !stored.message.from_me {
            return Err(invalid(format!(
                "message `{id}` was not sent by this account"
            )));
        }
        Ok(target_of(chat, &stored.message))
    }
}

/// A media file as it will be uploaded: converted or as the client sent it.
struct Converted {
    key: wa_media::MediaKey,
    mime: String,
    seconds: Option<u32>,
    size: Option<(u32, u32)>,
    waveform: Option<Vec<u8>>,
    thumbnail: Option<Vec<u8>>,
}

fn target_of(chat: &Jid, message: &wa_store::NewMessage) -> MessageTarget {
    MessageTarget {
        chat: chat.to_string(),
        id: message.id.clone(),
        from_me: message.from_me,
        participant: (chat.is_group() && !message.from_me).then(|| message.sender.clone()),
    }
}

/// A chat JID the gateway can send to: a user (`…@s.whatsapp.net`) or a group (`…@g.us`).
pub(super) fn parse_chat(jid: &str) -> GatewayResult<Jid> {
    let parsed: Jid = jid
        .parse()
        .map_err(|_| GatewayError::InvalidInput(format!("`{jid}` is not a JID")))?;
    if parsed.is_group() && !parsed.user.is_empty() {
        return Ok(parsed);
    }
    parse_user(jid)
}

/// A user JID: digits `@s.whatsapp.net`, no device part.
pub(super) fn parse_user(jid: &str) -> GatewayResult<Jid> {
    let parsed: Jid = jid
        .parse()
        .map_err(|_| GatewayError::InvalidInput(format!("`{jid}` is not a JID")))?;
    let digits = parsed.user.len();
    if parsed.server != wa_proto::binary::jid::USER_SERVER
        || !(6..=15).contains(&digits)
        || !parsed.user.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(GatewayError::InvalidInput(format!(
            "`{jid}` is not a user JID (6 to 15 digits @s.whatsapp.net)"
        )));
    }
    Ok(parsed.to_non_ad())
}

pub(super) fn check_text(field: &str, text: &str) -> GatewayResult<()> {
    if text.trim().is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(invalid(format!(
            "{field} is longer than {MAX_TEXT_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Message ids are short printable tokens (WhatsApp's are 16–32 hex characters).
pub(super) fn check_message_id(id: &str) -> GatewayResult<()> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(format!(
            "`{id}` is not a message id (1 to 128 printable characters)"
        )));
    }
    Ok(())
}

pub(super) fn invalid(why: impl Into<String>) -> GatewayError {
    GatewayError::InvalidInput(why.into())
}

pub(super) fn send_error(error: SendRequestError) -> GatewayError {
    match error {
        SendRequestError::NotLinked => GatewayError::NotReady(error.to_string()),
        SendRequestError::InvalidRecipient(_) => GatewayError::InvalidInput(error.to_string()),
        SendRequestError::Store(e) => store_error(e),
    }
}

pub(super) fn transfer_error(error: MediaTransferError) -> GatewayError {
    match error {
        MediaTransferError::Request(RequestError::NotConnected) => {
            GatewayError::NotReady("the account is not connected; media need a connection".into())
        }
        MediaTransferError::Store(wa_media::MediaError::NotFound { .. }) => {
            GatewayError::NotFound(error.to_string())
        }
        MediaTransferError::NotDownloadable(_) => GatewayError::NotFound(error.to_string()),
        other => GatewayError::Unavailable(other.to_string()),
    }
}
