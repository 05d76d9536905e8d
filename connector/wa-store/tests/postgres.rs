//! The store contract and PostgreSQL-specific behaviour against a real server.
//!
//! Needs `WA_TEST_POSTGRES_URL` (`cargo xtask test` sets it); without it every test
//! here fails with instructions rather than passing silently.

use wa_store::testing::{postgres_test_database, postgres_test_store, postgres_url};
use wa_store::{DatabaseUri, DynStore, PostgresStore, StoreError};

async fn get_store(name: &str) -> DynStore {
    postgres_test_store(name).await
}

wa_store::store_integration_tests!();

async fn options_for(name: &str) -> wa_store::PostgresOptions {
    let url = postgres_url();
    let db = postgres_test_database(&url, name).await;
    let DatabaseUri::Postgres(mut options) = DatabaseUri::parse(&url).unwrap() else {
        panic!("not a postgres URL");
    };
    options.config.dbname(&db);
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_from_uri_selects_postgres() {
    let url = postgres_url();
    let db = postgres_test_database(&url, "open_from_uri").await;
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap();
    let store = wa_store::open(&format!("{base}/{db}?pool_size=2"))
        .await
        .unwrap();
    assert_eq!(store.kind(), "postgres");
    assert!(store.list_accounts().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_openers_migrate_once() {
    let options = options_for("concurrent_openers").await;
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let o = options.clone();
            tokio::spawn(async move { PostgresStore::open(o).await })
        })
        .collect();
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "{}/{}",
            postgres_url().rsplit_once('/').unwrap().0,
            options.config.get_dbname().unwrap()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, wa_store::SCHEMA_VERSION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schema_is_refused() {
    let options = options_for("newer_schema").await;
    drop(PostgresStore::open(options.clone()).await.unwrap());
    let (client, conn) = options.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (42, 'future', 0)",
            &[],
        )
        .await
        .unwrap();
    let err = PostgresStore::open(options).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 42,
                supported: wa_store::SCHEMA_VERSION
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_a_backend_error_without_password() {
    // Port 1 on loopback: nothing listens there.
    let err = wa_store::open("postgres://wa:hunter2@127.0.0.1:1/wa?connect_timeout=2")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}
