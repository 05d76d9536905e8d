//! PostgreSQL: messages and chats — reads, and the multi-row inserts, chat upserts and
//! receipts a commit (or an enqueue) performs.

use std::collections::HashSet;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{PostgresStore, exec, get, query};
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
pub(super) fn read_message(row: &Row) -> Result<MessageRow> {
    Ok(MessageRow {
        chat: get(row, 0)?,
        sender: get(row, 1)?,
        id: get(row, 2)?,
        from_me: get(row, 3)?,
        timestamp: get(row, 4)?,
        kind: get(row, 5)?,
        text: get(row, 6)?,
        has_media: get(row, 7)?,
        mimetype: get(row, 8)?,
        direct_path: get(row, 9)?,
        media_key: get(row, 10)?,
        file_sha256: get(row, 11)?,
        file_enc_sha256: get(row, 12)?,
        file_length: get(row, 13)?,
        file_name: get(row, 14)?,
        stored_key: get(row, 15)?,
        content: get(row, 16)?,
        push_name: get(row, 17)?,
        status: get(row, 18)?,
        created_at: get(row, 19)?,
        updated_at: get(row, 20)?,
    })
}

/// Runs a built query.
pub(super) async fn query_select(client: &impl GenericClient, select: &Select) -> Result<Vec<Row>> {
    let params: Vec<&(dyn ToSql + Sync)> = select
        .params()
        .iter()
        .map(|p| match p {
            Param::Text(s) => s as &(dyn ToSql + Sync),
            Param::Int(n) => n as &(dyn ToSql + Sync),
            Param::Bool(b) => b as &(dyn ToSql + Sync),
        })
        .collect();
    query(client, select.sql(), &params).await
}

/// Inserts messages in one statement, leaving existing ones alone; returns whether
/// each was new. Keys must be unique within `records` (the plan sees to it).
pub(super) async fn insert(
    tx: &impl GenericClient,
    account: &str,
    records: &[MessageRecord<'_>],
    now: i64,
) -> Result<Vec<bool>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    macro_rules! column {
        ($field:ident) => {
            records.iter().map(|r| r.$field).collect::<Vec<_>>()
        };
    }
    let text_folded: Vec<Option<&str>> = records.iter().map(|r| r.text_folded.as_deref()).collect();
    let sql = format!(
        "INSERT INTO messages ({INSERT_COLUMNS})
         SELECT $1::text, t.chat, t.sender, t.id, t.from_me, t.ts, t.kind, t.text, t.text_folded,
                t.has_media, t.mimetype, t.direct_path, t.media_key, t.file_sha256,
                t.file_enc_sha256, t.file_length, t.file_name, t.stored_key, t.content,
                t.push_name, t.status, $22::bigint, $22::bigint
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bool[], $6::bigint[], $7::text[],
                     $8::text[], $9::text[], $10::bool[], $11::text[], $12::text[],
                     $13::bytea[], $14::bytea[], $15::bytea[], $16::bigint[], $17::text[],
                     $18::text[], $19::bytea[], $20::text[], $21::text[])
              WITH ORDINALITY AS t(chat, sender, id, from_me, ts, kind, text, text_folded,
                                   has_media, mimetype, direct_path, media_key, file_sha256,
                                   file_enc_sha256, file_length, file_name, stored_key,
                                   content, push_name, status, ord)
         ORDER BY t.ord
         ON CONFLICT DO NOTHING
         RETURNING chat, sender, id"
    );
    let rows = query(
        tx,
        &sql,
        &[
            &account,
            &column!(chat),
            &column!(sender),
            &column!(id),
            &column!(from_me),
            &column!(timestamp),
            &column!(kind),
            &column!(text),
            &text_folded,
            &column!(has_media),
            &column!(mimetype),
            &column!(direct_path),
            &column!(media_key),
            &column!(file_sha256),
            &column!(file_enc_sha256),
            &column!(file_length),
            &column!(file_name),
            &column!(stored_key),
            &column!(content),
            &column!(push_name),
            &column!(status),
            &now,
        ],
    )
    .await?;
    let new = rows
        .iter()
        .map(|r| Ok((get::<&str>(r, 0)?, get::<&str>(r, 1)?, get::<&str>(r, 2)?)))
        .collect::<Result<HashSet<_>>>()?;
    Ok(records
        .iter()
        .map(|r| new.contains(&(r.chat, r.sender, r.id)))
        .collect())
}

/// Applies chat upserts in one statement: newest time, count added, a name only
/// where none is known.
pub(super) async fn upsert_chats(
    tx: &impl GenericClient,
    account: &str,
    deltas: &[ChatDelta],
) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let jids: Vec<&str> = deltas.iter().map(|d| d.jid.as_str()).collect();
    let names: Vec<Option<&str>> = deltas.iter().map(|d| d.name.as_deref()).collect();
    let folded: Vec<Option<&str>> = deltas.iter().map(|d| d.name_folded.as_deref()).collect();
    let times: Vec<i64> = deltas.iter().map(|d| d.last_message_at).collect();
    let added: Vec<i64> = deltas.iter().map(|d| d.added).collect();
    exec(
        tx,
        "INSERT INTO chats (account_id, jid, name, name_folded, last_message_at, message_count)
         SELECT $1::text, t.jid, t.name, t.folded, t.at, t.added
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
              AS t(jid, name, folded, at, added)
         ON CONFLICT (account_id, jid) DO UPDATE SET
             name = COALESCE(chats.name, EXCLUDED.name),
             name_folded = COALESCE(chats.name_folded, EXCLUDED.name_folded),
             last_message_at = GREATEST(chats.last_message_at, EXCLUDED.last_message_at),
             message_count = chats.message_count + EXCLUDED.message_count",
        &[&account, &jids, &names, &folded, &times, &added],
    )
    .await?;
    Ok(())
}

/// Applies revokes and edits to the stored messages they name, in order.
pub(super) async fn apply_edits(
    tx: &impl GenericClient,
    account: &str,
    edits: &[MessageEdit],
    now: i64,
) -> Result<()> {
    for e in edits {
        match e.text() {
            None => {
                exec(
                    tx,
                    "UPDATE messages SET kind = $5, text = NULL, text_folded = NULL,
                         content = ''::bytea, updated_at = GREATEST(updated_at, $6)
                     WHERE account_id = $1 AND chat = $2 AND id = $3 AND sender = $4",
                    &[&account, &e.chat, &e.id, &e.sender, &REVOKED_KIND, &now],
                )
                .await?;
            }
            Some((text, folded)) => {
                exec(
                    tx,
                    "UPDATE messages SET text = $5, text_folded = $6,
                         updated_at = GREATEST(updated_at, $7)
                     WHERE account_id = $1 AND chat = $2 AND id = $3 AND sender = $4
                       AND kind <> $8",
                    &[
                        &account,
                        &e.chat,
                        &e.id,
                        &e.sender,
                        &text,
                        &folded,
                        &now,
                        &REVOKED_KIND,
                    ],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Moves our outgoing messages' status forward, never back: one statement per receipt.
pub(super) async fn apply_receipts(
    tx: &impl GenericClient,
    account: &str,
    receipts: &[ReceiptStep<'_>],
    now: i64,
) -> Result<()> {
    for r in receipts {
        exec(
            tx,
            "UPDATE messages SET status = $4, updated_at = GREATEST(updated_at, $5)
             WHERE account_id = $1 AND chat = $2 AND id = ANY($3) AND from_me
               AND status = ANY($6)",
            &[&account, &r.chat, &r.ids, &r.status, &now, &r.overtaken],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl MessageStore for PostgresStore {
    async fn message_exists(
        &self,
        account: &AccountId,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<bool> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT 1 FROM messages
             WHERE account_id = $1 AND chat = $2 AND id = $3 AND sender = $4",
            &[&account.as_str(), &chat, &id, &sender],
        )
        .await?;
        Ok(!rows.is_empty())
    }

    async fn get_message(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
    ) -> Result<Option<StoredMessage>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {SELECT_COLUMNS} FROM messages m
                 WHERE m.account_id = $1 AND m.chat = $2 AND m.id = $3
                 ORDER BY m.from_me DESC, m.seq LIMIT 1"
            ),
            &[&account.as_str(), &chat, &id],
        )
        .await?;
        rows.first()
            .map(|r| read_message(r)?.into_stored(account))
            .transpose()
    }

    async fn find_message(&self, account: &AccountId, id: &str) -> Result<Option<StoredMessage>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {SELECT_COLUMNS} FROM messages m
                 WHERE m.account_id = $1 AND m.id = $2
                 ORDER BY m.from_me DESC, m.timestamp DESC, m.seq DESC LIMIT 1"
            ),
            &[&account.as_str(), &id],
        )
        .await?;
        rows.first()
            .map(|r| read_message(r)?.into_stored(account))
            .transpose()
    }

    async fn list_messages(
        &self,
        account: &AccountId,
        query: &MessageQuery,
    ) -> Result<Vec<StoredMessage>> {
        query.validate()?;
        let select = query.to_sql(account, Dialect::Postgres);
        let client = self.client().await?;
        query_select(&client, &select)
            .await?
            .iter()
            .map(|r| read_message(r)?.into_stored(account))
            .collect()
    }

    async fn list_chats(&self, account: &AccountId, query: &ChatQuery) -> Result<Vec<Chat>> {
        query.validate()?;
        let select = query.to_sql(account, Dialect::Postgres);
        let client = self.client().await?;
        query_select(&client, &select)
            .await?
            .iter()
            .map(|r| {
                chat_from_db((
                    get(r, 0)?,
                    get(r, 1)?,
                    get(r, 2)?,
                    get(r, 3)?,
                    get(r, 4)?,
                    get(r, 5)?,
                ))
            })
            .collect()
    }

    async fn set_media_stored_key(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
        stored_key: &str,
    ) -> Result<()> {
        validate::required("media stored key", stored_key, MAX_TEXT_LEN)?;
        let client = self.client().await?;
        let n = exec(
            &client,
            "UPDATE messages SET stored_key = $4, has_media = TRUE,
                 updated_at = GREATEST(updated_at, $5)
             WHERE account_id = $1 AND chat = $2 AND id = $3",
            &[&account.as_str(), &chat, &id, &stored_key, &now_millis()],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::not_found("message", id));
        }
        Ok(())
    }

    async fn count_messages(&self, account: &AccountId) -> Result<u64> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT COUNT(*) FROM messages WHERE account_id = $1",
            &[&account.as_str()],
        )
        .await?;
        Ok(get::<i64>(&rows[0], 0)? as u64)
    }
}
