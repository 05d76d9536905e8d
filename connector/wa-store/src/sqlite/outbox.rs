//! SQLite: the outbox — enqueueing a send with its message, reading due entries, and
//! applying send outcomes in a commit.

use std::time::SystemTime;

use async_trait::async_trait;
use rusqlite::{Transaction, TransactionBehavior, params};

use super::messages::{insert, read_message, upsert_chats};
use super::{SqliteStore, map_err, require_account};
use crate::account::AccountId;
use crate::error::{Result, StoreError};
use crate::message::{
    MessageRecord, MessageStatus, NewMessage, SELECT_COLUMN_COUNT, SELECT_COLUMNS, StoredMessage,
    chat_deltas,
};
use crate::outbox::{OutboxEntry, OutboxStep, OutboxStore, entry_from_db};
use crate::time::{from_millis, now_millis, to_millis};

/// Applies send outcomes in order; an entry already gone is left alone.
pub(super) fn apply(
    tx: &Transaction<'_>,
    account: &str,
    steps: &[OutboxStep<'_>],
    now: i64,
) -> Result<()> {
    for step in steps {
        match step {
            OutboxStep::Finish { chat, id, status } => {
                tx.prepare_cached(
                    "UPDATE messages SET status = ?4, updated_at = MAX(updated_at, ?5)
                     WHERE account_id = ?1 AND chat = ?2 AND id = ?3 AND status = 'pending'
                       AND EXISTS (SELECT 1 FROM outbox o
                                   WHERE o.account_id = messages.account_id
                                     AND o.chat = messages.chat AND o.id = messages.id
                                     AND o.sender = messages.sender)",
                )
                .map_err(map_err)?
                .execute(params![account, chat, id, status, now])
                .map_err(map_err)?;
                tx.prepare_cached(
                    "DELETE FROM outbox WHERE account_id = ?1 AND chat = ?2 AND id = ?3",
                )
                .map_err(map_err)?
                .execute(params![account, chat, id])
                .map_err(map_err)?;
            }
            OutboxStep::Retry {
                chat,
                id,
                next_attempt_at,
                error,
            } => {
                tx.prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?4,
                         last_error = ?5
                     WHERE account_id = ?1 AND chat = ?2 AND id = ?3",
                )
                .map_err(map_err)?
                .execute(params![account, chat, id, next_attempt_at, error])
                .map_err(map_err)?;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue(&self, account: &AccountId, message: &NewMessage) -> Result<StoredMessage> {
        message.validate()?;
        let (account, mut message) = (account.clone(), message.clone());
        message.status = MessageStatus::Pending;
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                require_account(&tx, account.as_str())?;
                let now = now_millis();
                let record = MessageRecord::new(&message, MessageStatus::Pending);
                if insert(&tx, account.as_str(), [record], now)? != [true] {
                    return Err(StoreError::conflict("message", message.id.as_str()));
                }
                upsert_chats(&tx, account.as_str(), &chat_deltas([&message]))?;
                tx.execute(
                    "INSERT INTO outbox (account_id, chat, sender, id, attempts, next_attempt_at,
                                         created_at)
                     VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5)",
                    params![
                        account.as_str(),
                        message.chat,
                        message.sender,
                        message.id,
                        now
                    ],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                Ok(StoredMessage {
                    account,
                    message,
                    created_at: from_millis(now),
                    updated_at: from_millis(now),
                })
            })
            .await
    }

    async fn due_outbox(
        &self,
        account: &AccountId,
        now: SystemTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>> {
        let account = account.clone();
        let limit = limit.min(crate::message::MAX_PAGE_SIZE);
        self.pool
            .run(move |conn| {
                let rows = conn
                    .prepare_cached(&format!(
                        "SELECT {SELECT_COLUMNS}, o.attempts, o.next_attempt_at, o.last_error
                         FROM outbox o JOIN messages m
                           ON m.account_id = o.account_id AND m.chat = o.chat
                          AND m.id = o.id AND m.sender = o.sender
                         WHERE o.account_id = ?1 AND o.next_attempt_at <= ?2
                         ORDER BY m.seq LIMIT ?3"
                    ))
                    .map_err(map_err)?
                    .query_map(params![account.as_str(), to_millis(now), limit], |r| {
                        let n = SELECT_COLUMN_COUNT;
                        Ok((read_message(r)?, r.get(n)?, r.get(n + 1)?, r.get(n + 2)?))
                    })
                    .map_err(map_err)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(map_err)?;
                rows.into_iter()
                    .map(|(row, attempts, next, error)| {
                        entry_from_db(row.into_stored(&account)?, attempts, next, error)
                    })
                    .collect()
            })
            .await
    }

    async fn count_outbox(&self, account: &AccountId) -> Result<u64> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let n: i64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM outbox WHERE account_id = ?1",
                        [account.as_str()],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                Ok(n as u64)
            })
            .await
    }
}
