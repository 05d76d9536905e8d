//! `wa:gateway/messaging` `forward-message`: a stored message sent again to
//! another chat with WhatsApp's "forwarded" label, queued like any send.
//!
//! The message is found by id alone (GOWA names only the message); its media
//! travel by reference unless the caller asks for a fresh upload.

use prost::Message as _;
use wa_media::MediaKey;
use wa_proto::forward::{self, ForwardError};
use wa_proto::proto::message::Message;
use wa_store::StoredMessage;

use super::bindings::wa::gateway::types::{ForwardRequest, MessageStatus, SendReceipt};
use super::messaging::{check_message_id, invalid, parse_chat, send_error, transfer_error};
use super::{Gateway, GatewayError, GatewayResult, store_error};
use crate::accounts::AccountHandle;

/// The disappearing timers WhatsApp offers for a message.
const EXPIRATIONS: [u32; 3] = [86_400, 604_800, 7_776_000];

impl Gateway {
    /// See the module docs.
    pub(super) async fn forward(
        &self,
        account: String,
        request: ForwardRequest,
    ) -> GatewayResult<SendReceipt> {
        let to = parse_chat(&request.to)?;
        check_message_id(&request.message_id)?;
        if let Some(secs) = request.expiration_secs
            && !EXPIRATIONS.contains(&secs)
        {
            return Err(invalid(format!(
                "duration must be one of {EXPIRATIONS:?} seconds"
            )));
        }
        let handle = self.running(&account).await?;
        let stored = self
            .store
            .find_message(handle.id(), &request.message_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                GatewayError::NotFound(format!("message `{}` not found", request.message_id))
            })?;
        let original = Message::decode(stored.message.content.as_slice()).map_err(|_| {
            invalid(format!(
                "message `{}` has no content that can be forwarded",
                request.message_id
            ))
        })?;
        let mut body = forward::forward(&original, request.expiration_secs)
            .map_err(|e: ForwardError| invalid(format!("message `{}`: {e}", request.message_id)))?;
        let mut stored_media = stored
            .message
            .media
            .as_ref()
            .and_then(|m| m.stored_key.clone());
        if request.reupload && stored.message.media.is_some() {
            stored_media = Some(self.upload_again(&handle, &stored, &mut body).await?);
        }
        let sent = handle
            .send_message_as(&to, body, None, stored_media)
            .await
            .map_err(send_error)?;
        tracing::debug!(
            source = %stored.message.id,
            id = %sent.message.id,
            chat = %sent.message.chat,
            "forward queued"
        );
        Ok(SendReceipt {
            message_id: sent.message.id,
            status: MessageStatus::Pending,
            chat: sent.message.chat,
        })
    }

    /// Uploads the stored message's file again (from the media store, or
    /// downloaded first) and points `body` at the new upload; answers the
    /// file's media store key.
    async fn upload_again(
        &self,
        handle: &AccountHandle,
        stored: &StoredMessage,
        body: &mut Message,
    ) -> GatewayResult<String> {
        let message = &stored.message;
        let media = message
            .media
            .as_ref()
            .ok_or_else(|| invalid(format!("message `{}` has no media", message.id)))?;
        let media_type = crate::download::media_type_of(&message.kind).ok_or_else(|| {
            invalid(format!(
                "message `{}` ({}) has no file to upload",
                message.id, message.kind
            ))
        })?;
        let store = self.media_store()?;
        let key = match &media.stored_key {
            Some(key) => MediaKey::new(key.clone()).map_err(|e| {
                GatewayError::Unavailable(format!("stored media key is unreadable: {e}"))
            })?,
            None => handle
                .download_media(store, &message.chat, &message.id)
                .await
                .map_err(transfer_error)?,
        };
        let mime = media
            .mimetype
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        let uploaded = handle
            .upload_media(store, &key, media_type, &mime)
            .await
            .map_err(transfer_error)?;
        forward::replace_media(body, &uploaded);
        Ok(key.to_string())
    }
}
