//! The outbox: sends committed before the API answers, retried until the server
//! accepted them or they are given up on.
//!
//! Enqueueing inserts the message (status `Pending`) and its outbox entry in one
//! transaction. The account's task takes entries in order, encrypts and sends them,
//! and records the outcome through [`Changes::outbox`](crate::Changes::outbox) in the
//! same transaction as the Signal state the encryption advanced.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::account::{AccountId, MAX_TEXT_LEN};
use crate::error::Result;
use crate::message::{MessageStatus, NewMessage, StoredMessage};
use crate::time::to_millis;
use crate::validate;

/// A pending send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The message as stored (status `Pending`).
    pub message: StoredMessage,
    /// Attempts so far.
    pub attempts: u32,
    /// Not to be tried before this.
    pub next_attempt_at: SystemTime,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
}

/// What happened to an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The server acknowledged it: entry removed, message `Sent` (if still `Pending`: a
    /// receipt may have overtaken it).
    Sent,
    /// Try again later: attempts + 1, `next_attempt_at` and `last_error` set (the
    /// error kept up to [`MAX_TEXT_LEN`] bytes, so a long diagnostic never fails a commit).
    Retry {
        /// Earliest next attempt.
        next_attempt_at: SystemTime,
        /// Why this attempt failed.
        error: String,
    },
    /// Given up: entry removed, message `Failed` if still `Pending` (the error is kept
    /// on the message's event, not here).
    Failed {
        /// Why.
        error: String,
    },
}

/// An outcome for one outbox entry, named by chat and message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxUpdate {
    /// The chat.
    pub chat: String,
    /// The message id.
    pub id: String,
    /// What happened.
    pub outcome: OutboxOutcome,
}

/// Enqueueing and reading sends.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Inserts the message (its status is stored as `Pending` whatever it says) and its
    /// outbox entry, in one transaction. `Conflict` if a message with the same chat,
    /// sender and id exists (an idempotent retry by the client finds its first send).
    async fn enqueue(&self, account: &AccountId, message: &NewMessage) -> Result<StoredMessage>;

    /// Entries due at `now` (next attempt at or before it), oldest first.
    async fn due_outbox(
        &self,
        account: &AccountId,
        now: SystemTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>>;

    /// Entries waiting, due or not.
    async fn count_outbox(&self, account: &AccountId) -> Result<u64>;
}

impl OutboxUpdate {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::jid("outbox chat", &self.chat)?;
        validate::required("outbox message id", &self.id, MAX_TEXT_LEN)
    }
}

/// One outbox outcome as the backends apply it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OutboxStep<'a> {
    /// Remove the entry; a still `Pending` message takes `status`.
    Finish {
        chat: &'a str,
        id: &'a str,
        status: &'static str,
    },
    /// Count the attempt and schedule the next.
    Retry {
        chat: &'a str,
        id: &'a str,
        next_attempt_at: i64,
        error: String,
    },
}

impl<'a> OutboxStep<'a> {
    pub(crate) fn new(update: &'a OutboxUpdate) -> Self {
        let (chat, id) = (update.chat.as_str(), update.id.as_str());
        match &update.outcome {
            OutboxOutcome::Sent => OutboxStep::Finish {
                chat,
                id,
                status: MessageStatus::Sent.as_str(),
            },
            OutboxOutcome::Failed { .. } => OutboxStep::Finish {
                chat,
                id,
                status: MessageStatus::Failed.as_str(),
            },
            OutboxOutcome::Retry {
                next_attempt_at,
                error,
            } => OutboxStep::Retry {
                chat,
                id,
                next_attempt_at: to_millis(*next_attempt_at),
                error: validate::clip(error, MAX_TEXT_LEN),
            },
        }
    }
}

/// The outbox columns read after a message's in `due_outbox`.
pub(crate) fn entry_from_db(
    message: StoredMessage,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
) -> Result<OutboxEntry> {
    Ok(OutboxEntry {
        message,
        attempts: u32::try_from(attempts).map_err(|_| {
            crate::error::StoreError::Corrupt(format!("outbox attempts {attempts}"))
        })?,
        next_attempt_at: crate::time::from_millis(next_attempt_at),
        last_error,
    })
}
