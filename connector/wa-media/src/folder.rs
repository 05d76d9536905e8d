//! The folder backend: blobs as files under one root folder (the embedded default).

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWriteExt, BufWriter};

use crate::error::{MediaError, Result};
use crate::key::MediaKey;
use crate::{BoxReader, MediaStore, copy_counting};

/// Where half-written blobs live until they are complete (keys cannot start with `.`).
const TMP_DIR: &str = ".tmp";
const WRITE_BUFFER: usize = 256 * 1024;

/// Blobs stored as files at `<root>/<key>`.
///
/// Writes go to `<root>/.tmp/` and are renamed into place once complete and synced,
/// so readers never see half a file and a failed write leaves the old blob intact.
/// On this backend a key cannot also be a folder of other keys (`a` and `a/b`).
#[derive(Debug, Clone)]
pub struct FolderStore {
    root: PathBuf,
}

impl FolderStore {
    /// The backend tag used in configuration and logs.
    pub const KIND: &'static str = "folder";

    /// Opens (creating if needed) a store rooted at `root`.
    pub async fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        if root.as_os_str().is_empty() {
            return Err(MediaError::InvalidConfig(
                "the media folder path is empty".into(),
            ));
        }
        tokio::fs::create_dir_all(root.join(TMP_DIR))
            .await
            .map_err(MediaError::backend)?;
        let root = tokio::fs::canonicalize(root)
            .await
            .map_err(MediaError::backend)?;
        Ok(FolderStore { root })
    }

    /// The root folder (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a key maps to; refuses anything but plain relative segments (keys
    /// are validated already; this is the second lock on the door).
    fn path_of(&self, key: &MediaKey) -> Result<PathBuf> {
        let rel = Path::new(key.as_str());
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(MediaError::InvalidKey {
                key: key.to_string(),
                reason: "escapes the media folder",
            });
        }
        Ok(self.root.join(rel))
    }

    fn temp_path(&self) -> PathBuf {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        self.root.join(TMP_DIR).join(format!(
            "{}-{}-{nanos:08x}.part",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    async fn write_temp(
        &self,
        temp: &Path,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<u64> {
        let file = tokio::fs::File::create(temp)
            .await
            .map_err(MediaError::backend)?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let n = copy_counting(body, &mut out).await?;
        out.flush().await.map_err(MediaError::backend)?;
        let file = out.into_inner();
        file.sync_all().await.map_err(MediaError::backend)?;
        Ok(n)
    }
}

fn not_found_or(key: &MediaKey, e: std::io::Error) -> MediaError {
    if e.kind() == std::io::ErrorKind::NotFound {
        MediaError::NotFound {
            key: key.to_string(),
        }
    } else {
        MediaError::backend(e)
    }
}

#[async_trait]
impl MediaStore for FolderStore {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn put(&self, key: &MediaKey, body: &mut (dyn AsyncRead + Send + Unpin)) -> Result<u64> {
        let dest = self.path_of(key)?;
        let temp = self.temp_path();
        let result = async {
            let n = self.write_temp(&temp, body).await?;
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(MediaError::backend)?;
            }
            tokio::fs::rename(&temp, &dest)
                .await
                .map_err(MediaError::backend)?;
            Ok(n)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        if let Ok(n) = &result {
            tracing::debug!(key = %key, bytes = n, "stored media in folder");
        }
        result
    }

    async fn get(&self, key: &MediaKey) -> Result<BoxReader> {
        let path = self.path_of(key)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| not_found_or(key, e))?;
        let meta = file.metadata().await.map_err(MediaError::backend)?;
        if !meta.is_file() {
            return Err(MediaError::NotFound {
                key: key.to_string(),
            });
        }
        Ok(Box::pin(file))
    }

    async fn delete(&self, key: &MediaKey) -> Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(MediaError::backend(e)),
        }
    }

    async fn delete_older_than(&self, before: std::time::SystemTime, limit: u32) -> Result<u64> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || delete_older_than(&root, before, limit as usize))
            .await
            .map_err(MediaError::backend)?
    }

    async fn size(&self, key: &MediaKey) -> Result<u64> {
        let path = self.path_of(key)?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| not_found_or(key, e))?;
        if !meta.is_file() {
            return Err(MediaError::NotFound {
                key: key.to_string(),
            });
        }
        Ok(meta.len())
    }
}

/// Walks the blobs under `root` (not `.tmp`) and deletes up to `limit` files last
/// modified before `before`; folders left empty stay (later blobs reuse them).
fn delete_older_than(root: &Path, before: std::time::SystemTime, limit: usize) -> Result<u64> {
    let mut deleted = 0;
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(MediaError::backend(e)),
        };
        for entry in entries {
            if deleted >= limit {
                return Ok(deleted as u64);
            }
            let entry = entry.map_err(MediaError::backend)?;
            let kind = entry.file_type().map_err(MediaError::backend)?;
            if kind.is_dir() {
                if folder != root || entry.file_name() != TMP_DIR {
                    folders.push(entry.path());
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_err(MediaError::backend)?;
            if modified < before {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => deleted += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(MediaError::backend(e)),
                }
            }
        }
    }
    Ok(deleted as u64)
}
