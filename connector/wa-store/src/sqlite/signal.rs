//! SQLite: Signal state reads, and the Signal part of a commit.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{SqliteStore, map_err};
use crate::account::AccountId;
use crate::changes::Plan;
use crate::error::Result;
use crate::signal::{SenderKeyId, SignalStateStore, unique_addresses};

/// Records of `table` (`address`, `column`) for those addresses that have one.
fn load_by_address(
    conn: &Connection,
    sql: &str,
    account: &str,
    addresses: &[String],
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let mut found = Vec::new();
    for address in unique_addresses(addresses) {
        let record: Option<Vec<u8>> = stmt
            .query_row(params![account, address], |r| r.get(0))
            .optional()
            .map_err(map_err)?;
        if let Some(record) = record {
            found.push((address, record));
        }
    }
    Ok(found)
}

#[async_trait]
impl SignalStateStore for SqliteStore {
    async fn load_sessions(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let (account, addresses) = (account.clone(), addresses.to_vec());
        self.pool
            .run(move |conn| {
                load_by_address(
                    conn,
                    "SELECT record FROM signal_sessions WHERE account_id = ?1 AND address = ?2",
                    account.as_str(),
                    &addresses,
                )
            })
            .await
    }

    async fn load_identities(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let (account, addresses) = (account.clone(), addresses.to_vec());
        self.pool
            .run(move |conn| {
                load_by_address(
                    conn,
                    "SELECT identity_key FROM signal_identities
                     WHERE account_id = ?1 AND address = ?2",
                    account.as_str(),
                    &addresses,
                )
            })
            .await
    }

    async fn load_sender_key(
        &self,
        account: &AccountId,
        id: &SenderKeyId,
    ) -> Result<Option<Vec<u8>>> {
        let (account, id) = (account.clone(), id.clone());
        self.pool
            .run(move |conn| {
                conn.prepare_cached(
                    "SELECT record FROM sender_keys
                     WHERE account_id = ?1 AND group_jid = ?2 AND sender = ?3",
                )
                .map_err(map_err)?
                .query_row(params![account.as_str(), id.group, id.sender], |r| r.get(0))
                .optional()
                .map_err(map_err)
            })
            .await
    }

    async fn sender_key_holders(&self, account: &AccountId, group: &str) -> Result<Vec<String>> {
        let (account, group) = (account.clone(), group.to_owned());
        self.pool
            .run(move |conn| {
                conn.prepare_cached(
                    "SELECT address FROM sender_key_holders
                     WHERE account_id = ?1 AND group_jid = ?2 ORDER BY address",
                )
                .map_err(map_err)?
                .query_map(params![account.as_str(), group], |r| r.get(0))
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(map_err)
            })
            .await
    }

    async fn delete_session(&self, account: &AccountId, address: &str) -> Result<bool> {
        let (account, address) = (account.clone(), address.to_owned());
        self.pool
            .run(move |conn| {
                conn.execute(
                    "DELETE FROM signal_sessions WHERE account_id = ?1 AND address = ?2",
                    params![account.as_str(), address],
                )
                .map(|n| n > 0)
                .map_err(map_err)
            })
            .await
    }
}

/// Writes the planned Signal state: upserts, consumed pre-keys, then holder resets
/// before the new holders.
pub(super) fn write(tx: &Transaction<'_>, account: &str, plan: &Plan<'_>, now: i64) -> Result<()> {
    let upsert = |sql: &str, rows: &[(&str, &[u8])]| -> Result<()> {
        let mut stmt = tx.prepare_cached(sql).map_err(map_err)?;
        for (address, record) in rows {
            stmt.execute(params![account, address, record, now])
                .map_err(map_err)?;
        }
        Ok(())
    };
    upsert(
        "INSERT INTO signal_sessions (account_id, address, record, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id, address) DO UPDATE
         SET record = excluded.record, updated_at = excluded.updated_at",
        &plan.sessions,
    )?;
    upsert(
        "INSERT INTO signal_identities (account_id, address, identity_key, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id, address) DO UPDATE
         SET identity_key = excluded.identity_key, updated_at = excluded.updated_at",
        &plan.identities,
    )?;
    if !plan.sender_keys.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO sender_keys (account_id, group_jid, sender, record, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account_id, group_jid, sender) DO UPDATE
                 SET record = excluded.record, updated_at = excluded.updated_at",
            )
            .map_err(map_err)?;
        for (id, record) in &plan.sender_keys {
            stmt.execute(params![account, id.group, id.sender, record, now])
                .map_err(map_err)?;
        }
    }
    if !plan.consumed_prekeys.is_empty() {
        let mut stmt = tx
            .prepare_cached("DELETE FROM prekeys WHERE account_id = ?1 AND key_id = ?2")
            .map_err(map_err)?;
        for id in &plan.consumed_prekeys {
            stmt.execute(params![account, id]).map_err(map_err)?;
        }
    }
    if !plan.holder_resets.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM sender_key_holders WHERE account_id = ?1 AND group_jid = ?2",
            )
            .map_err(map_err)?;
        for group in &plan.holder_resets {
            stmt.execute(params![account, group]).map_err(map_err)?;
        }
    }
    if !plan.holders.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO sender_key_holders (account_id, group_jid, address, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )
            .map_err(map_err)?;
        for (group, address) in &plan.holders {
            stmt.execute(params![account, group, address, now])
                .map_err(map_err)?;
        }
    }
    Ok(())
}
