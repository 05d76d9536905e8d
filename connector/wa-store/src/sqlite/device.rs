//! SQLite: device credentials and pre-keys.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{SqliteStore, load_account, map_err, unique_violation};
use crate::account::{AccountId, AccountStatus};
use crate::app_state::APP_STATE_TABLES;
use crate::device::{
    DeviceCredentials, DeviceStore, MAX_PREKEY_ID, StoredPreKey, private_from_db,
    validate_prekey_id,
};
use crate::error::{Result, StoreError};
use crate::signal::SIGNAL_TABLES;
use crate::time::now_millis;

fn next_id_after(max: u32) -> u32 {
    if max >= MAX_PREKEY_ID { 1 } else { max + 1 }
}

fn require_device(conn: &rusqlite::Connection, account: &str) -> Result<u32> {
    let next: Option<i64> = conn
        .query_row(
            "SELECT next_prekey_id FROM device_credentials WHERE account_id = ?1",
            [account],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    match next {
        Some(n) => crate::device::next_prekey_id_from_db(n),
        None => Err(StoreError::not_found("device credentials", account)),
    }
}

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn save_device(
        &self,
        account: &AccountId,
        credentials: &DeviceCredentials,
        jid: Option<&str>,
    ) -> Result<()> {
        crate::device::validate_save(credentials, jid)?;
        let (account, credentials, jid) =
            (account.clone(), credentials.clone(), jid.map(str::to_owned));
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                load_account(&tx, account.as_str())?;
                let now = now_millis();
                tx.execute(
                    "INSERT INTO device_credentials (account_id, format, data, updated_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (account_id) DO UPDATE SET format = excluded.format,
                         data = excluded.data, updated_at = excluded.updated_at",
                    params![account.as_str(), credentials.format, credentials.data, now],
                )
                .map_err(map_err)?;
                if let Some(jid) = &jid {
                    tx.execute(
                        "UPDATE accounts SET jid = ?2, status = ?3, updated_at = MAX(updated_at, ?4)
                         WHERE id = ?1",
                        params![account.as_str(), jid, AccountStatus::Active.as_str(), now],
                    )
                    .map_err(|e| match unique_violation(&e) {
                        Some(_) => StoreError::conflict("account jid", jid.as_str()),
                        None => map_err(e),
                    })?;
                }
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn load_device(&self, account: &AccountId) -> Result<Option<DeviceCredentials>> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let row: Option<(i64, Vec<u8>)> = conn
                    .query_row(
                        "SELECT format, data FROM device_credentials WHERE account_id = ?1",
                        [account.as_str()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(map_err)?;
                row.map(|(format, data)| {
                    Ok(DeviceCredentials {
                        format: u32::try_from(format).map_err(|_| {
                            StoreError::Corrupt(format!("credentials format {format}"))
                        })?,
                        data,
                    })
                })
                .transpose()
            })
            .await
    }

    async fn delete_device(&self, account: &AccountId) -> Result<bool> {
        let account = account.clone();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                load_account(&tx, account.as_str())?;
                // Pre-keys go with the credentials (ON DELETE CASCADE); the Signal
                // state goes too, messages, chats, contacts and events stay.
                let n = tx
                    .execute(
                        "DELETE FROM device_credentials WHERE account_id = ?1",
                        [account.as_str()],
                    )
                    .map_err(map_err)?;
                for table in SIGNAL_TABLES.iter().chain(&APP_STATE_TABLES) {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE account_id = ?1"),
                        [account.as_str()],
                    )
                    .map_err(map_err)?;
                }
                tx.execute(
                    "UPDATE accounts SET jid = NULL, status = ?2, updated_at = MAX(updated_at, ?3)
                     WHERE id = ?1",
                    params![
                        account.as_str(),
                        AccountStatus::LoggedOut.as_str(),
                        now_millis()
                    ],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                Ok(n > 0)
            })
            .await
    }

    async fn save_prekeys(&self, account: &AccountId, keys: &[StoredPreKey]) -> Result<()> {
        for k in keys {
            validate_prekey_id(k.id)?;
        }
        let (account, keys) = (account.clone(), keys.to_vec());
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                let mut next = require_device(&tx, account.as_str())?;
                let now = now_millis();
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT INTO prekeys (account_id, key_id, private, uploaded, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )
                        .map_err(map_err)?;
                    for k in &keys {
                        stmt.execute(params![
                            account.as_str(),
                            k.id,
                            k.private.as_slice(),
                            k.uploaded,
                            now
                        ])
                        .map_err(|e| match unique_violation(&e) {
                            Some(_) => StoreError::conflict("pre-key", k.id.to_string()),
                            None => map_err(e),
                        })?;
                        if k.id >= next {
                            next = next_id_after(k.id);
                        }
                    }
                }
                tx.execute(
                    "UPDATE device_credentials SET next_prekey_id = ?2 WHERE account_id = ?1",
                    params![account.as_str(), next],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn mark_prekeys_uploaded(&self, account: &AccountId, ids: &[u32]) -> Result<()> {
        let (account, ids) = (account.clone(), ids.to_vec());
        self.pool
            .run(move |conn| {
                let tx = conn.transaction().map_err(map_err)?;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "UPDATE prekeys SET uploaded = 1 WHERE account_id = ?1 AND key_id = ?2",
                        )
                        .map_err(map_err)?;
                    for id in ids {
                        stmt.execute(params![account.as_str(), id])
                            .map_err(map_err)?;
                    }
                }
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn get_prekey(&self, account: &AccountId, id: u32) -> Result<Option<StoredPreKey>> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let row: Option<(Vec<u8>, bool)> = conn
                    .query_row(
                        "SELECT private, uploaded FROM prekeys WHERE account_id = ?1 AND key_id = ?2",
                        params![account.as_str(), id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(map_err)?;
                row.map(|(private, uploaded)| {
                    Ok(StoredPreKey {
                        id,
                        private: private_from_db(private)?,
                        uploaded,
                    })
                })
                .transpose()
            })
            .await
    }

    async fn remove_prekey(&self, account: &AccountId, id: u32) -> Result<bool> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let n = conn
                    .execute(
                        "DELETE FROM prekeys WHERE account_id = ?1 AND key_id = ?2",
                        params![account.as_str(), id],
                    )
                    .map_err(map_err)?;
                Ok(n > 0)
            })
            .await
    }

    async fn next_prekey_id(&self, account: &AccountId) -> Result<u32> {
        let account = account.clone();
        self.pool
            .run(move |conn| require_device(conn, account.as_str()))
            .await
    }

    async fn count_prekeys(&self, account: &AccountId) -> Result<u64> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let n: i64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM prekeys WHERE account_id = ?1",
                        [account.as_str()],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                Ok(n as u64)
            })
            .await
    }
}
