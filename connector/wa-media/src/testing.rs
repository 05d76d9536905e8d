//! The contract every [`MediaStore`](crate::MediaStore) backend must meet, as
//! reusable tests.
//!
//! [`media_store_integration_tests!`](crate::media_store_integration_tests) expands
//! to one `#[tokio::test]` per check below, each calling the caller's
//! `async fn get_media_store(name: &str) -> DynMediaStore`, which must return an
//! empty store of its own for each `name` ([`folder_test_store`], [`s3_test_store`]).

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, ReadBuf};

use crate::{DynMediaStore, FolderStore, HashingReader, MediaError, MediaKey, S3Config, S3Store};

/// Expands, in the calling module, to the whole media contract as `#[tokio::test]`s.
///
/// The module must define `async fn get_media_store(name: &str) -> wa_media::DynMediaStore`
/// and depend on `tokio` with the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! media_store_integration_tests {
    () => {
        $crate::__media_store_integration_tests!(
            put_get_round_trip,
            missing_key_is_not_found,
            overwrite_replaces_content_and_size,
            delete_removes_and_is_idempotent,
            empty_blob,
            large_blob_streams_both_ways,
            content_addressed_keys,
            similar_keys_are_distinct,
            failed_put_stores_nothing,
            concurrent_puts,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __media_store_integration_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::testing::$name(get_media_store(stringify!($name)).await).await;
            }
        )*
    };
}

fn key(s: &str) -> MediaKey {
    MediaKey::new(s).expect("valid test key")
}

/// A deterministic pseudo-random byte source of a given length, generated on the
/// fly: lets tests stream large blobs without holding them in memory.
#[derive(Debug)]
pub struct PatternReader {
    remaining: u64,
    state: u64,
    fail_after: Option<u64>,
}

impl PatternReader {
    /// `len` bytes derived from `seed`.
    pub fn new(seed: u64, len: u64) -> Self {
        PatternReader {
            remaining: len,
            state: seed | 1,
            fail_after: None,
        }
    }

    /// Like `new`, but fails with an I/O error once `after` bytes were produced
    /// (a client disconnecting mid-upload).
    pub fn failing(seed: u64, len: u64, after: u64) -> Self {
        PatternReader {
            fail_after: Some(after),
            ..Self::new(seed, len)
        }
    }
}

impl AsyncRead for PatternReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.fail_after == Some(0) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "test body fails on purpose",
            )));
        }
        let mut n = (buf.remaining() as u64).min(this.remaining).min(64 * 1024);
        if let Some(after) = this.fail_after {
            n = n.min(after);
        }
        let mut produced = Vec::with_capacity(n as usize);
        while (produced.len() as u64) < n {
            // xorshift64
            this.state ^= this.state << 13;
            this.state ^= this.state >> 7;
            this.state ^= this.state << 17;
            let bytes = this.state.to_le_bytes();
            let take = ((n as usize) - produced.len()).min(8);
            produced.extend_from_slice(&bytes[..take]);
        }
        buf.put_slice(&produced);
        this.remaining -= n;
        if let Some(after) = &mut this.fail_after {
            *after -= n;
        }
        Poll::Ready(Ok(()))
    }
}

/// Streams a blob back and returns its SHA-256 and length, never buffering it.
pub async fn hash_blob(store: &DynMediaStore, key: &MediaKey) -> ([u8; 32], u64) {
    let reader = store.get(key).await.expect("get");
    let mut hashing = HashingReader::new(reader);
    tokio::io::copy(&mut hashing, &mut tokio::io::sink())
        .await
        .expect("stream blob");
    (hashing.digest(), hashing.len())
}

async fn read_all(store: &DynMediaStore, key: &MediaKey) -> Vec<u8> {
    store.get_bytes(key, 1 << 20).await.expect("get_bytes")
}

/// What goes in comes out, with the right size, and `exists` agrees.
pub async fn put_get_round_trip(store: DynMediaStore) {
    let k = key("acc-1/photos/2024/pic.jpg");
    assert!(!store.exists(&k).await.unwrap());
    let body = b"\xff\xd8\xff\xe0 not really a jpeg \x00\x01\x02";
    assert_eq!(store.put_bytes(&k, body).await.unwrap(), body.len() as u64);
    assert!(store.exists(&k).await.unwrap());
    assert_eq!(store.size(&k).await.unwrap(), body.len() as u64);
    assert_eq!(read_all(&store, &k).await, body);
    assert!(matches!(
        store.get_bytes(&k, 3).await,
        Err(MediaError::Backend(_))
    ));
}

/// Reading or sizing a missing key is `NotFound`; `exists` says false.
pub async fn missing_key_is_not_found(store: DynMediaStore) {
    let k = key("nope/never-written.bin");
    assert!(!store.exists(&k).await.unwrap());
    match store.get(&k).await {
        Err(MediaError::NotFound { key }) => assert_eq!(key, k.as_str()),
        Err(e) => panic!("expected NotFound, got {e:?}"),
        Ok(_) => panic!("expected NotFound, got a reader"),
    }
    assert!(matches!(
        store.size(&k).await,
        Err(MediaError::NotFound { .. })
    ));
    // A parent "folder" of other keys is not a blob either.
    store.put_bytes(&key("dir/child"), b"x").await.unwrap();
    assert!(!store.exists(&key("dir/chil")).await.unwrap());
    assert!(matches!(
        store.get(&key("dir/chi")).await,
        Err(MediaError::NotFound { .. })
    ));
}

/// A second put to the same key replaces content and size (shorter and longer).
pub async fn overwrite_replaces_content_and_size(store: DynMediaStore) {
    let k = key("over/write");
    store
        .put_bytes(&k, b"first version, rather long")
        .await
        .unwrap();
    store.put_bytes(&k, b"short").await.unwrap();
    assert_eq!(read_all(&store, &k).await, b"short");
    assert_eq!(store.size(&k).await.unwrap(), 5);
    store
        .put_bytes(&k, b"third version, longer again")
        .await
        .unwrap();
    assert_eq!(read_all(&store, &k).await, b"third version, longer again");
}

/// Delete removes the blob; deleting again (or a never-written key) succeeds.
pub async fn delete_removes_and_is_idempotent(store: DynMediaStore) {
    let k = key("del/me");
    let other = key("del/other");
    store.put_bytes(&k, b"bye").await.unwrap();
    store.put_bytes(&other, b"stay").await.unwrap();
    store.delete(&k).await.unwrap();
    assert!(!store.exists(&k).await.unwrap());
    assert!(matches!(
        store.get(&k).await,
        Err(MediaError::NotFound { .. })
    ));
    store.delete(&k).await.unwrap();
    store.delete(&key("del/never")).await.unwrap();
    assert_eq!(read_all(&store, &other).await, b"stay");
}

/// A zero-byte blob exists and reads back empty.
pub async fn empty_blob(store: DynMediaStore) {
    let k = key("empty");
    assert_eq!(store.put_bytes(&k, b"").await.unwrap(), 0);
    assert!(store.exists(&k).await.unwrap());
    assert_eq!(store.size(&k).await.unwrap(), 0);
    assert!(read_all(&store, &k).await.is_empty());
}

/// A 12 MiB generated blob streams in and out intact (multipart on S3).
pub async fn large_blob_streams_both_ways(store: DynMediaStore) {
    const LEN: u64 = 12 * 1024 * 1024 + 12_345;
    let k = key("big/video.mp4");
    let mut body = HashingReader::new(PatternReader::new(7, LEN));
    assert_eq!(store.put(&k, &mut body).await.unwrap(), LEN);
    assert_eq!(body.len(), LEN);
    assert_eq!(store.size(&k).await.unwrap(), LEN);
    assert_eq!(hash_blob(&store, &k).await, (body.digest(), LEN));
}

/// Content-addressed keys work as ordinary keys and match the data's hash.
pub async fn content_addressed_keys(store: DynMediaStore) {
    let mut body = HashingReader::new(PatternReader::new(99, 300_000));
    let staging = key("staging/upload-1");
    store.put(&staging, &mut body).await.unwrap();
    let k = body.key();
    assert!(
        k.as_str()
            .starts_with(&format!("{}/{}/", &k.as_str()[6..8], &k.as_str()[8..10]))
    );
    let mut again = PatternReader::new(99, 300_000);
    store.put(&k, &mut again).await.unwrap();
    assert_eq!(hash_blob(&store, &k).await, (body.digest(), 300_000));
    assert_eq!(
        MediaKey::from_sha256_hex(&crate::hex(&body.digest())).unwrap(),
        k
    );
}

/// Keys sharing a prefix never see each other's data.
pub async fn similar_keys_are_distinct(store: DynMediaStore) {
    let names = ["a/b", "a/bc", "a/b.c", "a/B", "a-b", "a_b"];
    for (i, n) in names.iter().enumerate() {
        store
            .put_bytes(&key(n), format!("blob {i}").as_bytes())
            .await
            .unwrap();
    }
    for (i, n) in names.iter().enumerate() {
        assert_eq!(
            read_all(&store, &key(n)).await,
            format!("blob {i}").as_bytes()
        );
    }
}

/// A body that fails mid-way is `Read`, and the key keeps its previous blob (or
/// stays absent): no half-written state, small or multipart.
pub async fn failed_put_stores_nothing(store: DynMediaStore) {
    let fresh = key("fail/fresh");
    let err = store
        .put(&fresh, &mut PatternReader::failing(1, 1 << 20, 100_000))
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Read(_)), "{err:?}");
    assert!(!store.exists(&fresh).await.unwrap());

    let kept = key("fail/kept");
    store.put_bytes(&kept, b"old content").await.unwrap();
    let err = store
        .put(&kept, &mut PatternReader::failing(2, 20 << 20, 11 << 20))
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Read(_)), "{err:?}");
    assert_eq!(read_all(&store, &kept).await, b"old content");
}

/// Concurrent puts to different keys all land intact.
pub async fn concurrent_puts(store: DynMediaStore) {
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let k = key(&format!("par/{i}"));
                let mut body = HashingReader::new(PatternReader::new(i + 100, 200_000 + i));
                store.put(&k, &mut body).await.unwrap();
                (k, body.digest(), body.len())
            })
        })
        .collect();
    for t in tasks {
        let (k, digest, len) = t.await.unwrap();
        assert_eq!(hash_blob(&store, &k).await, (digest, len));
    }
}

/// A name unique to this test process, so runs never share folders or prefixes.
pub fn run_suffix() -> &'static str {
    static SUFFIX: OnceLock<String> = OnceLock::new();
    SUFFIX.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{:x}{:08x}", std::process::id(), (nanos as u64) as u32)
    })
}

/// A folder store in `dir/<name>-<run>`.
pub async fn folder_test_store(dir: &Path, name: &str) -> DynMediaStore {
    let root = dir.join(format!("{name}-{}", run_suffix()));
    Arc::new(
        FolderStore::open(root)
            .await
            .expect("open folder test store"),
    )
}

/// Environment variables naming the S3-compatible server the tests use.
pub const S3_ENV: [&str; 4] = [
    "WA_TEST_S3_ENDPOINT",
    "WA_TEST_S3_BUCKET",
    "WA_TEST_S3_ACCESS_KEY",
    "WA_TEST_S3_SECRET_KEY",
];

/// The S3 test config from [`S3_ENV`] (region us-east-1, path-style); panics with
/// instructions when any is unset, so a missing server fails the tests.
pub fn s3_test_config() -> S3Config {
    let get = |name: &str| match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: run `cargo xtask test`, which starts an S3-compatible server \
             (or start one with `infra/s3.sh start <dir>` and export the lines it prints)"
        ),
    };
    let endpoint = get(S3_ENV[0]);
    let mut config = S3Config::new(get(S3_ENV[1]));
    config.endpoint = Some(endpoint);
    config.access_key_id = Some(get(S3_ENV[2]));
    config.secret_access_key = Some(get(S3_ENV[3]));
    config.region = Some("us-east-1".into());
    config.force_path_style = true;
    config.part_size = crate::s3::MIN_PART_SIZE;
    config
}

/// An S3 store over the test bucket, under a prefix of its own per test and run.
pub async fn s3_test_store(name: &str) -> DynMediaStore {
    let mut config = s3_test_config();
    config.prefix = Some(format!("t-{}/{name}", run_suffix()));
    Arc::new(S3Store::open(config).await.expect("open S3 test store"))
}
