//! `wa:gateway/media`: bytes into the media store and back, by content address.

use sha2::{Digest, Sha256};
use wa_media::{MediaError, MediaKey};

use super::bindings::wa::gateway::media::Host;
use super::bindings::wa::gateway::types::MediaRef;
use super::messaging::transfer_error;
use super::{Gateway, GatewayError, GatewayResult, account_id, store_error};

/// The largest file the gateway reads back in one call (GOWA's video limit).
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;

impl Host for Gateway {
    async fn put_media(&mut self, mime: String, bytes: Vec<u8>) -> GatewayResult<MediaRef> {
        check_mime(&mime)?;
        if bytes.is_empty() {
            return Err(GatewayError::InvalidInput("the file is empty".into()));
        }
        let store = self.media_store()?;
        let key = MediaKey::for_sha256(&Sha256::digest(&bytes).into());
        // Content-addressed: the same bytes are stored once.
        let stored = store.exists(&key).await.map_err(media_error)?;
        if !stored {
            store.put_bytes(&key, &bytes).await.map_err(media_error)?;
        }
        Ok(MediaRef {
            key: key.to_string(),
            mime,
            size: bytes.len() as u64,
        })
    }

    async fn read_media(&mut self, key: String) -> GatewayResult<Vec<u8>> {
        let key = MediaKey::new(key).map_err(|e| GatewayError::InvalidInput(e.to_string()))?;
        self.media_store()?
            .get_bytes(&key, MAX_MEDIA_BYTES)
            .await
            .map_err(media_error)
    }

    async fn message_media(
        &mut self,
        account: String,
        chat: String,
        message_id: String,
    ) -> GatewayResult<MediaRef> {
        let id = account_id(&account)?;
        let message = self
            .store
            .get_message(&id, &chat, &message_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| GatewayError::NotFound(format!("message `{message_id}` not found")))?;
        let media = message.message.media.as_ref().ok_or_else(|| {
            GatewayError::InvalidInput(format!("message `{message_id}` has no media"))
        })?;
        let mime = media
            .mimetype
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        let store = self.media_store()?.clone();
        let key = match &media.stored_key {
            Some(key) => MediaKey::new(key.clone()).map_err(|e| {
                GatewayError::Unavailable(format!("stored media key is unreadable: {e}"))
            })?,
            None => {
                let handle = self.running(&account).await?;
                handle
                    .download_media(&store, &chat, &message_id)
                    .await
                    .map_err(transfer_error)?
            }
        };
        let size = store.size(&key).await.map_err(media_error)?;
        Ok(MediaRef {
            key: key.to_string(),
            mime,
            size,
        })
    }
}

/// A MIME type as a client may send it: `type/subtype` with optional parameters.
fn check_mime(mime: &str) -> GatewayResult<()> {
    let essence = mime.split(';').next().unwrap_or("").trim();
    let valid = essence.split_once('/').is_some_and(|(ty, sub)| {
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
        };
        token(ty) && token(sub)
    });
    if !valid || mime.len() > 255 {
        return Err(GatewayError::InvalidInput(format!(
            "`{mime}` is not a MIME type"
        )));
    }
    Ok(())
}

fn media_error(error: MediaError) -> GatewayError {
    match error {
        MediaError::NotFound { .. } => GatewayError::NotFound(error.to_string()),
        other => {
            tracing::error!(error = %other, "media store failure behind a gateway call");
            GatewayError::Unavailable(format!("media store: {other}"))
        }
    }
}
