//! SQLite: messages and chats — reads, and the inserts, chat upserts and receipts a
//! commit (or an enqueue) performs.

use async_trait::async_trait;
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{SqliteStore, map_err};
use crate::account::{AccountId, MAX_TEXT_LEN};
use crate::changes::ReceiptStep;
use crate::error::{Result, StoreError};
use crate::message::{
    Chat, ChatDelta, ChatQuery, INSERT_COLUMNS, MessageQuery, MessageRecord, MessageRow,
    MessageStore, SELECT_COLUMNS, StoredMessage, chat_from_db,
};
use crate::message_edit::{MessageEdit, REVOKED_KIND};
use crate::query::{Dialect, Param, Select};
use crate::time::now_millis;
use crate::validate;

/// Reads [`SELECT_COLUMNS`] from the start of a row.
pub(super) fn read_message(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        chat: row.get(0)?,
        sender: row.get(1)?,
        id: row.get(2)?,
        from_me: row.get(3)?,
        timestamp: row.get(4)?,
        kind: row.get(5)?,
        text: row.get(6)?,
        has_media: row.get(7)?,
        mimetype: row.get(8)?,
        direct_path: row.get(9)?,
        media_key: row.get(10)?,
        file_sha256: row.get(11)?,
        file_enc_sha256: row.get(12)?,
        file_length: row.get(13)?,
        file_name: row.get(14)?,
        stored_key: row.get(15)?,
        content: row.get(16)?,
        push_name: row.get(17)?,
        status: row.get(18)?,
        created_at: row.get(19)?,
        updated_at: row.get(20)?,
    })
}

/// Runs a built query; `read` converts each row.
pub(super) fn query_select<T>(
    conn: &Connection,
    select: &Select,
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let params: Vec<&dyn ToSql> = select
        .params()
        .iter()
        .map(|p| match p {
            Param::Text(s) => s as &dyn ToSql,
            Param::Int(n) => n as &dyn ToSql,
            Param::Bool(b) => b as &dyn ToSql,
        })
        .collect();
    conn.prepare_cached(select.sql())
        .map_err(map_err)?
        .query_map(params.as_slice(), read)
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<T>>>()
        .map_err(map_err)
}

/// Inserts messages, leaving existing ones alone; returns whether each was new.
pub(super) fn insert<'a>(
    tx: &Transaction<'_>,
    account: &str,
    records: impl IntoIterator<Item = MessageRecord<'a>>,
    now: i64,
) -> Result<Vec<bool>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO messages ({INSERT_COLUMNS}) VALUES
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
              ?19, ?20, ?21, ?22, ?22)
             ON CONFLICT DO NOTHING"
        ))
        .map_err(map_err)?;
    records
        .into_iter()
        .map(|r| {
            let n = stmt
                .execute(params![
                    account,
                    r.chat,
                    r.sender,
                    r.id,
                    r.from_me,
                    r.timestamp,
                    r.kind,
                    r.text,
                    r.text_folded,
                    r.has_media,
                    r.mimetype,
                    r.direct_path,
                    r.media_key,
                    r.file_sha256,
                    r.file_enc_sha256,
                    r.file_length,
                    r.file_name,
                    r.stored_key,
                    r.content,
                    r.push_name,
                    r.status,
                    now
                ])
                .map_err(map_err)?;
            Ok(n > 0)
        })
        .collect()
}

/// Applies chat upserts: newest time, count added, a name only where none is known.
pub(super) fn upsert_chats(
    tx: &Transaction<'_>,
    account: &str,
    deltas: &[ChatDelta],
) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO chats (account_id, jid, name, name_folded, last_message_at, message_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (account_id, jid) DO UPDATE SET
                 name = COALESCE(chats.name, excluded.name),
                 name_folded = COALESCE(chats.name_folded, excluded.name_folded),
                 last_message_at = MAX(chats.last_message_at, excluded.last_message_at),
                 message_count = chats.message_count + excluded.message_count",
        )
        .map_err(map_err)?;
    for d in deltas {
        stmt.execute(params![
            account,
            d.jid,
            d.name,
            d.name_folded,
            d.last_message_at,
            d.added
        ])
        .map_err(map_err)?;
    }
    Ok(())
}

/// Applies revokes and edits to the stored messages they name, in order.
pub(super) fn apply_edits(
    tx: &Transaction<'_>,
    account: &str,
    edits: &[MessageEdit],
    now: i64,
) -> Result<()> {
    for e in edits {
        match e.text() {
            None => tx
                .prepare_cached(
                    "UPDATE messages SET kind = ?5, text = NULL, text_folded = NULL,
                         content = X'', updated_at = MAX(updated_at, ?6)
                     WHERE account_id = ?1 AND chat = ?2 AND id = ?3 AND sender = ?4",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![account, e.chat, e.id, e.sender, REVOKED_KIND, now])
                }),
            Some((text, folded)) => tx
                .prepare_cached(
                    "UPDATE messages SET text = ?5, text_folded = ?6,
                         updated_at = MAX(updated_at, ?7)
                     WHERE account_id = ?1 AND chat = ?2 AND id = ?3 AND sender = ?4
                       AND kind <> ?8",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        account,
                        e.chat,
                        e.id,
                        e.sender,
                        text,
                        folded,
                        now,
                        REVOKED_KIND
                    ])
                }),
        }
        .map_err(map_err)?;
    }
    Ok(())
}

/// Moves our outgoing messages' status forward, never back.
pub(super) fn apply_receipts(
    tx: &Transaction<'_>,
    account: &str,
    receipts: &[ReceiptStep<'_>],
    now: i64,
) -> Result<()> {
    for r in receipts {
        // The overtaken statuses are the store's own constants, never caller text.
        let overtaken = r
            .overtaken
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = tx
            .prepare_cached(&format!(
                "UPDATE messages SET status = ?4, updated_at = MAX(updated_at, ?5)
                 WHERE account_id = ?1 AND chat = ?2 AND id = ?3 AND from_me = 1
                   AND status IN ({overtaken})"
            ))
            .map_err(map_err)?;
        for id in r.ids {
            stmt.execute(params![account, r.chat, id, r.status, now])
                .map_err(map_err)?;
        }
    }
    Ok(())
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn message_exists(
        &self,
        account: &AccountId,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<bool> {
        let (account, chat, sender, id) = (
            account.clone(),
            chat.to_owned(),
            sender.to_owned(),
            id.to_owned(),
        );
        self.pool
            .run(move |conn| {
                conn.prepare_cached(
                    "SELECT 1 FROM messages
                     WHERE account_id = ?1 AND chat = ?2 AND id = ?3 AND sender = ?4",
                )
                .map_err(map_err)?
                .exists(params![account.as_str(), chat, id, sender])
                .map_err(map_err)
            })
            .await
    }

    async fn get_message(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
    ) -> Result<Option<StoredMessage>> {
        let (account, chat, id) = (account.clone(), chat.to_owned(), id.to_owned());
        self.pool
            .run(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {SELECT_COLUMNS} FROM messages m
                     WHERE m.account_id = ?1 AND m.chat = ?2 AND m.id = ?3
                     ORDER BY m.from_me DESC, m.seq LIMIT 1"
                ))
                .map_err(map_err)?
                .query_row(params![account.as_str(), chat, id], read_message)
                .optional()
                .map_err(map_err)?
                .map(|row| row.into_stored(&account))
                .transpose()
            })
            .await
    }

    async fn find_message(&self, account: &AccountId, id: &str) -> Result<Option<StoredMessage>> {
        let (account, id) = (account.clone(), id.to_owned());
        self.pool
            .run(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {SELECT_COLUMNS} FROM messages m
                     WHERE m.account_id = ?1 AND m.id = ?2
                     ORDER BY m.from_me DESC, m.timestamp DESC, m.seq DESC LIMIT 1"
                ))
                .map_err(map_err)?
                .query_row(params![account.as_str(), id], read_message)
                .optional()
                .map_err(map_err)?
                .map(|row| row.into_stored(&account))
                .transpose()
            })
            .await
    }

    async fn list_messages(
        &self,
        account: &AccountId,
        query: &MessageQuery,
    ) -> Result<Vec<StoredMessage>> {
        query.validate()?;
        let select = query.to_sql(account, Dialect::Sqlite);
        let account = account.clone();
        self.pool
            .run(move |conn| {
                query_select(conn, &select, read_message)?
                    .into_iter()
                    .map(|row| row.into_stored(&account))
                    .collect()
            })
            .await
    }

    async fn list_chats(&self, account: &AccountId, query: &ChatQuery) -> Result<Vec<Chat>> {
        query.validate()?;
        let select = query.to_sql(account, Dialect::Sqlite);
        self.pool
            .run(move |conn| {
                query_select(conn, &select, |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?
                .into_iter()
                .map(chat_from_db)
                .collect()
            })
            .await
    }

    async fn set_media_stored_key(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
        stored_key: &str,
    ) -> Result<()> {
        validate::required("media stored key", stored_key, MAX_TEXT_LEN)?;
        let (account, chat, id, key) = (
            account.clone(),
            chat.to_owned(),
            id.to_owned(),
            stored_key.to_owned(),
        );
        self.pool
            .run(move |conn| {
                let n = conn
                    .execute(
                        "UPDATE messages SET stored_key = ?4, has_media = 1,
                             updated_at = MAX(updated_at, ?5)
                         WHERE account_id = ?1 AND chat = ?2 AND id = ?3",
                        params![account.as_str(), chat, id, key, now_millis()],
                    )
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::not_found("message", id));
                }
                Ok(())
            })
            .await
    }

    async fn count_messages(&self, account: &AccountId) -> Result<u64> {
        let account = account.clone();
        self.pool
            .run(move |conn| {
                let n: i64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM messages WHERE account_id = ?1",
                        [account.as_str()],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                Ok(n as u64)
            })
            .await
    }
}
