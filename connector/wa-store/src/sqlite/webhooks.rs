//! SQLite: webhook settings, the planning cursor and deliveries.

use std::time::SystemTime;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{SqliteStore, map_err, require_account};
use crate::account::AccountId;
use crate::error::{Result, StoreError};
use crate::time::{now_millis, to_millis};
use crate::webhook::{
    DELIVERY_COLUMNS, Delivery, DeliveryAttempt, DeliveryQuery, DeliveryRow, DeliveryState,
    DueDelivery, NewDelivery, WebhookSettings, WebhookStore, attempt_columns, headers_from_db,
    headers_to_db, list_from_db, list_to_db,
};

fn read_delivery(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        event_seq: r.get(1)?,
        event_name: r.get(2)?,
        account: r.get(3)?,
        url: r.get(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        last_status: r.get(7)?,
        last_error: r.get(8)?,
        next_attempt_at: r.get(9)?,
        retry_from: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

fn select(filter: &str) -> String {
    format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq {filter}"
    )
}

fn delivery_by_id(conn: &rusqlite::Connection, id: &str) -> Result<Option<Delivery>> {
    conn.prepare_cached(&select("WHERE d.id = ?1"))
        .map_err(map_err)?
        .query_row(params![id], read_delivery)
        .optional()
        .map_err(map_err)?
        .map(DeliveryRow::into_delivery)
        .transpose()
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn get_webhook_settings(&self, account: &AccountId) -> Result<Option<WebhookSettings>> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let row = conn
                    .prepare_cached(
                        "SELECT urls, events, headers, secret FROM webhook_settings
                         WHERE account_id = ?1",
                    )
                    .map_err(map_err)?
                    .query_row(params![account.as_str()], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    })
                    .optional()
                    .map_err(map_err)?;
                row.map(|(urls, events, headers, secret)| {
                    Ok(WebhookSettings {
                        urls: list_from_db(&urls)?,
                        events: list_from_db(&events)?,
                        headers: headers_from_db(&headers)?,
                        secret,
                    })
                })
                .transpose()
            })
            .await
    }

    async fn set_webhook_settings(
        &self,
        account: &AccountId,
        settings: &WebhookSettings,
    ) -> Result<()> {
        settings.validate()?;
        let (account, settings) = (account.clone(), settings.clone());
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                require_account(&tx, account.as_str())?;
                tx.execute(
                    "INSERT INTO webhook_settings (account_id, urls, events, headers, secret, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (account_id) DO UPDATE SET urls = excluded.urls,
                         events = excluded.events, headers = excluded.headers,
                         secret = excluded.secret, updated_at = excluded.updated_at",
                    params![
                        account.as_str(),
                        list_to_db(&settings.urls),
                        list_to_db(&settings.events),
                        headers_to_db(&settings.headers),
                        settings.secret,
                        now_millis()
                    ],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn webhook_cursor(&self) -> Result<i64> {
        self.pool
            .run(|conn| {
                conn.query_row("SELECT seq FROM webhook_cursor WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .map_err(map_err)
            })
            .await
    }

    async fn plan_deliveries(
        &self,
        from_seq: i64,
        to_seq: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool> {
        for d in deliveries {
            d.validate()?;
        }
        if to_seq < from_seq {
            return Err(StoreError::InvalidInput(format!(
                "the cursor cannot move back from {from_seq} to {to_seq}"
            )));
        }
        let deliveries = deliveries.to_vec();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                let moved = tx
                    .execute(
                        "UPDATE webhook_cursor SET seq = ?2 WHERE id = 1 AND seq = ?1",
                        params![from_seq, to_seq],
                    )
                    .map_err(map_err)?;
                if moved == 0 {
                    return Ok(false);
                }
                let now = now_millis();
                {
                    let mut insert = tx
                        .prepare_cached(
                            "INSERT INTO webhook_deliveries (id, event_seq, account_id, url, headers,
                                 secret, state, attempts, next_attempt_at, retry_from, created_at,
                                 updated_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?8, ?8, ?8)
                             ON CONFLICT (id) DO NOTHING",
                        )
                        .map_err(map_err)?;
                    for d in &deliveries {
                        insert
                            .execute(params![
                                d.id,
                                d.event_seq,
                                d.account.as_str(),
                                d.url,
                                headers_to_db(&d.headers),
                                d.secret,
                                to_millis(d.next_attempt_at),
                                now
                            ])
                            .map_err(map_err)?;
                    }
                }
                tx.commit().map_err(map_err)?;
                Ok(true)
            })
            .await
    }

    async fn claim_due_deliveries(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        let (now, lease) = (to_millis(now), to_millis(lease_until));
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                let rows = {
                    let mut stmt = tx
                        .prepare_cached(&format!(
                            "SELECT {DELIVERY_COLUMNS}, e.payload, d.headers, d.secret
                             FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
                             WHERE d.state = 'pending' AND d.next_attempt_at <= ?1
                             ORDER BY d.next_attempt_at, d.event_seq LIMIT ?2"
                        ))
                        .map_err(map_err)?;
                    stmt.query_map(params![now, limit], |r| {
                        Ok((
                            read_delivery(r)?,
                            r.get::<_, String>(13)?,
                            r.get::<_, String>(14)?,
                            r.get::<_, Option<String>>(15)?,
                        ))
                    })
                    .map_err(map_err)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(map_err)?
                };
                let mut due = Vec::with_capacity(rows.len());
                {
                    let mut lease_stmt = tx
                        .prepare_cached(
                            "UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE id = ?1",
                        )
                        .map_err(map_err)?;
                    for (mut row, payload, headers, secret) in rows {
                        lease_stmt
                            .execute(params![row.id, lease])
                            .map_err(map_err)?;
                        row.next_attempt_at = Some(lease);
                        due.push(DueDelivery {
                            delivery: row.into_delivery()?,
                            payload,
                            headers: headers_from_db(&headers)?,
                            secret,
                        });
                    }
                }
                tx.commit().map_err(map_err)?;
                Ok(due)
            })
            .await
    }

    async fn record_delivery_attempts(&self, attempts: &[DeliveryAttempt]) -> Result<()> {
        let attempts = attempts.to_vec();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                let now = now_millis();
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?2,
                                 next_attempt_at = ?3, last_status = ?4,
                                 last_error = ?5, updated_at = ?6
                             WHERE id = ?1 AND state = 'pending' AND attempts = ?7 - 1",
                        )
                        .map_err(map_err)?;
                    for a in &attempts {
                        let (state, next, error) = attempt_columns(&a.outcome);
                        stmt.execute(params![a.id, state, next, a.status, error, now, a.number])
                            .map_err(map_err)?;
                    }
                }
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        query.validate()?;
        let query = query.clone();
        self.pool
            .run(move |conn| {
                let account = query.account.as_ref().map(|a| a.as_str().to_owned());
                let state = query.state.map(DeliveryState::as_str);
                conn.prepare_cached(&select(
                    "WHERE (?1 IS NULL OR d.account_id = ?1) AND (?2 IS NULL OR d.state = ?2)
                     ORDER BY d.created_at DESC, d.id DESC LIMIT ?3 OFFSET ?4",
                ))
                .map_err(map_err)?
                .query_map(
                    params![account, state, query.limit, query.offset],
                    read_delivery,
                )
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?
                .into_iter()
                .map(DeliveryRow::into_delivery)
                .collect()
            })
            .await
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        let id = id.to_owned();
        self.pool.run(move |conn| delivery_by_id(conn, &id)).await
    }

    async fn replay_delivery(&self, id: &str, now: SystemTime) -> Result<Option<Delivery>> {
        let (id, now) = (id.to_owned(), to_millis(now));
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                let Some(current) = delivery_by_id(&tx, &id)? else {
                    return Ok(None);
                };
                if current.state != DeliveryState::Dead {
                    return Err(StoreError::InvalidInput(format!(
                        "delivery `{id}` is {}, only dead deliveries are replayed",
                        current.state.as_str()
                    )));
                }
                tx.execute(
                    "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?2,
                         retry_from = ?2, updated_at = ?2
                     WHERE id = ?1",
                    params![id, now],
                )
                .map_err(map_err)?;
                let replayed = delivery_by_id(&tx, &id)?;
                tx.commit().map_err(map_err)?;
                Ok(replayed)
            })
            .await
    }

    async fn count_deliveries(&self, state: DeliveryState) -> Result<u64> {
        self.pool
            .run(move |conn| {
                conn.query_row(
                    "SELECT COUNT(*) FROM webhook_deliveries WHERE state = ?1",
                    params![state.as_str()],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(map_err)
            })
            .await
    }
}
