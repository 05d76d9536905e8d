//! The media contract and S3-specific behaviour against a real S3-compatible server.
//!
//! Needs `WA_TEST_S3_ENDPOINT`, `WA_TEST_S3_BUCKET`, `WA_TEST_S3_ACCESS_KEY` and
//! `WA_TEST_S3_SECRET_KEY` (`cargo xtask test` sets them); without them every test
//! here fails with instructions rather than passing silently.

use wa_media::testing::{PatternReader, run_suffix, s3_test_config, s3_test_store};
use wa_media::{DynMediaStore, MediaConfig, MediaError, MediaKey, S3Store};

async fn get_media_store(name: &str) -> DynMediaStore {
    s3_test_store(name).await
}

wa_media::media_store_integration_tests!();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_from_config_with_prefix() {
    let mut config = s3_test_config();
    config.prefix = Some(format!("t-{}/config/", run_suffix()));
    let store = wa_media::open(&MediaConfig::S3(config.clone()))
        .await
        .unwrap();
    assert_eq!(store.kind(), "s3");
    let key = MediaKey::new("k").unwrap();
    store.put_bytes(&key, b"prefixed").await.unwrap();
    // The same bucket without the prefix does not see it at `k`...
    config.prefix = None;
    let bare = S3Store::open(config).await.unwrap();
    assert!(!wa_media::MediaStore::exists(&bare, &key).await.unwrap());
    // ...but at the full key.
    let full = MediaKey::new(format!("t-{}/config/k", run_suffix())).unwrap();
    assert!(wa_media::MediaStore::exists(&bare, &full).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_is_refused_by_the_server() {
    let mut config = s3_test_config();
    config.secret_access_key = Some("not-the-secret".into());
    config.prefix = Some(format!("t-{}/wrong-secret", run_suffix()));
    let store = wa_media::open(&MediaConfig::S3(config)).await.unwrap();
    let err = store
        .put_bytes(&MediaKey::new("k").unwrap(), b"x")
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Backend(_)), "{err:?}");
    assert!(!err.to_string().contains("not-the-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_is_a_backend_error() {
    let mut config = s3_test_config();
    config.bucket = format!("missing-{}", run_suffix());
    let store = wa_media::open(&MediaConfig::S3(config)).await.unwrap();
    let err = store
        .put(&MediaKey::new("k").unwrap(), &mut PatternReader::new(1, 10))
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Backend(_)), "{err:?}");
}
