//! PostgreSQL: webhook settings, the planning cursor and deliveries. Claims
//! skip rows another connector has locked, so several may share one database.

use std::time::SystemTime;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{PostgresStore, exec, get, map_err, query, require_account};
use crate::account::AccountId;
use crate::error::{Result, StoreError};
use crate::time::{now_millis, to_millis};
use crate::webhook::{
    DELIVERY_COLUMNS, Delivery, DeliveryAttempt, DeliveryQuery, DeliveryRow, DeliveryState,
    DueDelivery, NewDelivery, WebhookSettings, WebhookStore, attempt_columns, headers_from_db,
    headers_to_db, list_from_db, list_to_db,
};

fn to_row(r: &Row) -> Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: get(r, 0)?,
        event_seq: get(r, 1)?,
        event_name: get(r, 2)?,
        account: get(r, 3)?,
        url: get(r, 4)?,
        state: get(r, 5)?,
        attempts: get(r, 6)?,
        last_status: get(r, 7)?,
        last_error: get(r, 8)?,
        next_attempt_at: get(r, 9)?,
        retry_from: get(r, 10)?,
        created_at: get(r, 11)?,
        updated_at: get(r, 12)?,
    })
}

fn select(filter: &str) -> String {
    format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq {filter}"
    )
}

async fn delivery_by_id(client: &impl GenericClient, id: &str) -> Result<Option<Delivery>> {
    let rows = query(client, &select("WHERE d.id = $1"), &[&id]).await?;
    rows.first().map(|r| to_row(r)?.into_delivery()).transpose()
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn get_webhook_settings(&self, account: &AccountId) -> Result<Option<WebhookSettings>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT urls, events, headers, secret FROM webhook_settings WHERE account_id = $1",
            &[&account.as_str()],
        )
        .await?;
        rows.first()
            .map(|r| {
                Ok(WebhookSettings {
                    urls: list_from_db(&get::<String>(r, 0)?)?,
                    events: list_from_db(&get::<String>(r, 1)?)?,
                    headers: headers_from_db(&get::<String>(r, 2)?)?,
                    secret: get(r, 3)?,
                })
            })
            .transpose()
    }

    async fn set_webhook_settings(
        &self,
        account: &AccountId,
        settings: &WebhookSettings,
    ) -> Result<()> {
        settings.validate()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        require_account(&tx, account.as_str()).await?;
        exec(
            &tx,
            "INSERT INTO webhook_settings (account_id, urls, events, headers, secret, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account_id) DO UPDATE SET urls = EXCLUDED.urls,
                 events = EXCLUDED.events, headers = EXCLUDED.headers,
                 secret = EXCLUDED.secret, updated_at = EXCLUDED.updated_at",
            &[
                &account.as_str(),
                &list_to_db(&settings.urls),
                &list_to_db(&settings.events),
                &headers_to_db(&settings.headers),
                &settings.secret,
                &now_millis(),
            ],
        )
        .await?;
        tx.commit().await.map_err(map_err)
    }

    async fn webhook_cursor(&self) -> Result<i64> {
        let client = self.client().await?;
        let rows = query(&client, "SELECT seq FROM webhook_cursor WHERE id = 1", &[]).await?;
        get(&rows[0], 0)
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        // The conditional update locks the cursor row: a second planner waits
        // here, then finds the cursor moved and writes nothing.
        let moved = exec(
            &tx,
            "UPDATE webhook_cursor SET seq = $2 WHERE id = 1 AND seq = $1",
            &[&from_seq, &to_seq],
        )
        .await?;
        if moved == 0 {
            return Ok(false);
        }
        if !deliveries.is_empty() {
            let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
            let seqs: Vec<i64> = deliveries.iter().map(|d| d.event_seq).collect();
            let accounts: Vec<&str> = deliveries.iter().map(|d| d.account.as_str()).collect();
            let urls: Vec<&str> = deliveries.iter().map(|d| d.url.as_str()).collect();
            let headers: Vec<String> = deliveries
                .iter()
                .map(|d| headers_to_db(&d.headers))
                .collect();
            let secrets: Vec<Option<&str>> =
                deliveries.iter().map(|d| d.secret.as_deref()).collect();
            let due: Vec<i64> = deliveries
                .iter()
                .map(|d| to_millis(d.next_attempt_at))
                .collect();
            exec(
                &tx,
                "INSERT INTO webhook_deliveries (id, event_seq, account_id, url, headers, secret,
                     state, attempts, next_attempt_at, retry_from, created_at, updated_at)
                 SELECT t.id, t.seq, t.account, t.url, t.headers, t.secret, 'pending', 0, t.due,
                        $8, $8, $8
                 FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::bigint[])
                      AS t(id, seq, account, url, headers, secret, due)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &ids,
                    &seqs,
                    &accounts,
                    &urls,
                    &headers,
                    &secrets,
                    &due,
                    &now_millis(),
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn claim_due_deliveries(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        let (now, lease, limit) = (to_millis(now), to_millis(lease_until), i64::from(limit));
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "WITH due AS (
                     SELECT id, next_attempt_at AS due_at FROM webhook_deliveries
                     WHERE state = 'pending' AND next_attempt_at <= $1
                     ORDER BY next_attempt_at, event_seq LIMIT $3
                     FOR UPDATE SKIP LOCKED),
                 claimed AS (
                     UPDATE webhook_deliveries w SET next_attempt_at = $2
                     FROM due WHERE w.id = due.id
                     RETURNING w.*, due.due_at)
                 SELECT {DELIVERY_COLUMNS}, e.payload, d.headers, d.secret
                 FROM claimed d JOIN events e ON e.seq = d.event_seq
                 ORDER BY d.due_at, d.event_seq"
            ),
            &[&now, &lease, &limit],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    delivery: to_row(r)?.into_delivery()?,
                    payload: get(r, 13)?,
                    headers: headers_from_db(&get::<String>(r, 14)?)?,
                    secret: get(r, 15)?,
                })
            })
            .collect()
    }

    async fn record_delivery_attempts(&self, attempts: &[DeliveryAttempt]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let now = now_millis();
        for a in attempts {
            let (state, next, error) = attempt_columns(&a.outcome);
            let status = a.status.map(i64::from);
            exec(
                &tx,
                "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $2,
                     next_attempt_at = $3, last_status = $4, last_error = $5, updated_at = $6
                 WHERE id = $1 AND state = 'pending' AND attempts = $7::BIGINT - 1",
                &[
                    &a.id,
                    &state,
                    &next,
                    &status,
                    &error,
                    &now,
                    &i64::from(a.number),
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn list_deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>> {
        q.validate()?;
        let client = self.client().await?;
        let account = q.account.as_ref().map(|a| a.as_str());
        let state = q.state.map(DeliveryState::as_str);
        let (limit, offset) = (i64::from(q.limit), i64::from(q.offset));
        let rows = query(
            &client,
            &select(
                "WHERE ($1::text IS NULL OR d.account_id = $1) AND ($2::text IS NULL OR d.state = $2)
                 ORDER BY d.created_at DESC, d.id DESC LIMIT $3 OFFSET $4",
            ),
            &[&account, &state, &limit, &offset],
        )
        .await?;
        rows.iter().map(|r| to_row(r)?.into_delivery()).collect()
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        let client = self.client().await?;
        delivery_by_id(&client, id).await
    }

    async fn replay_delivery(&self, id: &str, now: SystemTime) -> Result<Option<Delivery>> {
        let now = to_millis(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let rows = query(
            &tx,
            "SELECT state FROM webhook_deliveries WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let state: String = get(row, 0)?;
        if state != DeliveryState::Dead.as_str() {
            return Err(StoreError::InvalidInput(format!(
                "delivery `{id}` is {state}, only dead deliveries are replayed"
            )));
        }
        exec(
            &tx,
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2,
                 retry_from = $2, updated_at = $2
             WHERE id = $1",
            &[&id, &now],
        )
        .await?;
        let replayed = delivery_by_id(&tx, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(replayed)
    }

    async fn count_deliveries(&self, state: DeliveryState) -> Result<u64> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT COUNT(*)::BIGINT FROM webhook_deliveries WHERE state = $1",
            &[&state.as_str()],
        )
        .await?;
        Ok(get::<i64>(&rows[0], 0)? as u64)
    }
}
