//! The one error type every media store operation returns.

use std::error::Error as StdError;

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The key breaks the key rules (empty, `..`, absolute, odd characters); it could
    /// escape the store's root or mean different things on different backends.
    #[error("invalid media key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// No blob under this key.
    #[error("media `{key}` not found")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// The store's configuration cannot work (bad part size, missing bucket, …).
    #[error("invalid media store configuration: {0}")]
    InvalidConfig(String),
    /// Reading the body handed to `put` failed; nothing was stored.
    #[error("reading the media body failed: {0}")]
    Read(#[source] std::io::Error),
    /// Any other failure of the backend (file system, network, S3 service).
    #[error("media backend error: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl MediaError {
    /// Wraps a backend's error, keeping it as the source.
    pub fn backend(e: impl StdError + Send + Sync + 'static) -> Self {
        MediaError::Backend(Box::new(e))
    }
}

/// Short for `Result<T, MediaError>`.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
