//! PostgreSQL: app-state sync keys, collection states and the flags mutations set.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::{PostgresStore, exec, get, map_err, query};
use crate::account::AccountId;
use crate::app_state::{
    AppStateCollection, AppStateKey, AppStateSave, AppStateStore, validate_collection,
    validate_keys, validate_message, version_from_db, version_to_db,
};
use crate::error::Result;
use crate::validate;

fn to_key(r: &Row) -> Result<AppStateKey> {
    Ok(AppStateKey {
        id: get(r, 0)?,
        data: get(r, 1)?,
        created_at: get(r, 2)?,
    })
}

impl PostgresStore {
    /// Sets one flag column of a stored chat; whether the chat exists.
    async fn set_chat_flag(
        &self,
        account: &AccountId,
        chat: &str,
        sql: &'static str,
        on: bool,
    ) -> Result<bool> {
        validate::jid("chat", chat)?;
        let client = self.client().await?;
        Ok(exec(&client, sql, &[&account.as_str(), &chat, &on]).await? > 0)
    }
}

#[async_trait]
impl AppStateStore for PostgresStore {
    async fn put_app_state_keys(&self, account: &AccountId, keys: &[AppStateKey]) -> Result<()> {
        validate_keys(keys)?;
        if keys.is_empty() {
            return Ok(());
        }
        let ids: Vec<&[u8]> = keys.iter().map(|k| k.id.as_slice()).collect();
        let data: Vec<&[u8]> = keys.iter().map(|k| k.data.as_slice()).collect();
        let times: Vec<i64> = keys.iter().map(|k| k.created_at).collect();
        let client = self.client().await?;
        exec(
            &client,
            "INSERT INTO app_state_keys (account_id, key_id, key_data, created_at)
             SELECT DISTINCT ON (t.key_id) $1::text, t.key_id, t.key_data, t.created_at
             FROM UNNEST($2::bytea[], $3::bytea[], $4::bigint[])
                  WITH ORDINALITY AS t(key_id, key_data, created_at, n)
             ORDER BY t.key_id, t.n DESC
             ON CONFLICT (account_id, key_id) DO UPDATE SET
                 key_data = EXCLUDED.key_data, created_at = EXCLUDED.created_at",
            &[&account.as_str(), &ids, &data, &times],
        )
        .await?;
        Ok(())
    }

    async fn app_state_key(&self, account: &AccountId, id: &[u8]) -> Result<Option<AppStateKey>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT key_id, key_data, created_at FROM app_state_keys
             WHERE account_id = $1 AND key_id = $2",
            &[&account.as_str(), &id],
        )
        .await?
        .first()
        .map(to_key)
        .transpose()
    }

    async fn latest_app_state_key(&self, account: &AccountId) -> Result<Option<AppStateKey>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT key_id, key_data, created_at FROM app_state_keys
             WHERE account_id = $1 ORDER BY created_at DESC, key_id DESC LIMIT 1",
            &[&account.as_str()],
        )
        .await?
        .first()
        .map(to_key)
        .transpose()
    }

    async fn load_app_state(
        &self,
        account: &AccountId,
        collection: &str,
    ) -> Result<Option<AppStateCollection>> {
        validate_collection(collection)?;
        let mut client = self.client().await?;
        // One snapshot for both reads, so a concurrent save is seen whole or not at all.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(map_err)?;
        let head = query(
            &tx,
            "SELECT version, hash FROM app_state_versions
             WHERE account_id = $1 AND collection = $2",
            &[&account.as_str(), &collection],
        )
        .await?;
        let Some(head) = head.first() else {
            return Ok(None);
        };
        let value_macs = query(
            &tx,
            "SELECT index_mac, value_mac FROM app_state_macs
             WHERE account_id = $1 AND collection = $2 ORDER BY index_mac",
            &[&account.as_str(), &collection],
        )
        .await?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect::<Result<Vec<_>>>()?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(AppStateCollection {
            version: version_from_db(get(head, 0)?)?,
            hash: get(head, 1)?,
            value_macs,
        }))
    }

    async fn save_app_state(&self, account: &AccountId, save: &AppStateSave) -> Result<()> {
        save.validate()?;
        let version = version_to_db(save.version)?;
        let (a, c) = (account.as_str(), save.collection.as_str());
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        exec(
            &tx,
            "INSERT INTO app_state_versions (account_id, collection, version, hash)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, collection) DO UPDATE SET
                 version = EXCLUDED.version, hash = EXCLUDED.hash",
            &[&a, &c, &version, &save.hash],
        )
        .await?;
        if save.replace {
            exec(
                &tx,
                "DELETE FROM app_state_macs WHERE account_id = $1 AND collection = $2",
                &[&a, &c],
            )
            .await?;
        }
        if !save.removed.is_empty() {
            let removed: Vec<&[u8]> = save.removed.iter().map(Vec::as_slice).collect();
            exec(
                &tx,
                "DELETE FROM app_state_macs
                 WHERE account_id = $1 AND collection = $2 AND index_mac = ANY($3::bytea[])",
                &[&a, &c, &removed],
            )
            .await?;
        }
        if !save.set.is_empty() {
            let index: Vec<&[u8]> = save.set.iter().map(|(i, _)| i.as_slice()).collect();
            let value: Vec<&[u8]> = save.set.iter().map(|(_, v)| v.as_slice()).collect();
            // The last write to an index wins, as it does applied one by one.
            exec(
                &tx,
                "INSERT INTO app_state_macs (account_id, collection, index_mac, value_mac)
                 SELECT DISTINCT ON (t.index_mac) $1::text, $2::text, t.index_mac, t.value_mac
                 FROM UNNEST($3::bytea[], $4::bytea[]) WITH ORDINALITY AS t(index_mac, value_mac, n)
                 ORDER BY t.index_mac, t.n DESC
                 ON CONFLICT (account_id, collection, index_mac) DO UPDATE SET
                     value_mac = EXCLUDED.value_mac",
                &[&a, &c, &index, &value],
            )
            .await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn set_chat_pinned(&self, account: &AccountId, chat: &str, pinned: bool) -> Result<bool> {
        self.set_chat_flag(
            account,
            chat,
            "UPDATE chats SET pinned = $3 WHERE account_id = $1 AND jid = $2",
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
            "UPDATE chats SET archived = $3 WHERE account_id = $1 AND jid = $2",
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
        let client = self.client().await?;
        let n = exec(
            &client,
            "UPDATE messages SET starred = $4 WHERE account_id = $1 AND chat = $2 AND id = $3",
            &[&account.as_str(), &chat, &id, &starred],
        )
        .await?;
        Ok(n > 0)
    }

    async fn starred_messages(&self, account: &AccountId, chat: &str) -> Result<Vec<String>> {
        validate::jid("chat", chat)?;
        let client = self.client().await?;
        query(
            &client,
            "SELECT id FROM messages
             WHERE account_id = $1 AND chat = $2 AND starred
             ORDER BY timestamp DESC, seq DESC",
            &[&account.as_str(), &chat],
        )
        .await?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }
}
