//! SQLite: bounded deletes of old messages, and reclaiming the space they held.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;
use rusqlite::{Transaction, TransactionBehavior, params};

use super::{SqliteStore, map_err};
use crate::account::AccountId;
use crate::error::Result;
use crate::retention::{MAX_RETENTION_BATCH, Reclaimed, RetentionStore};
use crate::time::to_millis;

/// Takes the deleted rows' chats off their chats' counts; deletes emptied chats.
fn settle_chats(tx: &Transaction<'_>, deleted: &[(String, String)]) -> Result<()> {
    let mut per_chat: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (account, chat) in deleted {
        *per_chat.entry((account, chat)).or_default() += 1;
    }
    let mut update = tx
        .prepare_cached(
            "UPDATE chats SET message_count = MAX(message_count - ?3, 0)
             WHERE account_id = ?1 AND jid = ?2",
        )
        .map_err(map_err)?;
    let mut empty = tx
        .prepare_cached(
            "DELETE FROM chats WHERE account_id = ?1 AND jid = ?2
               AND NOT EXISTS (SELECT 1 FROM messages m
                               WHERE m.account_id = ?1 AND m.chat = ?2)",
        )
        .map_err(map_err)?;
    for ((account, chat), n) in per_chat {
        update.execute(params![account, chat, n]).map_err(map_err)?;
        empty.execute(params![account, chat]).map_err(map_err)?;
    }
    Ok(())
}

/// Runs a `DELETE … RETURNING account_id, chat` and settles the chats, in one
/// transaction; returns how many messages went.
fn delete_returning(
    conn: &mut rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<u64> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let deleted = tx
        .prepare_cached(sql)
        .map_err(map_err)?
        .query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<(String, String)>>>()
        .map_err(map_err)?;
    settle_chats(&tx, &deleted)?;
    tx.commit().map_err(map_err)?;
    Ok(deleted.len() as u64)
}

/// Rows an outbox entry still waits on are kept.
const NOT_IN_OUTBOX: &str = "NOT EXISTS (SELECT 1 FROM outbox o
        WHERE o.account_id = m.account_id AND o.chat = m.chat
          AND o.id = m.id AND o.sender = m.sender)";

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn delete_messages_before(&self, before: SystemTime, limit: u32) -> Result<u64> {
        let (before, limit) = (to_millis(before), limit.min(MAX_RETENTION_BATCH));
        self.pool
            .write(move |conn| {
                delete_returning(
                    conn,
                    &format!(
                        "DELETE FROM messages WHERE seq IN (
                             SELECT m.seq FROM messages m
                             WHERE m.timestamp < ?1 AND {NOT_IN_OUTBOX}
                             ORDER BY m.timestamp LIMIT ?2)
                         RETURNING account_id, chat"
                    ),
                    &[&before, &limit],
                )
            })
            .await
    }

    async fn forget_message(&self, account: &AccountId, chat: &str, id: &str) -> Result<bool> {
        let (account, chat, id) = (account.clone(), chat.to_owned(), id.to_owned());
        self.pool
            .write(move |conn| {
                let n = delete_returning(
                    conn,
                    &format!(
                        "DELETE FROM messages WHERE seq IN (
                             SELECT m.seq FROM messages m
                             WHERE m.account_id = ?1 AND m.chat = ?2 AND m.id = ?3
                               AND {NOT_IN_OUTBOX})
                         RETURNING account_id, chat"
                    ),
                    &[&account.as_str(), &chat, &id],
                )?;
                Ok(n > 0)
            })
            .await
    }

    async fn reclaim_space(&self) -> Result<Reclaimed> {
        self.pool
            .write(|conn| {
                let page_count = |conn: &rusqlite::Connection| -> Result<i64> {
                    conn.query_row("PRAGMA page_count", [], |r| r.get(0))
                        .map_err(map_err)
                };
                let mode: i64 = conn
                    .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
                    .map_err(map_err)?;
                let before = page_count(conn)?;
                // 2 = INCREMENTAL (set on new databases); a database created before
                // keeps its free pages for reuse, which a full VACUUM would return.
                if mode == 2 {
                    // Frees one page per step: step it to the end.
                    let mut stmt = conn.prepare("PRAGMA incremental_vacuum").map_err(map_err)?;
                    let mut rows = stmt.query([]).map_err(map_err)?;
                    while rows.next().map_err(map_err)?.is_some() {}
                }
                conn.execute_batch("PRAGMA optimize;").map_err(map_err)?;
                let after = page_count(conn)?;
                Ok(Reclaimed {
                    pages: u64::try_from(before - after).unwrap_or(0),
                })
            })
            .await
    }
}
