//! App-state sync (WhatsApp's "syncd") per account: the sync keys the primary phone
//! shared with this device, and per collection the version, the LT-hash and the map
//! of every live record's index MAC to its value MAC. The map is what lets the next
//! patch that overwrites or removes a record take the old value out of the LT-hash,
//! so it must move with the version in one transaction ([`AppStateStore::save_app_state`]).
//!
//! Also the flags those mutations set on stored chats and messages (pinned, archived,
//! starred). Bytes are opaque here: wa-proto computes and checks every MAC.
//! Logging out ([`DeviceStore::delete_device`](crate::DeviceStore::delete_device))
//! deletes the keys and the collection states: they belong to the linked device.

use async_trait::async_trait;

use crate::account::{AccountId, MAX_TEXT_LEN};
use crate::error::{Result, StoreError};
use crate::validate;

/// Longest accepted app-state sync key id, in bytes (WhatsApp's are 6).
pub const MAX_APP_STATE_KEY_ID_LEN: usize = 64;
/// Longest accepted app-state sync key material, in bytes (WhatsApp's are 32).
pub const MAX_APP_STATE_KEY_DATA_LEN: usize = 1024;
/// Length of a collection's LT-hash.
pub const APP_STATE_HASH_LEN: usize = 128;
/// Length of an index or value MAC.
pub const APP_STATE_MAC_LEN: usize = 32;
/// Longest accepted collection name (`critical_unblock_low` is 20).
pub const MAX_COLLECTION_NAME_LEN: usize = 64;

/// The tables [`DeviceStore::delete_device`](crate::DeviceStore::delete_device) empties
/// for the account.
pub(crate) const APP_STATE_TABLES: [&str; 3] =
    ["app_state_keys", "app_state_versions", "app_state_macs"];

/// One app-state sync key as the phone shared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppStateKey {
    /// The id patches name it by.
    pub id: Vec<u8>,
    /// The key material.
    pub data: Vec<u8>,
    /// When the phone created it (ms since the epoch); the newest encodes our patches.
    pub created_at: i64,
}

/// A collection's stored state: what wa-proto's `CollectionState` is rebuilt from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStateCollection {
    /// The version the collection is at.
    pub version: u64,
    /// The LT-hash ([`APP_STATE_HASH_LEN`] bytes).
    pub hash: Vec<u8>,
    /// Index MAC -> value MAC of every live record, ordered by index MAC.
    pub value_macs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// What applying patches (or a snapshot) changed in one collection, saved at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStateSave {
    /// The collection (`regular_high`, …).
    pub collection: String,
    /// The version reached.
    pub version: u64,
    /// The LT-hash at that version.
    pub hash: Vec<u8>,
    /// Drop every stored MAC first (a snapshot replaces the whole collection).
    pub replace: bool,
    /// Index MAC -> value MAC to insert or overwrite.
    pub set: Vec<(Vec<u8>, Vec<u8>)>,
    /// Index MACs whose records were removed.
    pub removed: Vec<Vec<u8>>,
}

impl AppStateSave {
    /// Rejects what would leave an unusable state behind, before anything is written.
    pub(crate) fn validate(&self) -> Result<()> {
        validate_collection(&self.collection)?;
        version_to_db(self.version)?;
        validate::exact("LT-hash", Some(&self.hash), APP_STATE_HASH_LEN)?;
        for (index, value) in &self.set {
            validate::exact("index MAC", Some(index), APP_STATE_MAC_LEN)?;
            validate::exact("value MAC", Some(value), APP_STATE_MAC_LEN)?;
        }
        for index in &self.removed {
            validate::exact("index MAC", Some(index), APP_STATE_MAC_LEN)?;
        }
        Ok(())
    }
}

/// App-state keys, collection states and the chat/message flags mutations set.
#[async_trait]
pub trait AppStateStore: Send + Sync {
    /// Inserts or replaces shared sync keys (by id).
    async fn put_app_state_keys(&self, account: &AccountId, keys: &[AppStateKey]) -> Result<()>;

    /// The key with this id, to verify and decrypt a patch that names it.
    async fn app_state_key(&self, account: &AccountId, id: &[u8]) -> Result<Option<AppStateKey>>;

    /// The newest key (by creation time, then id): the one our patches are encoded with.
    async fn latest_app_state_key(&self, account: &AccountId) -> Result<Option<AppStateKey>>;

    /// A collection's state; `None` before its first sync.
    async fn load_app_state(
        &self,
        account: &AccountId,
        collection: &str,
    ) -> Result<Option<AppStateCollection>>;

    /// Saves a collection's new version, LT-hash and MAC changes in one transaction.
    async fn save_app_state(&self, account: &AccountId, save: &AppStateSave) -> Result<()>;

    /// Pins or unpins a stored chat; `false` when the chat is not stored.
    async fn set_chat_pinned(&self, account: &AccountId, chat: &str, pinned: bool) -> Result<bool>;

    /// Archives or unarchives a stored chat; `false` when the chat is not stored.
    async fn set_chat_archived(
        &self,
        account: &AccountId,
        chat: &str,
        archived: bool,
    ) -> Result<bool>;

    /// Stars or unstars the stored messages with this id in this chat; `false` when
    /// there is none.
    async fn set_message_starred(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
        starred: bool,
    ) -> Result<bool>;

    /// The ids of a chat's starred messages, newest first.
    async fn starred_messages(&self, account: &AccountId, chat: &str) -> Result<Vec<String>>;
}

/// A collection name: 1 to [`MAX_COLLECTION_NAME_LEN`] bytes, no NUL.
pub(crate) fn validate_collection(collection: &str) -> Result<()> {
    validate::required("collection", collection, MAX_COLLECTION_NAME_LEN)
}

/// Sync keys: a non-empty id and key material within bounds.
pub(crate) fn validate_keys(keys: &[AppStateKey]) -> Result<()> {
    for k in keys {
        validate::blob("app-state key id", &k.id, MAX_APP_STATE_KEY_ID_LEN)?;
        validate::blob("app-state key data", &k.data, MAX_APP_STATE_KEY_DATA_LEN)?;
    }
    Ok(())
}

/// A chat and message id as mutations name them.
pub(crate) fn validate_message(chat: &str, id: &str) -> Result<()> {
    validate::jid("chat", chat)?;
    validate::required("message id", id, MAX_TEXT_LEN)
}

/// A version as both backends store it (a signed 64-bit integer).
pub(crate) fn version_to_db(version: u64) -> Result<i64> {
    i64::try_from(version).map_err(|_| {
        StoreError::InvalidInput(format!("app-state version {version} is out of range"))
    })
}

/// A stored version; negative is corruption.
pub(crate) fn version_from_db(version: i64) -> Result<u64> {
    u64::try_from(version).map_err(|_| StoreError::Corrupt(format!("app-state version {version}")))
}
