//! PostgreSQL: the event log.
//!
//! An identity column hands out sequence numbers when rows are inserted, not when
//! they commit, so two transactions could become visible out of order and a reader's
//! cursor skip the slower one. Appenders therefore take a transaction-scoped advisory
//! lock first: it is held from the (last) insert to the commit, so sequence order is
//! commit order.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{PostgresStore, exec, get, map_err, query, require_account};
use crate::account::AccountId;
use crate::error::Result;
use crate::events::{EventStore, MAX_EVENTS_PAGE, NewEvent, StoredEvent, event_from_db};
use crate::time::now_millis;

/// Advisory lock key that orders event appends ("wa_event" in ASCII).
const EVENT_LOCK: i64 = 0x77615f6576656e74;

/// Appends events in order, in one statement; returns their sequence numbers.
pub(super) async fn append(
    tx: &impl GenericClient,
    account: &str,
    events: &[NewEvent],
    now: i64,
) -> Result<Vec<i64>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    exec(tx, "SELECT pg_advisory_xact_lock($1)", &[&EVENT_LOCK]).await?;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let payloads: Vec<&str> = events.iter().map(|e| e.payload.as_str()).collect();
    let rows = query(
        tx,
        "INSERT INTO events (account_id, kind, payload, created_at)
         SELECT $1::text, t.kind, t.payload, $4::bigint
         FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS t(kind, payload, ord)
         ORDER BY t.ord
         RETURNING seq",
        &[&account, &kinds, &payloads, &now],
    )
    .await?;
    // Rows are numbered in insertion (input) order; RETURNING's order is unspecified.
    let mut seqs = rows
        .iter()
        .map(|r| get(r, 0))
        .collect::<Result<Vec<i64>>>()?;
    seqs.sort_unstable();
    Ok(seqs)
}

fn to_event(r: &Row) -> Result<StoredEvent> {
    event_from_db(get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?, get(r, 4)?)
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append_event(&self, account: &AccountId, event: &NewEvent) -> Result<i64> {
        event.validate()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        require_account(&tx, account.as_str()).await?;
        let seqs = append(
            &tx,
            account.as_str(),
            std::slice::from_ref(event),
            now_millis(),
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
        Ok(seqs[0])
    }

    async fn events_after(
        &self,
        account: Option<&AccountId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let limit = i64::from(limit.min(MAX_EVENTS_PAGE));
        let client = self.client().await?;
        let rows = match account {
            None => {
                query(
                    &client,
                    "SELECT seq, account_id, kind, payload, created_at FROM events
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&after, &limit],
                )
                .await?
            }
            Some(account) => {
                query(
                    &client,
                    "SELECT seq, account_id, kind, payload, created_at FROM events
                     WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    &[&account.as_str(), &after, &limit],
                )
                .await?
            }
        };
        rows.iter().map(to_event).collect()
    }

    async fn last_event_seq(&self) -> Result<i64> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events",
            &[],
        )
        .await?;
        get(&rows[0], 0)
    }
}
