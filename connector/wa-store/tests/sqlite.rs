//! The store contract and SQLite-specific behaviour (WAL, busy timeout, schema
//! versions, URIs) against real database files.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use wa_store::prelude::*;
use wa_store::testing::{run_suffix, sqlite_test_store};
use wa_store::{
    AccountId, DynStore, NewAccount, SqliteLocation, SqliteOptions, SqliteStore, StoreError,
};

fn test_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-store-sqlite");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

async fn get_store(name: &str) -> DynStore {
    sqlite_test_store(test_dir(), name).await
}

wa_store::store_integration_tests!();

fn db_path(name: &str) -> PathBuf {
    test_dir().join(format!("{name}-{}.db", run_suffix()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_uri_opens_wal_database_with_foreign_keys() {
    let path = db_path("wal");
    let store = wa_store::open(&format!("file:{}?_foreign_keys=on", path.display()))
        .await
        .unwrap();
    assert_eq!(store.kind(), "sqlite");
    store
        .create_account(NewAccount::new(AccountId::new("a").unwrap()))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let versions: Vec<(i64, String)> = conn
        .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        versions,
        vec![
            (1, "init".to_string()),
            (2, "devices".to_string()),
            (3, "messaging".to_string()),
            (4, "webhooks".to_string()),
            (5, "app_state".to_string()),
            (6, "message_ids".to_string())
        ]
    );
    assert_eq!(wa_store::SCHEMA_VERSION, 6);
    // A message found by id alone (forwarding) is an index lookup, not a scan.
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT seq FROM messages
             WHERE account_id = 'a' AND id = 'X' ORDER BY from_me DESC LIMIT 1",
        )
        .unwrap()
        .query_map([], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|step| step.contains("messages_by_id")),
        "{plan:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_missing_parent_folders() {
    let path = test_dir()
        .join(format!("nested-{}", run_suffix()))
        .join("a/b/wa.db");
    let store = wa_store::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    assert!(store.list_accounts().await.unwrap().is_empty());
    assert!(path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_database_works_and_is_private() {
    let a = wa_store::open("sqlite::memory:").await.unwrap();
    let b = wa_store::open("sqlite::memory:").await.unwrap();
    wa_store::testing::account_concurrent_creates(a.clone()).await;
    assert_eq!(a.list_accounts().await.unwrap().len(), 33);
    assert!(b.list_accounts().await.unwrap().is_empty());
    wa_store::testing::settings_round_trip(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schema_is_refused() {
    let path = db_path("too-new");
    drop(SqliteStore::open(SqliteOptions::file(&path)).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(SqliteOptions::file(&path))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: wa_store::SCHEMA_VERSION
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer than this binary"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_a_database_is_a_backend_error() {
    let path = db_path("garbage");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let err = SqliteStore::open(SqliteOptions::file(&path))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uri_is_a_typed_error() {
    for uri in [
        "mysql://x/y",
        "data/wa.db",
        "file:",
        "file:wa.db?pool_size=0",
    ] {
        match wa_store::open(uri).await {
            Err(StoreError::InvalidUri { .. }) => {}
            other => panic!(
                "{uri}: expected InvalidUri, got {:?}",
                other.map(|s| s.kind())
            ),
        }
    }
}

/// Two independent stores (two pools, as two processes would have) hammer one file
/// at once: the busy timeout makes every write wait its turn instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_one_file_wait_for_the_lock() {
    let path = db_path("writers");
    let open = || async {
        let mut options = SqliteOptions::file(&path);
        options.pool_size = 4;
        Arc::new(SqliteStore::open(options).await.unwrap())
    };
    let (a, b) = (open().await, open().await);
    assert!(matches!(a.location(), SqliteLocation::File(_)));
    let mut tasks = Vec::new();
    for (w, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        for t in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    let id = AccountId::new(format!("w{w}-t{t}-{i}")).unwrap();
                    store.create_account(NewAccount::new(id.clone())).await?;
                    store
                        .set_account_status(&id, wa_store::AccountStatus::Active)
                        .await?;
                    store.set_setting("last", &format!("{w}-{t}-{i}")).await?;
                }
                Ok::<_, StoreError>(())
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let all = a.list_accounts().await.unwrap();
    assert_eq!(all.len(), 200);
    assert!(
        all.iter()
            .all(|x| x.status == wa_store::AccountStatus::Active)
    );
    assert_eq!(b.list_accounts().await.unwrap().len(), 200);
}

/// With a short busy timeout and a writer holding the lock longer, the other writer
/// fails with a backend error ("database is locked") instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_timeout_bounds_the_wait() {
    let path = db_path("locked");
    let store = wa_store::open(&format!("file:{}?_busy_timeout=100", path.display()))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let err = store
        .create_account(NewAccount::new(AccountId::new("blocked").unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(err.to_string().contains("locked"), "{err}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(90));
    conn.execute_batch("COMMIT").unwrap();
    store
        .create_account(NewAccount::new(AccountId::new("blocked").unwrap()))
        .await
        .unwrap();
}
