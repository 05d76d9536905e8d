#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod account;
mod device;
mod error;
mod migrations;
pub mod postgres;
mod settings;
pub mod sqlite;
mod time;
mod uri;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::sync::Arc;

pub use account::{
    Account, AccountId, AccountPatch, AccountStatus, AccountStore, MAX_ACCOUNT_ID_LEN,
    MAX_TEXT_LEN, NewAccount,
};
pub use device::{
    DeviceCredentials, DeviceStore, MAX_CREDENTIALS_LEN, MAX_PREKEY_ID, StoredPreKey,
};
pub use error::{Result, StoreError};
pub use migrations::SCHEMA_VERSION;
pub use postgres::PostgresStore;
pub use settings::{MAX_SETTING_KEY_LEN, SettingsStore};
pub use sqlite::SqliteStore;
pub use uri::{
    DEFAULT_BUSY_TIMEOUT, DEFAULT_POSTGRES_POOL_SIZE, DEFAULT_SQLITE_POOL_SIZE, DatabaseUri,
    PostgresOptions, SqliteLocation, SqliteOptions, redact,
};

/// Everything the connector keeps durably, one sub-trait per concern.
///
/// Device credentials and pre-keys are here ([`DeviceStore`]); later issues add
/// sub-traits (Signal sessions and sender keys, contacts, chats, messages, outbox,
/// inbox) to this bound; each backend then implements them next to its migrations. Code holds a [`DynStore`].
pub trait Store: AccountStore + SettingsStore + DeviceStore {
    /// The backend's tag (`"sqlite"`, `"postgres"`), for logs and diagnostics.
    fn kind(&self) -> &'static str;
}

/// The traits to import so store methods can be called on a [`DynStore`].
pub mod prelude {
    pub use crate::{AccountStore, DeviceStore, SettingsStore, Store};
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
