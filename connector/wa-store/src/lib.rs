#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod account;
mod app_state;
mod changes;
mod contacts;
mod device;
mod error;
mod events;
mod message;
mod message_edit;
mod migrations;
mod outbox;
pub mod postgres;
mod query;
mod retention;
mod settings;
mod signal;
pub mod sqlite;
mod time;
mod uri;
mod validate;
mod webhook;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::sync::Arc;

pub use account::{
    Account, AccountId, AccountPatch, AccountStatus, AccountStore, MAX_ACCOUNT_ID_LEN,
    MAX_TEXT_LEN, NewAccount,
};
pub use app_state::{
    APP_STATE_HASH_LEN, APP_STATE_MAC_LEN, AppStateCollection, AppStateKey, AppStateSave,
    AppStateStore, MAX_APP_STATE_KEY_DATA_LEN, MAX_APP_STATE_KEY_ID_LEN, MAX_COLLECTION_NAME_LEN,
};
pub use changes::{ChangeStore, Changes, CommitOutcome};
pub use contacts::{Contact, ContactStore, ContactUpdate, DeviceList, MAX_DEVICES_PER_USER};
pub use device::{
    DeviceCredentials, DeviceStore, MAX_CREDENTIALS_LEN, MAX_PREKEY_ID, StoredPreKey,
};
pub use error::{Result, StoreError};
pub use events::{
    EventStore, MAX_EVENT_KIND_LEN, MAX_EVENT_PAYLOAD_LEN, MAX_EVENTS_PAGE, NewEvent, StoredEvent,
};
pub use message::{
    Chat, ChatQuery, MAX_MESSAGE_CONTENT_LEN, MAX_MESSAGE_KIND_LEN, MAX_MESSAGE_TEXT_LEN,
    MAX_PAGE_SIZE, MediaInfo, MessageQuery, MessageStatus, MessageStore, NewMessage, ReceiptUpdate,
    StoredMessage,
};
pub use message_edit::{EditKind, MessageEdit, REVOKED_KIND};
pub use migrations::SCHEMA_VERSION;
pub use outbox::{OutboxEntry, OutboxOutcome, OutboxStore, OutboxUpdate};
pub use postgres::PostgresStore;
pub use retention::{MAX_RETENTION_BATCH, Reclaimed, RetentionStore};
pub use settings::{MAX_SETTING_KEY_LEN, SettingsStore};
pub use signal::{MAX_SIGNAL_RECORD_LEN, SenderKeyId, SignalStateStore, SignalWrites};
pub use sqlite::SqliteStore;
pub use uri::{
    DEFAULT_BUSY_TIMEOUT, DEFAULT_POSTGRES_POOL_SIZE, DEFAULT_SQLITE_POOL_SIZE, DatabaseUri,
    PoolOptions, PostgresOptions, SqliteLocation, SqliteOptions, SqliteSynchronous, StoreOptions,
    redact,
};
pub use webhook::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryQuery, DeliveryState, DueDelivery,
    MAX_DELIVERIES_PAGE, MAX_WEBHOOK_HEADERS, MAX_WEBHOOK_URL_LEN, MAX_WEBHOOK_URLS, NewDelivery,
    WebhookSettings, WebhookStore,
};

/// Everything the connector keeps durably, one sub-trait per concern.
///
/// Each concern is a sub-trait implemented by every backend next to its migrations;
/// message traffic is written through the one transactional path, [`ChangeStore`].
/// Code holds a [`DynStore`].
pub trait Store:
    AccountStore
    + SettingsStore
    + DeviceStore
    + SignalStateStore
    + MessageStore
    + OutboxStore
    + EventStore
    + ContactStore
    + ChangeStore
    + WebhookStore
    + RetentionStore
    + AppStateStore
{
    /// The backend's tag (`"sqlite"`, `"postgres"`), for logs and diagnostics.
    fn kind(&self) -> &'static str;
}

/// The traits to import so store methods can be called on a [`DynStore`].
pub mod prelude {
    pub use crate::{
        AccountStore, AppStateStore, ChangeStore, ContactStore, DeviceStore, EventStore,
        MessageStore, OutboxStore, RetentionStore, SettingsStore, SignalStateStore, Store,
        WebhookStore,
    };
}

/// A store with its backend erased, shared across tasks.
pub type DynStore = Arc<dyn Store>;

// Checked at compile time: both backends implement the whole store, and it can be
// shared across threads behind `dyn`.
const _: () = {
    const fn assert_store<T: Store + Send + Sync + 'static>() {}
    assert_store::<SqliteStore>();
    assert_store::<PostgresStore>();
};

/// Opens the store a database URI names, applying pending migrations.
///
/// `file:path` / `sqlite:path` / `sqlite::memory:` select SQLite, `postgres://` /
/// `postgresql://` select PostgreSQL; anything else is [`StoreError::InvalidUri`].
pub async fn open(uri: &str) -> Result<DynStore> {
    open_parsed(DatabaseUri::parse(uri)?).await
}

/// Opens the store for an already parsed URI (lets callers adjust options first).
pub async fn open_parsed(uri: DatabaseUri) -> Result<DynStore> {
    Ok(match uri {
        DatabaseUri::Sqlite(options) => Arc::new(SqliteStore::open(options).await?),
        DatabaseUri::Postgres(options) => Arc::new(PostgresStore::open(options).await?),
    })
}
