//! PostgreSQL: device credentials and pre-keys.

use async_trait::async_trait;

use super::{PostgresStore, map_err, unique_violation};
use crate::account::{AccountId, AccountStatus};
use crate::app_state::APP_STATE_TABLES;
use crate::device::{
    DeviceCredentials, DeviceStore, MAX_PREKEY_ID, StoredPreKey, private_from_db,
    validate_prekey_id,
};
use crate::error::{Result, StoreError};
use crate::signal::SIGNAL_TABLES;
use crate::time::now_millis;

fn corrupt(e: tokio_postgres::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn next_id_after(max: u32) -> u32 {
    if max >= MAX_PREKEY_ID { 1 } else { max + 1 }
}

async fn account_exists(
    client: &impl deadpool_postgres::GenericClient,
    account: &str,
) -> Result<()> {
    let row = client
        .query_opt(
            "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE",
            &[&account],
        )
        .await
        .map_err(map_err)?;
    match row {
        Some(_) => Ok(()),
        None => Err(StoreError::not_found("account", account)),
    }
}

async fn require_device(
    client: &impl deadpool_postgres::GenericClient,
    account: &str,
    lock: bool,
) -> Result<u32> {
    let sql = if lock {
        "SELECT next_prekey_id FROM device_credentials WHERE account_id = $1 FOR UPDATE"
    } else {
        "SELECT next_prekey_id FROM device_credentials WHERE account_id = $1"
    };
    let row = client.query_opt(sql, &[&account]).await.map_err(map_err)?;
    match row {
        Some(row) => {
            let n: i64 = row.try_get(0).map_err(corrupt)?;
            crate::device::next_prekey_id_from_db(n)
        }
        None => Err(StoreError::not_found("device credentials", account)),
    }
}

#[async_trait]
impl DeviceStore for PostgresStore {
    async fn save_device(
        &self,
        account: &AccountId,
        credentials: &DeviceCredentials,
        jid: Option<&str>,
    ) -> Result<()> {
        crate::device::validate_save(credentials, jid)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        account_exists(&tx, account.as_str()).await?;
        let now = now_millis();
        let format = i32::try_from(credentials.format)
            .map_err(|_| StoreError::InvalidInput("credentials format out of range".into()))?;
        tx.execute(
            "INSERT INTO device_credentials (account_id, format, data, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id) DO UPDATE SET format = EXCLUDED.format,
                 data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
            &[&account.as_str(), &format, &credentials.data, &now],
        )
        .await
        .map_err(map_err)?;
        if let Some(jid) = jid {
            tx.execute(
                "UPDATE accounts SET jid = $2, status = $3, updated_at = GREATEST(updated_at, $4)
                 WHERE id = $1",
                &[
                    &account.as_str(),
                    &jid,
                    &AccountStatus::Active.as_str(),
                    &now,
                ],
            )
            .await
            .map_err(|e| match unique_violation(&e) {
                Some(_) => StoreError::conflict("account jid", jid),
                None => map_err(e),
            })?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn load_device(&self, account: &AccountId) -> Result<Option<DeviceCredentials>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT format, data FROM device_credentials WHERE account_id = $1",
                &[&account.as_str()],
            )
            .await
            .map_err(map_err)?;
        row.map(|row| {
            let format: i32 = row.try_get(0).map_err(corrupt)?;
            Ok(DeviceCredentials {
                format: u32::try_from(format)
                    .map_err(|_| StoreError::Corrupt(format!("credentials format {format}")))?,
                data: row.try_get(1).map_err(corrupt)?,
            })
        })
        .transpose()
    }

    async fn delete_device(&self, account: &AccountId) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        account_exists(&tx, account.as_str()).await?;
        // Pre-keys go with the credentials (ON DELETE CASCADE); the Signal state goes
        // too, messages, chats, contacts and events stay.
        let n = tx
            .execute(
                "DELETE FROM device_credentials WHERE account_id = $1",
                &[&account.as_str()],
            )
            .await
            .map_err(map_err)?;
        for table in SIGNAL_TABLES.iter().chain(&APP_STATE_TABLES) {
            tx.execute(
                &format!("DELETE FROM {table} WHERE account_id = $1"),
                &[&account.as_str()],
            )
            .await
            .map_err(map_err)?;
        }
        tx.execute(
            "UPDATE accounts SET jid = NULL, status = $2, updated_at = GREATEST(updated_at, $3)
             WHERE id = $1",
            &[
                &account.as_str(),
                &AccountStatus::LoggedOut.as_str(),
                &now_millis(),
            ],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(n > 0)
    }

    async fn save_prekeys(&self, account: &AccountId, keys: &[StoredPreKey]) -> Result<()> {
        for k in keys {
            validate_prekey_id(k.id)?;
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let mut next = require_device(&tx, account.as_str(), true).await?;
        let now = now_millis();
        let stmt = tx
            .prepare(
                "INSERT INTO prekeys (account_id, key_id, private, uploaded, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(map_err)?;
        for k in keys {
            tx.execute(
                &stmt,
                &[
                    &account.as_str(),
                    &i64::from(k.id),
                    &k.private.as_slice(),
                    &k.uploaded,
                    &now,
                ],
            )
            .await
            .map_err(|e| match unique_violation(&e) {
                Some(_) => StoreError::conflict("pre-key", k.id.to_string()),
                None => map_err(e),
            })?;
            if k.id >= next {
                next = next_id_after(k.id);
            }
        }
        tx.execute(
            "UPDATE device_credentials SET next_prekey_id = $2 WHERE account_id = $1",
            &[&account.as_str(), &i64::from(next)],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn mark_prekeys_uploaded(&self, account: &AccountId, ids: &[u32]) -> Result<()> {
        let client = self.client().await?;
        let ids: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        client
            .execute(
                "UPDATE prekeys SET uploaded = TRUE WHERE account_id = $1 AND key_id = ANY($2)",
                &[&account.as_str(), &ids],
            )
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_prekey(&self, account: &AccountId, id: u32) -> Result<Option<StoredPreKey>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT private, uploaded FROM prekeys WHERE account_id = $1 AND key_id = $2",
                &[&account.as_str(), &i64::from(id)],
            )
            .await
            .map_err(map_err)?;
        row.map(|row| {
            Ok(StoredPreKey {
                id,
                private: private_from_db(row.try_get(0).map_err(corrupt)?)?,
                uploaded: row.try_get(1).map_err(corrupt)?,
            })
        })
        .transpose()
    }

    async fn remove_prekey(&self, account: &AccountId, id: u32) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM prekeys WHERE account_id = $1 AND key_id = $2",
                &[&account.as_str(), &i64::from(id)],
            )
            .await
            .map_err(map_err)?;
        Ok(n > 0)
    }

    async fn next_prekey_id(&self, account: &AccountId) -> Result<u32> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let next = require_device(&tx, account.as_str(), false).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(next)
    }

    async fn count_prekeys(&self, account: &AccountId) -> Result<u64> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM prekeys WHERE account_id = $1",
                &[&account.as_str()],
            )
            .await
            .map_err(map_err)?
            .try_get(0)
            .map_err(corrupt)?;
        Ok(n as u64)
    }
}
