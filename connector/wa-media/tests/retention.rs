//! Retention on both media backends: blobs written before a cutoff are deleted in
//! bounded batches, later ones kept. S3 needs the `WA_TEST_S3_*` variables.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use wa_media::testing::{folder_test_store, s3_test_store};
use wa_media::{DynMediaStore, MediaKey};

fn key(s: &str) -> MediaKey {
    MediaKey::new(s).unwrap()
}

async fn old_blobs_go_in_batches(store: DynMediaStore) {
    for name in ["old/a", "old/b", "old/c", "d"] {
        store.put_bytes(&key(name), b"old").await.unwrap();
    }
    // S3 keeps whole seconds of LastModified: a clear gap on both sides of the cutoff.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cutoff = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for name in ["old/new", "new"] {
        store.put_bytes(&key(name), b"new").await.unwrap();
    }
    // Nothing is older than an early cutoff.
    let early = cutoff - Duration::from_secs(3600);
    assert_eq!(store.delete_older_than(early, 10).await.unwrap(), 0);

    let mut batches = Vec::new();
    loop {
        let n = store.delete_older_than(cutoff, 3).await.unwrap();
        batches.push(n);
        if n < 3 {
            break;
        }
    }
    assert_eq!(batches, vec![3, 1]);
    for gone in ["old/a", "old/b", "old/c", "d"] {
        assert!(!store.exists(&key(gone)).await.unwrap(), "{gone}");
    }
    for kept in ["old/new", "new"] {
        assert!(store.exists(&key(kept)).await.unwrap(), "{kept}");
    }
}

fn test_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-media-retention")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_old_blobs_go_in_batches() {
    old_blobs_go_in_batches(folder_test_store(&test_dir(), "batches").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_old_blobs_go_in_batches() {
    old_blobs_go_in_batches(s3_test_store("retention").await).await;
}

/// Half-written uploads in `.tmp` are not blobs: retention leaves them to the
/// writer that owns them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_retention_leaves_partial_uploads() {
    let root = test_dir().join(format!("partial-{}", wa_media::testing::run_suffix()));
    let store = wa_media::FolderStore::open(&root).await.unwrap();
    let partial = root.join(".tmp").join("upload.part");
    std::fs::write(&partial, b"half").unwrap();
    let blob = key("blob");
    wa_media::MediaStore::put_bytes(&store, &blob, b"x")
        .await
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(60);
    assert_eq!(
        wa_media::MediaStore::delete_older_than(&store, later, 10)
            .await
            .unwrap(),
        1
    );
    assert!(partial.exists());
}
