//! SQLite: the event log. Writers are serialised by SQLite's write lock, so sequence
//! numbers (AUTOINCREMENT, never reused) grow in commit order.

use async_trait::async_trait;
use rusqlite::{Connection, Row, params};

use super::{SqliteStore, map_err, require_account};
use crate::account::AccountId;
use crate::error::Result;
use crate::events::{EventStore, MAX_EVENTS_PAGE, NewEvent, StoredEvent, event_from_db};

/// Appends events in order; returns their sequence numbers.
pub(super) fn append(
    conn: &Connection,
    account: &str,
    events: &[NewEvent],
    now: i64,
) -> Result<Vec<i64>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO events (account_id, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4)
             RETURNING seq",
        )
        .map_err(map_err)?;
    events
        .iter()
        .map(|e| {
            stmt.query_row(params![account, e.kind, e.payload, now], |r| r.get(0))
                .map_err(map_err)
        })
        .collect()
}

type EventRow = (i64, String, String, String, i64);

fn read_event(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append_event(&self, account: &AccountId, event: &NewEvent) -> Result<i64> {
        event.validate()?;
        let (account, event) = (account.clone(), event.clone());
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                require_account(&tx, account.as_str())?;
                let seqs = append(&tx, account.as_str(), &[event], crate::time::now_millis())?;
                tx.commit().map_err(map_err)?;
                Ok(seqs[0])
            })
            .await
    }

    async fn events_after(
        &self,
        account: Option<&AccountId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let account = account.cloned();
        let limit = limit.min(MAX_EVENTS_PAGE);
        self.pool
            .run(move |conn| {
                let rows = match &account {
                    None => conn
                        .prepare_cached(
                            "SELECT seq, account_id, kind, payload, created_at FROM events
                             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                        )
                        .map_err(map_err)?
                        .query_map(params![after, limit], read_event)
                        .map_err(map_err)?
                        .collect::<rusqlite::Result<Vec<_>>>(),
                    Some(account) => conn
                        .prepare_cached(
                            "SELECT seq, account_id, kind, payload, created_at FROM events
                             WHERE account_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                        )
                        .map_err(map_err)?
                        .query_map(params![account.as_str(), after, limit], read_event)
                        .map_err(map_err)?
                        .collect::<rusqlite::Result<Vec<_>>>(),
                }
                .map_err(map_err)?;
                rows.into_iter()
                    .map(|(seq, account, kind, payload, at)| {
                        event_from_db(seq, account, kind, payload, at)
                    })
                    .collect()
            })
            .await
    }

    async fn last_event_seq(&self) -> Result<i64> {
        self.pool
            .run(|conn| {
                conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
                    .map_err(map_err)
            })
            .await
    }
}
