//! PostgreSQL: bounded deletes of old messages. Space is autovacuum's business: small
//! batches give it steady, cheap work.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::{PostgresStore, exec, get, map_err, query};
use crate::account::AccountId;
use crate::error::Result;
use crate::retention::{MAX_RETENTION_BATCH, Reclaimed, RetentionStore};
use crate::time::to_millis;

/// Rows an outbox entry still waits on are kept.
const NOT_IN_OUTBOX: &str = "NOT EXISTS (SELECT 1 FROM outbox o
        WHERE o.account_id = m.account_id AND o.chat = m.chat
          AND o.id = m.id AND o.sender = m.sender)";

impl PostgresStore {
    /// Runs a `DELETE … RETURNING account_id, chat` and settles the chats' counts, in
    /// one transaction; returns how many messages went.
    async fn delete_returning(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let rows = query(&tx, sql, params).await?;
        let mut per_chat: BTreeMap<(String, String), i64> = BTreeMap::new();
        for row in &rows {
            *per_chat.entry((get(row, 0)?, get(row, 1)?)).or_default() += 1;
        }
        settle_chats(&tx, &per_chat).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(rows.len() as u64)
    }
}

/// Takes deleted messages off their chats' counts; deletes emptied chats.
async fn settle_chats(
    tx: &Transaction<'_>,
    per_chat: &BTreeMap<(String, String), i64>,
) -> Result<()> {
    for ((account, chat), n) in per_chat {
        exec(
            tx,
            "UPDATE chats SET message_count = GREATEST(message_count - $3, 0)
             WHERE account_id = $1 AND jid = $2",
            &[account, chat, n],
        )
        .await?;
        exec(
            tx,
            "DELETE FROM chats WHERE account_id = $1 AND jid = $2
               AND NOT EXISTS (SELECT 1 FROM messages m
                               WHERE m.account_id = $1 AND m.chat = $2)",
            &[account, chat],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl RetentionStore for PostgresStore {
    async fn delete_messages_before(&self, before: SystemTime, limit: u32) -> Result<u64> {
        let (before, limit) = (to_millis(before), i64::from(limit.min(MAX_RETENTION_BATCH)));
        self.delete_returning(
            &format!(
                "DELETE FROM messages WHERE seq IN (
                     SELECT m.seq FROM messages m
                     WHERE m.timestamp < $1 AND {NOT_IN_OUTBOX}
                     ORDER BY m.timestamp LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 RETURNING account_id, chat"
            ),
            &[&before, &limit],
        )
        .await
    }

    async fn forget_message(&self, account: &AccountId, chat: &str, id: &str) -> Result<bool> {
        let n = self
            .delete_returning(
                &format!(
                    "DELETE FROM messages WHERE seq IN (
                         SELECT m.seq FROM messages m
                         WHERE m.account_id = $1 AND m.chat = $2 AND m.id = $3
                           AND {NOT_IN_OUTBOX})
                     RETURNING account_id, chat"
                ),
                &[&account.as_str(), &chat, &id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn reclaim_space(&self) -> Result<Reclaimed> {
        // Autovacuum returns dead tuples' space; an explicit VACUUM here would only
        // compete with traffic.
        Ok(Reclaimed::default())
    }
}
