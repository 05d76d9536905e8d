//! PostgreSQL: Signal state reads, and the Signal part of a commit (one multi-row
//! statement per kind of record).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::{PostgresStore, exec, get, map_err, query};
use crate::account::AccountId;
use crate::changes::Plan;
use crate::error::Result;
use crate::signal::{SenderKeyId, SignalStateStore, unique_addresses};

async fn load_by_address(
    store: &PostgresStore,
    sql: &str,
    account: &AccountId,
    addresses: &[String],
) -> Result<Vec<(String, Vec<u8>)>> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let client = store.client().await?;
    let rows = query(
        &client,
        sql,
        &[&account.as_str(), &unique_addresses(addresses)],
    )
    .await?;
    rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
}

#[async_trait]
impl SignalStateStore for PostgresStore {
    async fn load_sessions(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>> {
        load_by_address(
            self,
            "SELECT address, record FROM signal_sessions
             WHERE account_id = $1 AND address = ANY($2)",
            account,
            addresses,
        )
        .await
    }

    async fn load_identities(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>> {
        load_by_address(
            self,
            "SELECT address, identity_key FROM signal_identities
             WHERE account_id = $1 AND address = ANY($2)",
            account,
            addresses,
        )
        .await
    }

    async fn load_sender_key(
        &self,
        account: &AccountId,
        id: &SenderKeyId,
    ) -> Result<Option<Vec<u8>>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT record FROM sender_keys
             WHERE account_id = $1 AND group_jid = $2 AND sender = $3",
            &[&account.as_str(), &id.group, &id.sender],
        )
        .await?;
        rows.first().map(|r| get(r, 0)).transpose()
    }

    async fn sender_key_holders(&self, account: &AccountId, group: &str) -> Result<Vec<String>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT address FROM sender_key_holders
             WHERE account_id = $1 AND group_jid = $2 ORDER BY address",
            &[&account.as_str(), &group],
        )
        .await?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    async fn delete_session(&self, account: &AccountId, address: &str) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM signal_sessions WHERE account_id = $1 AND address = $2",
                &[&account.as_str(), &address],
            )
            .await
            .map_err(map_err)?;
        Ok(n > 0)
    }
}

/// Writes the planned Signal state: upserts, consumed pre-keys, then holder resets
/// before the new holders.
pub(super) async fn write(
    tx: &impl GenericClient,
    account: &str,
    plan: &Plan<'_>,
    now: i64,
) -> Result<()> {
    for (sql, rows) in [
        (
            "INSERT INTO signal_sessions (account_id, address, record, updated_at)
             SELECT $1::text, t.address, t.record, $4::bigint
             FROM UNNEST($2::text[], $3::bytea[]) AS t(address, record)
             ON CONFLICT (account_id, address) DO UPDATE
             SET record = EXCLUDED.record, updated_at = EXCLUDED.updated_at",
            &plan.sessions,
        ),
        (
            "INSERT INTO signal_identities (account_id, address, identity_key, updated_at)
             SELECT $1::text, t.address, t.key, $4::bigint
             FROM UNNEST($2::text[], $3::bytea[]) AS t(address, key)
             ON CONFLICT (account_id, address) DO UPDATE
             SET identity_key = EXCLUDED.identity_key, updated_at = EXCLUDED.updated_at",
            &plan.identities,
        ),
    ] {
        if !rows.is_empty() {
            let (addresses, records): (Vec<&str>, Vec<&[u8]>) = rows.iter().copied().unzip();
            exec(tx, sql, &[&account, &addresses, &records, &now]).await?;
        }
    }
    if !plan.sender_keys.is_empty() {
        let groups: Vec<&str> = plan
            .sender_keys
            .iter()
            .map(|(id, _)| id.group.as_str())
            .collect();
        let senders: Vec<&str> = plan
            .sender_keys
            .iter()
            .map(|(id, _)| id.sender.as_str())
            .collect();
        let records: Vec<&[u8]> = plan.sender_keys.iter().map(|(_, r)| *r).collect();
        exec(
            tx,
            "INSERT INTO sender_keys (account_id, group_jid, sender, record, updated_at)
             SELECT $1::text, t.grp, t.sender, t.record, $5::bigint
             FROM UNNEST($2::text[], $3::text[], $4::bytea[]) AS t(grp, sender, record)
             ON CONFLICT (account_id, group_jid, sender) DO UPDATE
             SET record = EXCLUDED.record, updated_at = EXCLUDED.updated_at",
            &[&account, &groups, &senders, &records, &now],
        )
        .await?;
    }
    if !plan.consumed_prekeys.is_empty() {
        exec(
            tx,
            "DELETE FROM prekeys WHERE account_id = $1 AND key_id = ANY($2)",
            &[&account, &plan.consumed_prekeys],
        )
        .await?;
    }
    if !plan.holder_resets.is_empty() {
        exec(
            tx,
            "DELETE FROM sender_key_holders WHERE account_id = $1 AND group_jid = ANY($2)",
            &[&account, &plan.holder_resets],
        )
        .await?;
    }
    if !plan.holders.is_empty() {
        let (groups, addresses): (Vec<&str>, Vec<&str>) = plan.holders.iter().copied().unzip();
        exec(
            tx,
            "INSERT INTO sender_key_holders (account_id, group_jid, address, created_at)
             SELECT $1::text, t.grp, t.address, $4::bigint
             FROM UNNEST($2::text[], $3::text[]) AS t(grp, address)
             ON CONFLICT DO NOTHING",
            &[&account, &groups, &addresses, &now],
        )
        .await?;
    }
    Ok(())
}
