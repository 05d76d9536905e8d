//! SQLite: contacts and cached device lists — reads, and their part of a commit.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{SqliteStore, map_err};
use crate::account::AccountId;
use crate::contacts::{Contact, ContactStore, ContactUpdate, DeviceList, decode_devices};
use crate::error::Result;
use crate::signal::unique_addresses;
use crate::time::from_millis;

/// Upserts contacts (a `None` keeps the stored value) and replaces device lists.
pub(super) fn write(
    tx: &Transaction<'_>,
    account: &str,
    contacts: &[ContactUpdate],
    device_lists: &[(&str, String, i64)],
    now: i64,
) -> Result<()> {
    if !contacts.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO contacts (account_id, jid, push_name, lid, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account_id, jid) DO UPDATE SET
                     push_name = COALESCE(excluded.push_name, contacts.push_name),
                     lid = COALESCE(excluded.lid, contacts.lid),
                     updated_at = excluded.updated_at",
            )
            .map_err(map_err)?;
        for c in contacts {
            stmt.execute(params![account, c.jid, c.push_name, c.lid, now])
                .map_err(map_err)?;
        }
    }
    if !device_lists.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO device_lists (account_id, user_jid, devices, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account_id, user_jid) DO UPDATE SET
                     devices = excluded.devices, updated_at = excluded.updated_at",
            )
            .map_err(map_err)?;
        for (user, devices, at) in device_lists {
            stmt.execute(params![account, user, devices, at])
                .map_err(map_err)?;
        }
    }
    Ok(())
}

type ContactRow = (String, Option<String>, Option<String>, i64);

fn read_contact(r: &Row<'_>) -> rusqlite::Result<ContactRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_contact((jid, push_name, lid, at): ContactRow) -> Contact {
    Contact {
        jid,
        push_name,
        lid,
        updated_at: from_millis(at),
    }
}

#[async_trait]
impl ContactStore for SqliteStore {
    async fn get_contact(&self, account: &AccountId, jid: &str) -> Result<Option<Contact>> {
        let (account, jid) = (account.clone(), jid.to_owned());
        self.pool
            .run(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT jid, push_name, lid, updated_at FROM contacts
                         WHERE account_id = ?1 AND jid = ?2",
                    )
                    .map_err(map_err)?
                    .query_row(params![account.as_str(), jid], read_contact)
                    .optional()
                    .map_err(map_err)?
                    .map(to_contact))
            })
            .await
    }

    async fn list_contacts(&self, account: &AccountId) -> Result<Vec<Contact>> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT jid, push_name, lid, updated_at FROM contacts
                         WHERE account_id = ?1 ORDER BY jid",
                    )
                    .map_err(map_err)?
                    .query_map([account.as_str()], read_contact)
                    .map_err(map_err)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(map_err)?;
                Ok(rows.into_iter().map(to_contact).collect())
            })
            .await
    }

    async fn load_device_lists(
        &self,
        account: &AccountId,
        users: &[String],
    ) -> Result<Vec<DeviceList>> {
        let (account, users) = (account.clone(), unique_addresses(users));
        self.pool
            .run(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT devices, updated_at FROM device_lists
                         WHERE account_id = ?1 AND user_jid = ?2",
                    )
                    .map_err(map_err)?;
                let mut found = Vec::new();
                for user in users {
                    let row: Option<(String, i64)> = stmt
                        .query_row(params![account.as_str(), user], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()
                        .map_err(map_err)?;
                    if let Some((devices, at)) = row {
                        found.push(DeviceList {
                            devices: decode_devices(&devices)?,
                            user,
                            updated_at: from_millis(at),
                        });
                    }
                }
                Ok(found)
            })
            .await
    }
}
