//! SQLite: app-state sync keys, collection states and the flags mutations set.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{SqliteStore, map_err};
use crate::account::AccountId;
use crate::app_state::{
    AppStateCollection, AppStateKey, AppStateSave, AppStateStore, validate_collection,
    validate_keys, validate_message, version_from_db, version_to_db,
};
use crate::error::Result;
use crate::validate;

fn read_key(r: &Row<'_>) -> rusqlite::Result<AppStateKey> {
    Ok(AppStateKey {
        id: r.get(0)?,
        data: r.get(1)?,
        created_at: r.get(2)?,
    })
}

impl SqliteStore {
    /// Sets one flag column of a stored chat; whether the chat exists.
    async fn set_chat_flag(
        &self,
        account: &AccountId,
        chat: &str,
        sql: &'static str,
        on: bool,
    ) -> Result<bool> {
        validate::jid("chat", chat)?;
        let (account, chat) = (account.clone(), chat.to_owned());
        self.pool
            .run(move |conn| {
                let n = conn
                    .prepare_cached(sql)
                    .map_err(map_err)?
                    .execute(params![account.as_str(), chat, on])
                    .map_err(map_err)?;
                Ok(n > 0)
            })
            .await
    }
}

#[async_trait]
impl AppStateStore for SqliteStore {
    async fn put_app_state_keys(&self, account: &AccountId, keys: &[AppStateKey]) -> Result<()> {
        validate_keys(keys)?;
        let (account, keys) = (account.clone(), keys.to_vec());
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT INTO app_state_keys (account_id, key_id, key_data, created_at)
                             VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (account_id, key_id) DO UPDATE SET
                                 key_data = excluded.key_data, created_at = excluded.created_at",
                        )
                        .map_err(map_err)?;
                    for k in &keys {
                        stmt.execute(params![account.as_str(), k.id, k.data, k.created_at])
                            .map_err(map_err)?;
                    }
                }
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn app_state_key(&self, account: &AccountId, id: &[u8]) -> Result<Option<AppStateKey>> {
        let (account, id) = (account.clone(), id.to_vec());
        self.pool
            .run(move |conn| {
                conn.prepare_cached(
                    "SELECT key_id, key_data, created_at FROM app_state_keys
                     WHERE account_id = ?1 AND key_id = ?2",
                )
                .map_err(map_err)?
                .query_row(params![account.as_str(), id], read_key)
                .optional()
                .map_err(map_err)
            })
            .await
    }

    async fn latest_app_state_key(&self, account: &AccountId) -> Result<Option<AppStateKey>> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                conn.prepare_cached(
                    "SELECT key_id, key_data, created_at FROM app_state_keys
                     WHERE account_id = ?1 ORDER BY created_at DESC, key_id DESC LIMIT 1",
                )
                .map_err(map_err)?
                .query_row([account.as_str()], read_key)
                .optional()
                .map_err(map_err)
            })
            .await
    }

    async fn load_app_state(
        &self,
        account: &AccountId,
        collection: &str,
    ) -> Result<Option<AppStateCollection>> {
        validate_collection(collection)?;
        let (account, collection) = (account.clone(), collection.to_owned());
        self.pool
            .run(move |conn| {
                let tx = conn.transaction().map_err(map_err)?;
                let head: Option<(i64, Vec<u8>)> = tx
                    .prepare_cached(
                        "SELECT version, hash FROM app_state_versions
                         WHERE account_id = ?1 AND collection = ?2",
                    )
                    .map_err(map_err)?
                    .query_row(params![account.as_str(), collection], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(map_err)?;
                let Some((version, hash)) = head else {
                    return Ok(None);
                };
                let value_macs = tx
                    .prepare_cached(
                        "SELECT index_mac, value_mac FROM app_state_macs
                         WHERE account_id = ?1 AND collection = ?2 ORDER BY index_mac",
                    )
                    .map_err(map_err)?
                    .query_map(params![account.as_str(), collection], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .map_err(map_err)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(map_err)?;
                Ok(Some(AppStateCollection {
                    version: version_from_db(version)?,
                    hash,
                    value_macs,
                }))
            })
            .await
    }

    async fn save_app_state(&self, account: &AccountId, save: &AppStateSave) -> Result<()> {
        save.validate()?;
        let version = version_to_db(save.version)?;
        let (account, save) = (account.clone(), save.clone());
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                let (a, c) = (account.as_str(), save.collection.as_str());
                tx.prepare_cached(
                    "INSERT INTO app_state_versions (account_id, collection, version, hash)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (account_id, collection) DO UPDATE SET
                         version = excluded.version, hash = excluded.hash",
                )
                .map_err(map_err)?
                .execute(params![a, c, version, save.hash])
                .map_err(map_err)?;
                if save.replace {
                    tx.prepare_cached(
                        "DELETE FROM app_state_macs WHERE account_id = ?1 AND collection = ?2",
                    )
                    .map_err(map_err)?
                    .execute(params![a, c])
                    .map_err(map_err)?;
                }
                {
                    let mut remove = tx
                        .prepare_cached(
                            "DELETE FROM app_state_macs
                             WHERE account_id = ?1 AND collection = ?2 AND index_mac = ?3",
                        )
                        .map_err(map_err)?;
                    for index in &save.removed {
                        remove.execute(params![a, c, index]).map_err(map_err)?;
                    }
                    let mut set = tx
                        .prepare_cached(
                            "INSERT INTO app_state_macs (account_id, collection, index_mac, value_mac)
                             VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (account_id, collection, index_mac) DO UPDATE SET
                                 value_mac = excluded.value_mac",
                        )
                        .map_err(map_err)?;
                    for (index, value) in &save.set {
                        set.execute(params![a, c, index, value]).map_err(map_err)?;
                    }
                }
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn set_chat_pinned(&self, account: &AccountId, chat: &str, pinned: bool) -> Result<bool> {
        self.set_chat_flag(
            account,
            chat,
            "UPDATE chats SET pinned = ?3 WHERE account_id = ?1 AND jid = ?2",
            pinned,
        )
        .await
    }

    async fn set_chat_archived(
        &self,
        account: &AccountId,
        chat: &str,
        archived: bool,
    ) -> Result<bool> {
        self.set_chat_flag(
            account,
            chat,
            "UPDATE chats SET archived = ?3 WHERE account_id = ?1 AND jid = ?2",
            archived,
        )
        .await
    }

    async fn set_message_starred(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
        starred: bool,
    ) -> Result<bool> {
        validate_message(chat, id)?;
        let (account, chat, id) = (account.clone(), chat.to_owned(), id.to_owned());
        self.pool
            .run(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE messages SET starred = ?4
                         WHERE account_id = ?1 AND chat = ?2 AND id = ?3",
                    )
                    .map_err(map_err)?
                    .execute(params![account.as_str(), chat, id, starred])
                    .map_err(map_err)?;
                Ok(n > 0)
            })
            .await
    }

    async fn starred_messages(&self, account: &AccountId, chat: &str) -> Result<Vec<String>> {
        validate::jid("chat", chat)?;
        let (account, chat) = (account.clone(), chat.to_owned());
        self.pool
            .run(move |conn| {
                conn.prepare_cached(
                    "SELECT id FROM messages
                     WHERE account_id = ?1 AND chat = ?2 AND starred
                     ORDER BY timestamp DESC, seq DESC",
                )
                .map_err(map_err)?
                .query_map(params![account.as_str(), chat], |r| r.get(0))
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(map_err)
            })
            .await
    }
}
