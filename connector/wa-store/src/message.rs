//! Messages (incoming and outgoing, with what is needed to fetch their media later)
//! and the chats they belong to.
//!
//! A message is identified by `(account, chat, sender, id)`: WhatsApp ids are unique
//! per sender, and a redelivered stanza must map to the row already stored (that is
//! how "exactly once" is checked before anything is decrypted again). Chats are kept
//! up to date by the same transaction that inserts a message.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::account::{AccountId, MAX_TEXT_LEN};
use crate::error::{Result, StoreError};
use crate::query::{Dialect, Param, Select};
use crate::time::{from_millis, to_millis};
use crate::validate;

/// Where a message is in its life. Outgoing messages move forward only
/// (`Pending → Sent → Delivered → Read → Played`); a receipt never moves one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageStatus {
    /// Outgoing, committed to the outbox, not yet accepted by the server.
    Pending,
    /// Outgoing, the server acknowledged it.
    Sent,
    /// Outgoing, at least one recipient device received it.
    Delivered,
    /// Outgoing, read by the recipient.
    Read,
    /// Outgoing voice note / video played by the recipient.
    Played,
    /// Outgoing, given up on (the outbox entry's error says why).
    Failed,
    /// Incoming.
    Received,
}

impl MessageStatus {
    /// The stored spelling (also used in APIs).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Played => "played",
            MessageStatus::Failed => "failed",
            MessageStatus::Received => "received",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => MessageStatus::Pending,
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "read" => MessageStatus::Read,
            "played" => MessageStatus::Played,
            "failed" => MessageStatus::Failed,
            "received" => MessageStatus::Received,
            _ => return None,
        })
    }

    pub(crate) fn from_db(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown message status {s:?}")))
    }

    /// The rank receipts compare: a receipt applies only if it ranks higher.
    /// `Failed` and `Received` are outside the progression (rank 0 and never updated).
    pub fn progress_rank(self) -> u8 {
        match self {
            MessageStatus::Pending => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered => 3,
            MessageStatus::Read => 4,
            MessageStatus::Played => 5,
            MessageStatus::Failed | MessageStatus::Received => 0,
        }
    }
}

/// What is needed to download (and decrypt) a message's media again later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaInfo {
    /// MIME type as the sender declared it.
    pub mimetype: Option<String>,
    /// The server path of the encrypted blob.
    pub direct_path: Option<String>,
    /// The 32-byte media key (secret: derives the decryption keys).
    pub media_key: Option<Vec<u8>>,
    /// SHA-256 of the plain file.
    pub file_sha256: Option<Vec<u8>>,
    /// SHA-256 of the encrypted blob.
    pub file_enc_sha256: Option<Vec<u8>>,
    /// Plain file size in bytes.
    pub file_length: Option<u64>,
    /// Document file name, if any.
    pub file_name: Option<String>,
    /// Key of the plain file in the media store once downloaded (content-addressed).
    pub stored_key: Option<String>,
}

/// A message to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// WhatsApp's message id.
    pub id: String,
    /// The chat JID (the peer's user JID, or the group JID).
    pub chat: String,
    /// The sender's user JID (no device part); ours for outgoing messages.
    pub sender: String,
    /// Whether we sent it (from this device or another of our devices).
    pub from_me: bool,
    /// The message's timestamp (millisecond precision is kept).
    pub timestamp: SystemTime,
    /// The content kind: `text`, `image`, `audio`, `video`, `document`, `sticker`,
    /// `reaction`, `protocol`, `unknown`, … (free text, up to 32 bytes).
    pub kind: String,
    /// Text, caption or reaction emoji.
    pub text: Option<String>,
    /// Media reference, for media kinds.
    pub media: Option<MediaInfo>,
    /// The decrypted `Message` protobuf, as received or sent.
    pub content: Vec<u8>,
    /// The sender's push name, if the stanza carried one.
    pub push_name: Option<String>,
    /// Initial status (`Received` for incoming, `Pending` for outbox entries, `Sent`
    /// for our other devices' sends).
    pub status: MessageStatus,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The account it belongs to.
    pub account: AccountId,
    /// Everything it was inserted with (status as of now).
    pub message: NewMessage,
    /// When it was stored.
    pub created_at: SystemTime,
    /// When its status (or media key) last changed.
    pub updated_at: SystemTime,
}

/// A receipt to apply to our own outgoing messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptUpdate {
    /// The chat the messages were sent to.
    pub chat: String,
    /// The message ids the receipt names.
    pub ids: Vec<String>,
    /// `Delivered`, `Read` or `Played`; applied only where it moves status forward.
    pub status: MessageStatus,
}

/// A chat: one per peer or group that a message was stored for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// The chat JID.
    pub jid: String,
    /// Display name (a contact's push name or a group subject), if known.
    pub name: Option<String>,
    /// Timestamp of the newest message.
    pub last_message_at: SystemTime,
    /// How many messages are stored for it.
    pub message_count: u64,
    /// Pinned to the top of the chat list (app-state `pin_v1`).
    pub pinned: bool,
    /// Archived (app-state `archive`).
    pub archived: bool,
}

/// Filters and pagination for [`MessageStore::list_messages`]; newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQuery {
    /// Only this chat.
    pub chat: Option<String>,
    /// Only messages strictly older than this.
    pub before: Option<SystemTime>,
    /// Only messages at or after this.
    pub since: Option<SystemTime>,
    /// Only ours (`Some(true)`) or only others' (`Some(false)`).
    pub from_me: Option<bool>,
    /// Only media messages.
    pub media_only: bool,
    /// Case-insensitive substring of the text.
    pub search: Option<String>,
    /// Page size (at most 1000).
    pub limit: u32,
    /// Rows skipped.
    pub offset: u32,
}

impl Default for MessageQuery {
    fn default() -> Self {
        MessageQuery {
            chat: None,
            before: None,
            since: None,
            from_me: None,
            media_only: false,
            search: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// Filters and pagination for [`MessageStore::list_chats`]; most recent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatQuery {
    /// Case-insensitive substring of the name or JID.
    pub search: Option<String>,
    /// Page size (at most 1000).
    pub limit: u32,
    /// Rows skipped.
    pub offset: u32,
}

impl Default for ChatQuery {
    fn default() -> Self {
        ChatQuery {
            search: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// Reading messages and chats; they are written through
/// [`ChangeStore::commit`](crate::ChangeStore::commit) and the outbox.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Whether the message is stored (checked before decrypting a stanza, so a
    /// redelivery is acknowledged without being processed twice).
    async fn message_exists(
        &self,
        account: &AccountId,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<bool>;

    /// One message, looked up by chat and id (any sender; ours first if ambiguous).
    async fn get_message(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
    ) -> Result<Option<StoredMessage>>;

    /// One message, looked up by id alone in whichever chat it is (ours first,
    /// then the newest): GOWA names only the message when forwarding it.
    async fn find_message(&self, account: &AccountId, id: &str) -> Result<Option<StoredMessage>>;

    /// Messages matching the query, newest first.
    async fn list_messages(
        &self,
        account: &AccountId,
        query: &MessageQuery,
    ) -> Result<Vec<StoredMessage>>;

    /// Chats, most recent first.
    async fn list_chats(&self, account: &AccountId, query: &ChatQuery) -> Result<Vec<Chat>>;

    /// Records where a message's downloaded plain file lives in the media store.
    /// `NotFound` if the message does not exist.
    async fn set_media_stored_key(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
        stored_key: &str,
    ) -> Result<()>;

    /// How many messages are stored for the account.
    async fn count_messages(&self, account: &AccountId) -> Result<u64>;
}

/// Longest accepted content kind, in bytes.
pub const MAX_MESSAGE_KIND_LEN: usize = 32;
/// Largest accepted `content` (the decrypted protobuf, thumbnails included), in bytes.
pub const MAX_MESSAGE_CONTENT_LEN: usize = 16 * 1024 * 1024;
/// Longest accepted message text, in bytes (no event carrying it could be larger).
pub const MAX_MESSAGE_TEXT_LEN: usize = crate::events::MAX_EVENT_PAYLOAD_LEN;
/// Most rows one page of messages or chats returns.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Length of media keys and SHA-256 hashes.
const KEY_LEN: usize = 32;

impl MessageStatus {
    const ALL: [MessageStatus; 7] = [
        MessageStatus::Pending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Played,
        MessageStatus::Failed,
        MessageStatus::Received,
    ];

    /// The stored spellings a receipt with this status may move forward: everything in
    /// the progression that ranks lower (never `Failed` or `Received`).
    pub(crate) fn overtaken(self) -> Vec<&'static str> {
        Self::ALL
            .iter()
            .filter(|s| s.progress_rank() > 0 && s.progress_rank() < self.progress_rank())
            .map(|s| s.as_str())
            .collect()
    }
}

impl MediaInfo {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::optional("media mimetype", self.mimetype.as_deref(), MAX_TEXT_LEN)?;
        validate::optional(
            "media direct path",
            self.direct_path.as_deref(),
            MAX_TEXT_LEN,
        )?;
        validate::optional("media file name", self.file_name.as_deref(), MAX_TEXT_LEN)?;
        validate::optional("media stored key", self.stored_key.as_deref(), MAX_TEXT_LEN)?;
        validate::exact("media key", self.media_key.as_deref(), KEY_LEN)?;
        validate::exact("media file SHA-256", self.file_sha256.as_deref(), KEY_LEN)?;
        validate::exact(
            "media encrypted SHA-256",
            self.file_enc_sha256.as_deref(),
            KEY_LEN,
        )?;
        if self.file_length.is_some_and(|n| i64::try_from(n).is_err()) {
            return Err(StoreError::InvalidInput(
                "media file length out of range".into(),
            ));
        }
        Ok(())
    }
}

impl NewMessage {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::required("message id", &self.id, MAX_TEXT_LEN)?;
        validate::jid("chat", &self.chat)?;
        validate::jid("sender", &self.sender)?;
        validate::required("message kind", &self.kind, MAX_MESSAGE_KIND_LEN)?;
        validate::optional("message text", self.text.as_deref(), MAX_MESSAGE_TEXT_LEN)?;
        validate::optional("push name", self.push_name.as_deref(), MAX_TEXT_LEN)?;
        if self.content.len() > MAX_MESSAGE_CONTENT_LEN {
            return Err(StoreError::InvalidInput(format!(
                "message content is larger than {MAX_MESSAGE_CONTENT_LEN} bytes"
            )));
        }
        if let Some(media) = &self.media {
            media.validate()?;
        }
        Ok(())
    }

    /// The identity a redelivery maps to.
    pub(crate) fn key(&self) -> (&str, &str, &str) {
        (&self.chat, &self.sender, &self.id)
    }
}

impl ReceiptUpdate {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::jid("receipt chat", &self.chat)?;
        for id in &self.ids {
            validate::required("receipt message id", id, MAX_TEXT_LEN)?;
        }
        if !matches!(
            self.status,
            MessageStatus::Delivered | MessageStatus::Read | MessageStatus::Played
        ) {
            return Err(StoreError::InvalidInput(format!(
                "a receipt moves a message to delivered, read or played, not {}",
                self.status.as_str()
            )));
        }
        Ok(())
    }
}

/// Case folding for search, done by the store so every backend matches alike
/// (SQLite's own `lower()` only knows ASCII).
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The insert columns of `messages`, in the order [`MessageRecord`] binds them after
/// `account_id` (`created_at` and `updated_at` both take the commit's time).
pub(crate) const INSERT_COLUMNS: &str = "account_id, chat, sender, id, from_me, timestamp, kind, \
     text, text_folded, has_media, mimetype, direct_path, media_key, file_sha256, \
     file_enc_sha256, file_length, file_name, stored_key, content, push_name, status, \
     created_at, updated_at";

/// A message flattened into the column values both backends insert.
#[derive(Debug)]
pub(crate) struct MessageRecord<'a> {
    pub chat: &'a str,
    pub sender: &'a str,
    pub id: &'a str,
    pub from_me: bool,
    pub timestamp: i64,
    pub kind: &'a str,
    pub text: Option<&'a str>,
    pub text_folded: Option<String>,
    pub has_media: bool,
    pub mimetype: Option<&'a str>,
    pub direct_path: Option<&'a str>,
    pub media_key: Option<&'a [u8]>,
    pub file_sha256: Option<&'a [u8]>,
    pub file_enc_sha256: Option<&'a [u8]>,
    pub file_length: Option<i64>,
    pub file_name: Option<&'a str>,
    pub stored_key: Option<&'a str>,
    pub content: &'a [u8],
    pub push_name: Option<&'a str>,
    pub status: &'static str,
}

impl<'a> MessageRecord<'a> {
    /// Flattens a validated message, stored with `status`.
    pub(crate) fn new(m: &'a NewMessage, status: MessageStatus) -> Self {
        let media = m.media.as_ref();
        MessageRecord {
            chat: &m.chat,
            sender: &m.sender,
            id: &m.id,
            from_me: m.from_me,
            timestamp: to_millis(m.timestamp),
            kind: &m.kind,
            text: m.text.as_deref(),
            text_folded: m.text.as_deref().map(fold),
            has_media: media.is_some(),
            mimetype: media.and_then(|x| x.mimetype.as_deref()),
            direct_path: media.and_then(|x| x.direct_path.as_deref()),
            media_key: media.and_then(|x| x.media_key.as_deref()),
            file_sha256: media.and_then(|x| x.file_sha256.as_deref()),
            file_enc_sha256: media.and_then(|x| x.file_enc_sha256.as_deref()),
            file_length: media
                .and_then(|x| x.file_length)
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            file_name: media.and_then(|x| x.file_name.as_deref()),
            stored_key: media.and_then(|x| x.stored_key.as_deref()),
            content: &m.content,
            push_name: m.push_name.as_deref(),
            status: status.as_str(),
        }
    }
}

/// The columns [`MessageRow`] reads, from `messages` aliased `m`.
pub(crate) const SELECT_COLUMNS: &str = "m.chat, m.sender, m.id, m.from_me, m.timestamp, m.kind, \
     m.text, m.has_media, m.mimetype, m.direct_path, m.media_key, m.file_sha256, \
     m.file_enc_sha256, m.file_length, m.file_name, m.stored_key, m.content, m.push_name, \
     m.status, m.created_at, m.updated_at";
/// How many columns [`SELECT_COLUMNS`] has (where a join's extra columns start).
pub(crate) const SELECT_COLUMN_COUNT: usize = 21;

/// A `messages` row as read (in [`SELECT_COLUMNS`] order), before conversion.
#[derive(Debug)]
pub(crate) struct MessageRow {
    pub chat: String,
    pub sender: String,
    pub id: String,
    pub from_me: bool,
    pub timestamp: i64,
    pub kind: String,
    pub text: Option<String>,
    pub has_media: bool,
    pub mimetype: Option<String>,
    pub direct_path: Option<String>,
    pub media_key: Option<Vec<u8>>,
    pub file_sha256: Option<Vec<u8>>,
    pub file_enc_sha256: Option<Vec<u8>>,
    pub file_length: Option<i64>,
    pub file_name: Option<String>,
    pub stored_key: Option<String>,
    pub content: Vec<u8>,
    pub push_name: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl MessageRow {
    pub(crate) fn into_stored(self, account: &AccountId) -> Result<StoredMessage> {
        let file_length = self
            .file_length
            .map(|n| u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("file length {n}"))))
            .transpose()?;
        let media = self.has_media.then_some(MediaInfo {
            mimetype: self.mimetype,
            direct_path: self.direct_path,
            media_key: self.media_key,
            file_sha256: self.file_sha256,
            file_enc_sha256: self.file_enc_sha256,
            file_length,
            file_name: self.file_name,
            stored_key: self.stored_key,
        });
        Ok(StoredMessage {
            account: account.clone(),
            message: NewMessage {
                id: self.id,
                chat: self.chat,
                sender: self.sender,
                from_me: self.from_me,
                timestamp: from_millis(self.timestamp),
                kind: self.kind,
                text: self.text,
                media,
                content: self.content,
                push_name: self.push_name,
                status: MessageStatus::from_db(&self.status)?,
            },
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
        })
    }
}

/// What inserting some messages does to one chat.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ChatDelta {
    pub jid: String,
    /// The sender's push name, for a 1:1 chat that has no name yet.
    pub name: Option<String>,
    pub name_folded: Option<String>,
    pub last_message_at: i64,
    pub added: i64,
}

/// The chat upserts for newly inserted messages, one per chat, ordered by JID (a fixed
/// lock order). A 1:1 chat is named after the latest push name its peer sent.
pub(crate) fn chat_deltas<'a>(
    inserted: impl IntoIterator<Item = &'a NewMessage>,
) -> Vec<ChatDelta> {
    let mut chats: BTreeMap<&str, ChatDelta> = BTreeMap::new();
    for m in inserted {
        let at = to_millis(m.timestamp);
        let delta = chats.entry(&m.chat).or_insert_with(|| ChatDelta {
            jid: m.chat.clone(),
            name: None,
            name_folded: None,
            last_message_at: at,
            added: 0,
        });
        delta.last_message_at = delta.last_message_at.max(at);
        delta.added += 1;
        if let Some(name) = m.push_name.as_ref().filter(|_| m.chat == m.sender) {
            delta.name_folded = Some(fold(name));
            delta.name = Some(name.clone());
        }
    }
    chats.into_values().collect()
}

impl MessageQuery {
    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(chat) = &self.chat {
            validate::jid("chat", chat)?;
        }
        validate::optional("search", self.search.as_deref(), MAX_TEXT_LEN)
    }

    /// The query as SQL for `dialect`, newest first, with its parameters.
    pub(crate) fn to_sql(&self, account: &AccountId, dialect: Dialect) -> Select {
        let mut q = Select::new(dialect, &format!("SELECT {SELECT_COLUMNS} FROM messages m"));
        q.and(
            "m.account_id = {}",
            Param::Text(account.as_str().to_owned()),
        );
        if let Some(chat) = &self.chat {
            q.and("m.chat = {}", Param::Text(chat.clone()));
        }
        if let Some(before) = self.before {
            q.and("m.timestamp < {}", Param::Int(to_millis(before)));
        }
        if let Some(since) = self.since {
            q.and("m.timestamp >= {}", Param::Int(to_millis(since)));
        }
        if let Some(from_me) = self.from_me {
            q.and("m.from_me = {}", Param::Bool(from_me));
        }
        if self.media_only {
            q.and("m.has_media = {}", Param::Bool(true));
        }
        if let Some(search) = self.search.as_deref().filter(|s| !s.is_empty()) {
            q.and(
                &dialect.contains("m.text_folded"),
                Param::Text(fold(search)),
            );
        }
        q.page("m.timestamp DESC, m.seq DESC", self.limit, self.offset);
        q
    }
}

impl ChatQuery {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::optional("search", self.search.as_deref(), MAX_TEXT_LEN)
    }

    /// The query as SQL for `dialect`, most recent first, with its parameters.
    pub(crate) fn to_sql(&self, account: &AccountId, dialect: Dialect) -> Select {
        let mut q = Select::new(
            dialect,
            "SELECT jid, name, last_message_at, message_count, pinned, archived FROM chats",
        );
        q.and("account_id = {}", Param::Text(account.as_str().to_owned()));
        if let Some(search) = self.search.as_deref().filter(|s| !s.is_empty()) {
            let (name, jid) = (
                dialect.contains("name_folded"),
                dialect.contains("lower(jid)"),
            );
            let folded = fold(search);
            q.and(&format!("({name} OR {jid})"), Param::Text(folded));
        }
        q.page("last_message_at DESC, jid", self.limit, self.offset);
        q
    }
}

/// A stored chat row: `(jid, name, last_message_at, message_count, pinned, archived)`.
pub(crate) type ChatRow = (String, Option<String>, i64, i64, bool, bool);

/// Converts a stored chat; negative counts are corruption.
pub(crate) fn chat_from_db(
    (jid, name, last_message_at, count, pinned, archived): ChatRow,
) -> Result<Chat> {
    Ok(Chat {
        pinned,
        archived,
        jid,
        name,
        last_message_at: from_millis(last_message_at),
        message_count: u64::try_from(count)
            .map_err(|_| StoreError::Corrupt(format!("chat message count {count}")))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn msg(chat: &str, sender: &str, at: u64, push: Option<&str>) -> NewMessage {
        NewMessage {
            id: format!("{chat}-{at}"),
            chat: chat.into(),
            sender: sender.into(),
            from_me: false,
            timestamp: UNIX_EPOCH + Duration::from_millis(at),
            kind: "text".into(),
            text: None,
            media: None,
            content: vec![],
            push_name: push.map(Into::into),
            status: MessageStatus::Received,
        }
    }

    #[test]
    fn receipts_overtake_only_lower_ranks() {
        assert_eq!(MessageStatus::Delivered.overtaken(), ["pending", "sent"]);
        assert_eq!(
            MessageStatus::Played.overtaken(),
            ["pending", "sent", "delivered", "read"]
        );
        assert!(MessageStatus::Pending.overtaken().is_empty());
    }

    #[test]
    fn chat_deltas_count_and_name_one_to_one_chats() {
        let ms = [
            msg("b@s", "b@s", 5, Some("Bé")),
            msg("g@g.us", "c@s", 9, Some("Cee")),
            msg("b@s", "b@s", 3, None),
        ];
        let d = chat_deltas(&ms);
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].jid.as_str(), d[0].added, d[0].last_message_at),
            ("b@s", 2, 5)
        );
        assert_eq!(d[0].name.as_deref(), Some("Bé"));
        assert_eq!(d[0].name_folded.as_deref(), Some("bé"));
        assert_eq!((d[1].name.as_deref(), d[1].added), (None, 1));
    }
}
