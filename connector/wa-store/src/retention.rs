//! Keeping history bounded: deleting old messages in small batches, forgetting one
//! message (when chat history is not kept), and handing freed space back.
//!
//! Deletes are bounded (`DELETE … WHERE seq IN (SELECT … LIMIT n)`) so one batch
//! holds the write lock only briefly and traffic goes on between batches; on
//! PostgreSQL small batches also leave autovacuum steady work instead of one huge
//! bloat. A message an outbox entry still waits on is never deleted. Chats lose the
//! deleted messages from their count, and a chat left with none is deleted too.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::account::AccountId;
use crate::error::Result;

/// The most rows one [`RetentionStore::delete_messages_before`] call deletes.
pub const MAX_RETENTION_BATCH: u32 = 10_000;

/// What [`RetentionStore::reclaim_space`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reclaimed {
    /// Database pages handed back to the file system (SQLite with incremental
    /// auto-vacuum; always 0 on PostgreSQL, where autovacuum does this).
    pub pages: u64,
}

/// Deleting old history.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes up to `limit` (capped at [`MAX_RETENTION_BATCH`]) messages, of any
    /// account, whose timestamp is before `before`, oldest first, skipping those still
    /// in the outbox; returns how many were deleted (fewer than `limit`: done).
    async fn delete_messages_before(&self, before: SystemTime, limit: u32) -> Result<u64>;

    /// Deletes one message (all senders' rows with that chat and id) unless an outbox
    /// entry still waits on it; returns whether a row was deleted. Used when chat
    /// history is off, once a send is finished.
    async fn forget_message(&self, account: &AccountId, chat: &str, id: &str) -> Result<bool>;

    /// Lets the database reuse or return the space deletes freed and refreshes the
    /// planner's statistics (SQLite: `PRAGMA incremental_vacuum` and `PRAGMA optimize`;
    /// PostgreSQL: nothing, autovacuum does it).
    async fn reclaim_space(&self) -> Result<Reclaimed>;
}
