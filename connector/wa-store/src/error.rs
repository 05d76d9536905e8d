//! The one error type every store operation returns.

use std::error::Error as StdError;

/// Why a store operation failed.
///
/// Callers match on the typed variants (`NotFound`, `Conflict`, `InvalidInput`) to
/// answer clients precisely; everything a backend reports that has no meaning for
/// callers arrives as [`StoreError::Backend`], with the original error as its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URI could not be understood. The URI in the message has its
    /// password redacted, so the error is safe to log.
    #[error("invalid database URI `{uri}`: {reason}")]
    InvalidUri {
        /// The URI as given, password redacted.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value passed in breaks a rule of the store (empty id, malformed JID, …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The record asked for does not exist.
    #[error("{entity} `{key}` not found")]
    NotFound {
        /// What kind of record (`"account"`, …).
        entity: &'static str,
        /// Its key.
        key: String,
    },
    /// The record would duplicate one that exists (same id, same JID, …).
    #[error("{entity} `{key}` already exists")]
    Conflict {
        /// What kind of record (`"account"`, `"account jid"`, …).
        entity: &'static str,
        /// The duplicated key.
        key: String,
    },
    /// The database was migrated by a newer binary: running an older one against it
    /// could corrupt data, so opening refuses.
    #[error(
        "database schema version {found} is newer than this binary supports ({supported}); \
         upgrade the connector"
    )]
    SchemaTooNew {
        /// Version recorded in `schema_migrations`.
        found: i64,
        /// Newest version this binary knows.
        supported: i64,
    },
    /// The database holds a value this binary cannot read (a corrupt or foreign row).
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
    /// Any other failure of the backend (I/O, connection, pool, driver).
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend's error, keeping it as the source for diagnostics.
    pub fn backend(e: impl StdError + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }

    pub(crate) fn not_found(entity: &'static str, key: impl Into<String>) -> Self {
        StoreError::NotFound {
            entity,
            key: key.into(),
        }
    }

    pub(crate) fn conflict(entity: &'static str, key: impl Into<String>) -> Self {
        StoreError::Conflict {
            entity,
            key: key.into(),
        }
    }
}

/// Short for `Result<T, StoreError>`.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
