//! The media contract and folder-specific behaviour against a real folder.

use std::path::PathBuf;
use std::sync::OnceLock;

use wa_media::testing::{PatternReader, folder_test_store, run_suffix};
use wa_media::{DynMediaStore, FolderStore, MediaConfig, MediaError, MediaKey, MediaStore};

fn test_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-media-folder"))
}

async fn get_media_store(name: &str) -> DynMediaStore {
    folder_test_store(test_dir(), name).await
}

wa_media::media_store_integration_tests!();

fn root(name: &str) -> PathBuf {
    test_dir().join(format!("{name}-{}", run_suffix()))
}

#[tokio::test]
async fn blobs_are_files_at_their_key_path() {
    let store = FolderStore::open(root("layout")).await.unwrap();
    let key = MediaKey::for_content(b"hello");
    store.put_bytes(&key, b"hello").await.unwrap();
    let path = store.root().join(key.as_str());
    assert_eq!(std::fs::read(&path).unwrap(), b"hello");
    assert!(path.starts_with(store.root().join("2c/f2")));
}

#[tokio::test]
async fn failed_writes_leave_no_temp_files() {
    let store = FolderStore::open(root("temps")).await.unwrap();
    let key = MediaKey::new("x").unwrap();
    let err = store
        .put(&key, &mut PatternReader::failing(3, 1 << 20, 4096))
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Read(_)));
    store.put_bytes(&key, b"ok").await.unwrap();
    let leftovers = std::fs::read_dir(store.root().join(".tmp"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    for bad in ["../outside", "a/../../b", "/etc/passwd", ".tmp/x", "a/./b"] {
        assert!(
            matches!(MediaKey::new(bad), Err(MediaError::InvalidKey { .. })),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn open_from_config() {
    let config = MediaConfig::Folder {
        path: root("config"),
    };
    let store = wa_media::open(&config).await.unwrap();
    assert_eq!(store.kind(), "folder");
    assert!(!store.exists(&MediaKey::new("a").unwrap()).await.unwrap());
    assert!(matches!(
        wa_media::open(&MediaConfig::Folder {
            path: PathBuf::new()
        })
        .await,
        Err(MediaError::InvalidConfig(_))
    ));
}

#[tokio::test]
async fn a_file_in_the_way_is_a_backend_error() {
    let dir = root("blocked");
    std::fs::create_dir_all(&dir).unwrap();
    let store = FolderStore::open(&dir).await.unwrap();
    store
        .put_bytes(&MediaKey::new("a").unwrap(), b"file")
        .await
        .unwrap();
    // `a` is a file, so `a/b` cannot be created under it.
    let err = store
        .put_bytes(&MediaKey::new("a/b").unwrap(), b"x")
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Backend(_)), "{err:?}");
}
