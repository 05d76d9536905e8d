//! `wa:gateway/chat-actions`: star, delete for me, pin, archive and push name,
//! pushed to WhatsApp's app state so the account's other devices follow, and
//! applied to the store when the pushed patch is read back.

use std::time::UNIX_EPOCH;

use wa_proto::appstate::{ChatAction, MessageRef};

use super::bindings::wa::gateway::chat_actions::Host;
use super::messaging::parse_chat;
use super::{Gateway, GatewayError, GatewayResult, account_id, request_error, store_error};
use crate::accounts::AccountState;
use crate::appstate::AppStateError;

/// What `not-ready` texts about a missing app-state key start with (the WIT
/// contract documents it so callers can tell it from an account that is not
/// logged in).
const NOT_READY_PREFIX: &str = "app-state:";

impl Host for Gateway {
    async fn star_message(
        &mut self,
        account: String,
        chat: String,
        message_id: String,
        starred: bool,
    ) -> GatewayResult<()> {
        let (message, _) = self.stored_message(&account, &chat, &message_id).await?;
        self.push(&account, ChatAction::Star { message, starred })
            .await
    }

    async fn delete_message_for_me(
        &mut self,
        account: String,
        chat: String,
        message_id: String,
    ) -> GatewayResult<()> {
        let (message, message_timestamp) =
            self.stored_message(&account, &chat, &message_id).await?;
        self.push(
            &account,
            ChatAction::DeleteForMe {
                message,
                message_timestamp,
                delete_media: true,
            },
        )
        .await
    }

    async fn pin_chat(&mut self, account: String, chat: String, pinned: bool) -> GatewayResult<()> {
        let chat = parse_chat(&chat)?.to_string();
        self.push(&account, ChatAction::Pin { chat, pinned }).await
    }

    async fn archive_chat(
        &mut self,
        account: String,
        chat: String,
        archived: bool,
    ) -> GatewayResult<()> {
        let chat = parse_chat(&chat)?.to_string();
        self.push(&account, ChatAction::Archive { chat, archived })
            .await
    }

    async fn set_push_name(&mut self, account: String, name: String) -> GatewayResult<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(GatewayError::InvalidInput(
                "push name must not be empty".into(),
            ));
        }
        self.push(
            &account,
            ChatAction::PushName {
                name: name.to_owned(),
            },
        )
        .await
    }
}

impl Gateway {
    /// The stored message `message_id` of `chat` as app-state actions name it,
    /// with its timestamp in seconds; `not-found` when the history lacks it
    /// (its sender and direction are part of the action's index).
    async fn stored_message(
        &self,
        account: &str,
        chat: &str,
        message_id: &str,
    ) -> GatewayResult<(MessageRef, i64)> {
        let id = account_id(account)?;
        let chat = parse_chat(chat)?;
        if message_id.trim().is_empty() {
            return Err(GatewayError::InvalidInput(
                "message id must not be empty".into(),
            ));
        }
        let stored = self
            .store
            .get_message(&id, &chat.to_string(), message_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                GatewayError::NotFound(format!("message `{message_id}` not found in {chat}"))
            })?;
        let m = stored.message;
        let timestamp = m
            .timestamp
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let message = MessageRef {
            participant: (chat.is_group() && !m.from_me).then_some(m.sender),
            chat: m.chat,
            id: m.id,
            from_me: m.from_me,
        };
        Ok((message, timestamp))
    }

    /// Pushes `action` for a logged-in account (one still linking has no
    /// app state to write to).
    async fn push(&self, account: &str, action: ChatAction) -> GatewayResult<()> {
        let handle = self.running(account).await?;
        let state = handle.state();
        if state != AccountState::LoggedIn {
            return Err(GatewayError::NotReady(format!(
                "account `{account}` is {}, not logged in",
                state.as_str()
            )));
        }
        handle
            .app_state()
            .push(&action)
            .await
            .map_err(app_state_error)
    }
}

/// The contract's view of a failed push.
fn app_state_error(error: AppStateError) -> GatewayError {
    match error {
        AppStateError::NoKey => GatewayError::NotReady(format!(
            "{NOT_READY_PREFIX} the phone has not shared its app-state key with this device \
             yet (it does so shortly after linking); try again later"
        )),
        AppStateError::Request(e) => request_error(e),
        AppStateError::Store(e) => store_error(e),
        other @ (AppStateError::Collection { .. }
        | AppStateError::Stanza(_)
        | AppStateError::Patch(_)
        | AppStateError::Blob { .. }) => {
            tracing::warn!(error = %other, "app-state push failed");
            GatewayError::Unavailable(other.to_string())
        }
    }
}
