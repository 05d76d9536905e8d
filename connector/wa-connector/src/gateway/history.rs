//! `wa:gateway/history`: the stored chats and messages.

use wa_store::{ChatQuery, MessageQuery, MessageStatus as StoredStatus, StoredMessage};

use super::bindings::wa::gateway::history::Host;
use super::bindings::wa::gateway::types::{
    Chat, ChatQuery as ApiChatQuery, MediaRef, Message, MessageMedia, MessageQuery as ApiQuery,
    MessageStatus,
};
use super::{Gateway, GatewayError, GatewayResult, account_id, from_millis, millis, store_error};

impl Host for Gateway {
    async fn list_chats(
        &mut self,
        account: String,
        query: ApiChatQuery,
    ) -> GatewayResult<Vec<Chat>> {
        let id = account_id(&account)?;
        self.store.get_account(&id).await.map_err(store_error)?;
        let chats = self
            .store
            .list_chats(
                &id,
                &ChatQuery {
                    search: query.search,
                    limit: query.limit,
                    offset: query.offset,
                },
            )
            .await
            .map_err(store_error)?;
        Ok(chats
            .into_iter()
            .map(|c| Chat {
                jid: c.jid,
                name: c.name,
                last_message_at: millis(c.last_message_at),
                message_count: c.message_count,
                pinned: c.pinned,
                archived: c.archived,
            })
            .collect())
    }

    async fn list_messages(
        &mut self,
        account: String,
        query: ApiQuery,
    ) -> GatewayResult<Vec<Message>> {
        let id = account_id(&account)?;
        self.store.get_account(&id).await.map_err(store_error)?;
        let messages = self
            .store
            .list_messages(
                &id,
                &MessageQuery {
                    chat: query.chat,
                    before: query.before.map(from_millis),
                    since: query.since.map(from_millis),
                    from_me: query.from_me,
                    media_only: query.media_only,
                    search: query.search,
                    limit: query.limit,
                    offset: query.offset,
                },
            )
            .await
            .map_err(store_error)?;
        Ok(messages.iter().map(describe).collect())
    }

    async fn get_message(
        &mut self,
        account: String,
        chat: String,
        message_id: String,
    ) -> GatewayResult<Message> {
        let id = account_id(&account)?;
        self.store
            .get_message(&id, &chat, &message_id)
            .await
            .map_err(store_error)?
            .map(|m| describe(&m))
            .ok_or_else(|| GatewayError::NotFound(format!("message `{message_id}` not found")))
    }
}

/// The contract's view of a stored message.
pub(super) fn describe(stored: &StoredMessage) -> Message {
    let m = &stored.message;
    Message {
        id: m.id.clone(),
        chat: m.chat.clone(),
        sender: m.sender.clone(),
        from_me: m.from_me,
        timestamp: millis(m.timestamp),
        kind: m.kind.clone(),
        text: m.text.clone(),
        push_name: m.push_name.clone(),
        status: status(m.status),
        media: m.media.as_ref().map(|media| {
            let mime = media
                .mimetype
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into());
            let size = media.file_length.unwrap_or(0);
            MessageMedia {
                stored: media.stored_key.clone().map(|key| MediaRef {
                    key,
                    mime: mime.clone(),
                    size,
                }),
                mime,
                size,
                file_name: media.file_name.clone(),
            }
        }),
    }
}

fn status(status: StoredStatus) -> Option<MessageStatus> {
    Some(match status {
        StoredStatus::Pending => MessageStatus::Pending,
        StoredStatus::Sent => MessageStatus::Sent,
        StoredStatus::Delivered => MessageStatus::Delivered,
        StoredStatus::Read => MessageStatus::Read,
        StoredStatus::Played => MessageStatus::Played,
        StoredStatus::Failed => MessageStatus::Failed,
        StoredStatus::Received => return None,
    })
}
