//! Pool limits and SQLite pragmas, each shown to take effect: a test here fails if
//! the setting were ignored. PostgreSQL needs `WA_TEST_POSTGRES_URL`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wa_store::prelude::*;
use wa_store::testing::{postgres_test_database, postgres_url, run_suffix};
use wa_store::{
    AccountId, DatabaseUri, DynStore, NewAccount, PoolOptions, SqliteStore, SqliteSynchronous,
    StoreOptions,
};

fn db_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-store-pool");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.db", run_suffix()))
}

async fn sqlite(path: &std::path::Path, options: StoreOptions) -> Arc<SqliteStore> {
    let mut uri = DatabaseUri::parse(&format!("file:{}", path.display())).unwrap();
    uri.apply(&options);
    let DatabaseUri::Sqlite(o) = uri else {
        unreachable!()
    };
    Arc::new(SqliteStore::open(o).await.unwrap())
}

fn pool(max_open: Option<usize>, max_idle: Option<usize>, life: Option<Duration>) -> StoreOptions {
    StoreOptions {
        pool: PoolOptions {
            max_open,
            max_idle,
            max_lifetime: life,
        },
        ..StoreOptions::default()
    }
}

/// Holds SQLite's write lock from outside the store until dropped.
fn lock_writes(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

/// Starts `n` account creations that will each hold a pooled connection while they
/// wait for the write lock.
fn blocked_writes(store: &Arc<SqliteStore>, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = AccountId::new(format!("w{i}")).unwrap();
                store.create_account(NewAccount::new(id)).await.unwrap();
            })
        })
        .collect()
}

/// With two connections both taken by blocked writers, a read waits; with three it
/// does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_max_open_bounds_concurrent_checkouts() {
    for (max_open, read_waits) in [(2, true), (3, false)] {
        let path = db_path(&format!("max-open-{max_open}"));
        let store = sqlite(&path, pool(Some(max_open), None, None)).await;
        let lock = lock_writes(&path);
        let writers = blocked_writes(&store, 2);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let read = tokio::time::timeout(Duration::from_millis(700), store.list_accounts()).await;
        assert_eq!(read.is_err(), read_waits, "max_open={max_open}");
        lock.execute_batch("COMMIT").unwrap();
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(store.list_accounts().await.unwrap().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_max_idle_closes_extra_connections() {
    for (max_idle, kept) in [(Some(1), 1), (None, 3)] {
        let path = db_path(&format!("max-idle-{}", max_idle.is_some()));
        let store = sqlite(&path, pool(Some(3), max_idle, None)).await;
        let lock = lock_writes(&path);
        let writers = blocked_writes(&store, 3);
        tokio::time::sleep(Duration::from_millis(300)).await;
        lock.execute_batch("COMMIT").unwrap();
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(store.idle_connections(), kept, "max_idle={max_idle:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_max_lifetime_reopens_connections() {
    for (lifetime, reopened) in [(Some(Duration::from_millis(200)), true), (None, false)] {
        let store = sqlite(
            &db_path(&format!("lifetime-{}", lifetime.is_some())),
            pool(Some(1), None, lifetime),
        )
        .await;
        store.list_accounts().await.unwrap();
        let before = store.connections_opened();
        tokio::time::sleep(Duration::from_millis(300)).await;
        store.list_accounts().await.unwrap();
        assert_eq!(
            store.connections_opened() > before,
            reopened,
            "lifetime={lifetime:?}"
        );
    }
}

/// Every pooled connection runs with the configured pragmas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pragmas_are_applied_to_pooled_connections() {
    let defaults = sqlite(&db_path("pragmas-default"), StoreOptions::default()).await;
    assert_eq!(defaults.pragma("journal_mode").await.unwrap(), "wal");
    assert_eq!(defaults.pragma("busy_timeout").await.unwrap(), "5000");
    assert_eq!(defaults.pragma("synchronous").await.unwrap(), "2");
    assert_eq!(defaults.pragma("foreign_keys").await.unwrap(), "1");
    assert_eq!(defaults.pragma("auto_vacuum").await.unwrap(), "2");

    let tuned = sqlite(
        &db_path("pragmas-tuned"),
        StoreOptions {
            sqlite_busy_timeout: Some(Duration::from_millis(1234)),
            sqlite_cache_size_kib: Some(65536),
            sqlite_synchronous: Some(SqliteSynchronous::Normal),
            ..pool(Some(2), None, None)
        },
    )
    .await;
    // Several concurrent reads so more than the first connection is checked.
    let reads = (0..4).map(|_| {
        let t = tuned.clone();
        async move {
            (
                t.pragma("busy_timeout").await.unwrap(),
                t.pragma("cache_size").await.unwrap(),
                t.pragma("synchronous").await.unwrap(),
                t.pragma("journal_mode").await.unwrap(),
            )
        }
    });
    for got in futures_join(reads).await {
        assert_eq!(
            got,
            ("1234".into(), "-65536".into(), "1".into(), "wal".into())
        );
    }
    assert!(
        tuned
            .pragma("busy_timeout; DROP TABLE accounts")
            .await
            .is_err()
    );
}

/// Write transactions of one store queue for SQLite's single write lock in
/// the process, not in SQLite's busy handler: many at once all succeed even
/// with a busy timeout far shorter than one commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_writes_queue_instead_of_failing_busy() {
    let store = sqlite(
        &db_path("writers"),
        StoreOptions {
            sqlite_busy_timeout: Some(Duration::from_millis(1)),
            ..pool(Some(4), None, None)
        },
    )
    .await;
    let account = AccountId::new("writer").unwrap();
    store
        .create_account(NewAccount::new(account.clone()))
        .await
        .unwrap();
    let writes = (0..48).map(|i| {
        let (store, account) = (store.clone(), account.clone());
        async move {
            let event = wa_store::NewEvent {
                kind: "message".into(),
                payload: format!("{{\"n\":{i}}}"),
            };
            store.append_event(&account, &event).await
        }
    });
    for result in futures_join(writes).await {
        result.expect("a write failed busy");
    }
    assert_eq!(store.last_event_seq().await.unwrap(), 48);
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A PostgreSQL store for `name` whose connections carry a unique application name,
/// and a separate client to watch them from.
async fn postgres(name: &str, options: StoreOptions) -> (DynStore, tokio_postgres::Client, String) {
    let url = postgres_url();
    let db = postgres_test_database(&url, name).await;
    let app = format!("wa-pool-{name}-{}", run_suffix());
    let base = url.rsplit_once('/').unwrap().0;
    let mut uri = DatabaseUri::parse(&format!("{base}/{db}?application_name={app}")).unwrap();
    uri.apply(&options);
    let store = wa_store::open_parsed(uri).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&format!("{base}/{db}"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    (store, client, app)
}

async fn backend_pids(client: &tokio_postgres::Client, app: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = client
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    pids.sort();
    pids
}

/// Ten reads blocked behind a table lock: only `max_open` backends ever exist; once
/// they finish, the reaper closes all but `max_idle`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_max_open_and_max_idle_bound_backends() {
    let (store, mut watcher, app) = postgres("pool_open_idle", pool(Some(3), Some(1), None)).await;
    let tx = watcher.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let reads: Vec<_> = (0..10)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.list_accounts().await.unwrap() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (client, conn) = {
        let url = postgres_url();
        let base = url.rsplit_once('/').unwrap().0.to_string();
        tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls)
            .await
            .unwrap()
    };
    tokio::spawn(conn);
    assert_eq!(
        backend_pids(&client, &app).await.len(),
        3,
        "DB_MAX_OPEN_CONNS"
    );
    tx.commit().await.unwrap();
    for r in reads {
        r.await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    loop {
        let n = backend_pids(&client, &app).await.len();
        if n == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} idle backends, want 1"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// With a lifetime, the backend serving the store changes; without, it stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_max_lifetime_recycles_connections() {
    for (name, lifetime) in [
        ("pool_lifetime", Some(Duration::from_millis(500))),
        ("pool_no_lifetime", None),
    ] {
        let (store, watcher, app) = postgres(name, pool(Some(1), None, lifetime)).await;
        store.list_accounts().await.unwrap();
        let first = backend_pids(&watcher, &app).await;
        assert_eq!(first.len(), 1);
        tokio::time::sleep(Duration::from_millis(800)).await;
        store.list_accounts().await.unwrap();
        let second = backend_pids(&watcher, &app).await;
        assert_eq!(second.len(), 1);
        assert_eq!(first != second, lifetime.is_some(), "lifetime={lifetime:?}");
    }
}
