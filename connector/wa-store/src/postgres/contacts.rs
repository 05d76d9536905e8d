//! PostgreSQL: contacts and cached device lists — reads, and their part of a commit.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{PostgresStore, exec, get, query};
use crate::account::AccountId;
use crate::contacts::{Contact, ContactStore, ContactUpdate, DeviceList, decode_devices};
use crate::error::Result;
use crate::signal::unique_addresses;
use crate::time::from_millis;

/// Upserts contacts (a `None` keeps the stored value) and replaces device lists, one
/// statement each.
pub(super) async fn write(
    tx: &impl GenericClient,
    account: &str,
    contacts: &[ContactUpdate],
    device_lists: &[(&str, String, i64)],
    now: i64,
) -> Result<()> {
    if !contacts.is_empty() {
        let jids: Vec<&str> = contacts.iter().map(|c| c.jid.as_str()).collect();
        let names: Vec<Option<&str>> = contacts.iter().map(|c| c.push_name.as_deref()).collect();
        let lids: Vec<Option<&str>> = contacts.iter().map(|c| c.lid.as_deref()).collect();
        exec(
            tx,
            "INSERT INTO contacts (account_id, jid, push_name, lid, updated_at)
             SELECT $1::text, t.jid, t.push_name, t.lid, $5::bigint
             FROM UNNEST($2::text[], $3::text[], $4::text[]) AS t(jid, push_name, lid)
             ON CONFLICT (account_id, jid) DO UPDATE SET
                 push_name = COALESCE(EXCLUDED.push_name, contacts.push_name),
                 lid = COALESCE(EXCLUDED.lid, contacts.lid),
                 updated_at = EXCLUDED.updated_at",
            &[&account, &jids, &names, &lids, &now],
        )
        .await?;
    }
    if !device_lists.is_empty() {
        let users: Vec<&str> = device_lists.iter().map(|d| d.0).collect();
        let devices: Vec<&str> = device_lists.iter().map(|d| d.1.as_str()).collect();
        let times: Vec<i64> = device_lists.iter().map(|d| d.2).collect();
        exec(
            tx,
            "INSERT INTO device_lists (account_id, user_jid, devices, updated_at)
             SELECT $1::text, t.user_jid, t.devices, t.at
             FROM UNNEST($2::text[], $3::text[], $4::bigint[]) AS t(user_jid, devices, at)
             ON CONFLICT (account_id, user_jid) DO UPDATE SET
                 devices = EXCLUDED.devices, updated_at = EXCLUDED.updated_at",
            &[&account, &users, &devices, &times],
        )
        .await?;
    }
    Ok(())
}

fn to_contact(r: &Row) -> Result<Contact> {
    Ok(Contact {
        jid: get(r, 0)?,
        push_name: get(r, 1)?,
        lid: get(r, 2)?,
        updated_at: from_millis(get(r, 3)?),
    })
}

#[async_trait]
impl ContactStore for PostgresStore {
    async fn get_contact(&self, account: &AccountId, jid: &str) -> Result<Option<Contact>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT jid, push_name, lid, updated_at FROM contacts
             WHERE account_id = $1 AND jid = $2",
            &[&account.as_str(), &jid],
        )
        .await?;
        rows.first().map(to_contact).transpose()
    }

    async fn list_contacts(&self, account: &AccountId) -> Result<Vec<Contact>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT jid, push_name, lid, updated_at FROM contacts
             WHERE account_id = $1 ORDER BY jid",
            &[&account.as_str()],
        )
        .await?;
        rows.iter().map(to_contact).collect()
    }

    async fn load_device_lists(
        &self,
        account: &AccountId,
        users: &[String],
    ) -> Result<Vec<DeviceList>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT user_jid, devices, updated_at FROM device_lists
             WHERE account_id = $1 AND user_jid = ANY($2)",
            &[&account.as_str(), &unique_addresses(users)],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeviceList {
                    user: get(r, 0)?,
                    devices: decode_devices(get(r, 1)?)?,
                    updated_at: from_millis(get(r, 2)?),
                })
            })
            .collect()
    }
}
