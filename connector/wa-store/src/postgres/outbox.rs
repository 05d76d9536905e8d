//! PostgreSQL: the outbox — enqueueing a send with its message, reading due entries,
//! and applying send outcomes in a commit.

use std::time::SystemTime;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::messages::{insert, read_message, upsert_chats};
use super::{PostgresStore, exec, get, map_err, query, require_account};
use crate::account::AccountId;
use crate::error::{Result, StoreError};
use crate::message::{
    MAX_PAGE_SIZE, MessageRecord, MessageStatus, NewMessage, SELECT_COLUMN_COUNT, SELECT_COLUMNS,
    StoredMessage, chat_deltas,
};
use crate::outbox::{OutboxEntry, OutboxStep, OutboxStore, entry_from_db};
use crate::time::{from_millis, now_millis, to_millis};

/// Applies send outcomes in order, one statement each; an entry already gone is left
/// alone.
pub(super) async fn apply(
    tx: &impl GenericClient,
    account: &str,
    steps: &[OutboxStep<'_>],
    now: i64,
) -> Result<()> {
    for step in steps {
        match step {
            OutboxStep::Finish { chat, id, status } => {
                exec(
                    tx,
                    "WITH gone AS (
                         DELETE FROM outbox WHERE account_id = $1 AND chat = $2 AND id = $3
                         RETURNING sender)
                     UPDATE messages SET status = $4, updated_at = GREATEST(updated_at, $5)
                     WHERE account_id = $1 AND chat = $2 AND id = $3 AND status = 'pending'
                       AND sender IN (SELECT sender FROM gone)",
                    &[&account, chat, id, status, &now],
                )
                .await?;
            }
            OutboxStep::Retry {
                chat,
                id,
                next_attempt_at,
                error,
            } => {
                exec(
                    tx,
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $4,
                         last_error = $5
                     WHERE account_id = $1 AND chat = $2 AND id = $3",
                    &[&account, chat, id, next_attempt_at, error],
                )
                .await?;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn enqueue(&self, account: &AccountId, message: &NewMessage) -> Result<StoredMessage> {
        message.validate()?;
        let mut message = message.clone();
        message.status = MessageStatus::Pending;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        require_account(&tx, account.as_str()).await?;
        let now = now_millis();
        let record = MessageRecord::new(&message, MessageStatus::Pending);
        if insert(&tx, account.as_str(), &[record], now).await? != [true] {
            return Err(StoreError::conflict("message", message.id.as_str()));
        }
        upsert_chats(&tx, account.as_str(), &chat_deltas([&message])).await?;
        exec(
            &tx,
            "INSERT INTO outbox (account_id, chat, sender, id, attempts, next_attempt_at,
                                 created_at)
             VALUES ($1, $2, $3, $4, 0, $5, $5)",
            &[
                &account.as_str(),
                &message.chat,
                &message.sender,
                &message.id,
                &now,
            ],
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
        Ok(StoredMessage {
            account: account.clone(),
            message,
            created_at: from_millis(now),
            updated_at: from_millis(now),
        })
    }

    async fn due_outbox(
        &self,
        account: &AccountId,
        now: SystemTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>> {
        let client = self.client().await?;
        let limit = i64::from(limit.min(MAX_PAGE_SIZE));
        let rows = query(
            &client,
            &format!(
                "SELECT {SELECT_COLUMNS}, o.attempts, o.next_attempt_at, o.last_error
                 FROM outbox o JOIN messages m
                   ON m.account_id = o.account_id AND m.chat = o.chat
                  AND m.id = o.id AND m.sender = o.sender
                 WHERE o.account_id = $1 AND o.next_attempt_at <= $2
                 ORDER BY m.seq LIMIT $3"
            ),
            &[&account.as_str(), &to_millis(now), &limit],
        )
        .await?;
        let n = SELECT_COLUMN_COUNT;
        rows.iter()
            .map(|r| {
                entry_from_db(
                    read_message(r)?.into_stored(account)?,
                    get(r, n)?,
                    get(r, n + 1)?,
                    get(r, n + 2)?,
                )
            })
            .collect()
    }

    async fn count_outbox(&self, account: &AccountId) -> Result<u64> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT COUNT(*) FROM outbox WHERE account_id = $1",
            &[&account.as_str()],
        )
        .await?;
        Ok(get::<i64>(&rows[0], 0)? as u64)
    }
}
