#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod error;
pub mod folder;
mod hashing;
mod key;
pub mod s3;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use error::{MediaError, Result};
pub use folder::FolderStore;
pub use hashing::HashingReader;
pub use key::{MAX_KEY_LEN, MediaKey, hex};
pub use s3::{S3Config, S3Store};

/// A blob being read: any async byte source, boxed so backends can differ.
pub type BoxReader = Pin<Box<dyn AsyncRead + Send + 'static>>;

/// Media blobs by key, streamed both ways.
///
/// Writes are all-or-nothing: after a failed `put` the key holds its previous blob
/// (or none), never a part. A `put` to an existing key replaces it.
#[async_trait]
pub trait MediaStore: Send + Sync + fmt::Debug {
    /// The backend's tag (`"folder"`, `"s3"`).
    fn kind(&self) -> &'static str;

    /// Stores everything `body` yields under `key`, replacing any blob there, and
    /// returns the number of bytes stored. A failing `body` is [`MediaError::Read`].
    async fn put(&self, key: &MediaKey, body: &mut (dyn AsyncRead + Send + Unpin)) -> Result<u64>;

    /// Opens the blob for streaming; [`MediaError::NotFound`] if absent.
    async fn get(&self, key: &MediaKey) -> Result<BoxReader>;

    /// Deletes the blob; deleting a missing key succeeds (so retries are safe).
    async fn delete(&self, key: &MediaKey) -> Result<()>;

    /// Whether a blob exists under `key` (a size lookup that treats absence as `false`).
    async fn exists(&self, key: &MediaKey) -> Result<bool> {
        match self.size(key).await {
            Ok(_) => Ok(true),
            Err(MediaError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The blob's size in bytes; [`MediaError::NotFound`] if absent.
    async fn size(&self, key: &MediaKey) -> Result<u64>;

    /// Deletes up to `limit` blobs last written before `before` (retention); returns
    /// how many went (fewer than `limit`: none older is left). Half-written uploads
    /// are not blobs and are never touched.
    async fn delete_older_than(&self, before: std::time::SystemTime, limit: u32) -> Result<u64>;

    /// Stores a small in-memory body (thumbnails, tests).
    async fn put_bytes(&self, key: &MediaKey, bytes: &[u8]) -> Result<u64> {
        let mut body = bytes;
        self.put(key, &mut body).await
    }

    /// Reads a blob fully into memory, refusing blobs over `limit` bytes: only for
    /// small blobs whose size is bounded by the caller.
    async fn get_bytes(&self, key: &MediaKey, limit: u64) -> Result<Vec<u8>> {
        let reader = self.get(key).await?;
        let mut out = Vec::new();
        reader
            .take(limit + 1)
            .read_to_end(&mut out)
            .await
            .map_err(MediaError::backend)?;
        if out.len() as u64 > limit {
            return Err(MediaError::backend(std::io::Error::other(format!(
                "media `{key}` is larger than the {limit}-byte limit"
            ))));
        }
        Ok(out)
    }
}

/// A media store with its backend erased, shared across tasks.
pub type DynMediaStore = Arc<dyn MediaStore>;

// Both backends are complete stores, usable behind `dyn` across threads.
const _: () = {
    const fn assert_store<T: MediaStore + 'static>() {}
    assert_store::<FolderStore>();
    assert_store::<S3Store>();
};

/// Which backend holds the media, as the product's configuration gives it
/// (`{"kind": "folder", "path": "…"}` or `{"kind": "s3", "bucket": "…", …}`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaConfig {
    /// Files under a local folder.
    Folder {
        /// The root folder (created if missing).
        path: PathBuf,
    },
    /// Objects in an S3 bucket.
    S3(S3Config),
}

impl Default for MediaConfig {
    /// The embedded default: `data/media`, next to the SQLite database.
    fn default() -> Self {
        MediaConfig::Folder {
            path: PathBuf::from("data/media"),
        }
    }
}

/// Opens the media store the configuration names.
pub async fn open(config: &MediaConfig) -> Result<DynMediaStore> {
    Ok(match config {
        MediaConfig::Folder { path } => Arc::new(FolderStore::open(path).await?),
        MediaConfig::S3(s3) => Arc::new(S3Store::open(s3.clone()).await?),
    })
}

/// Copies `from` into `to` through a fixed buffer, telling read failures (the
/// caller's body: [`MediaError::Read`]) from write failures (the backend's).
pub(crate) async fn copy_counting(
    from: &mut (dyn AsyncRead + Send + Unpin),
    to: &mut (dyn AsyncWrite + Send + Unpin),
) -> Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = from.read(&mut buf).await.map_err(MediaError::Read)?;
        if n == 0 {
            return Ok(total);
        }
        to.write_all(&buf[..n]).await.map_err(MediaError::backend)?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_both_backends_and_redacts_secrets() {
        let folder: MediaConfig = serde_json::from_str(r#"{"kind":"folder","path":"m"}"#).unwrap();
        assert_eq!(folder, MediaConfig::Folder { path: "m".into() });
        let s3: MediaConfig = serde_json::from_str(
            r#"{"kind":"s3","bucket":"b","endpoint":"http://127.0.0.1:1","force_path_style":true,
                "access_key_id":"AK","secret_access_key":"very-secret"}"#,
        )
        .unwrap();
        let MediaConfig::S3(c) = &s3 else { panic!() };
        assert_eq!(c.part_size, s3::DEFAULT_PART_SIZE);
        assert!(!format!("{s3:?}").contains("very-secret"));
        assert!(serde_json::from_str::<MediaConfig>(r#"{"kind":"ftp"}"#).is_err());
        assert!(
            serde_json::from_str::<MediaConfig>(r#"{"kind":"s3","bucket":"b","typo":1}"#).is_err()
        );
    }

    #[tokio::test]
    async fn bad_s3_config_is_rejected_before_any_request() {
        let mut c = S3Config::new("b");
        c.part_size = 1024;
        assert!(matches!(
            S3Store::open(c).await,
            Err(MediaError::InvalidConfig(_))
        ));
        assert!(matches!(
            S3Store::open(S3Config::new("")).await,
            Err(MediaError::InvalidConfig(_))
        ));
        let mut c = S3Config::new("b");
        c.access_key_id = Some("only-half".into());
        assert!(matches!(
            S3Store::open(c).await,
            Err(MediaError::InvalidConfig(_))
        ));
        let mut c = S3Config::new("b");
        c.prefix = Some("../up".into());
        assert!(matches!(
            S3Store::open(c).await,
            Err(MediaError::InvalidConfig(_))
        ));
    }
}
