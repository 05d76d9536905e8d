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

/// Opens the test database `name` with `query` appended to the server's URL
/// (host given as `host`).
async fn open_with(name: &str, host: &str, query: &str) -> Result<PostgresStore, StoreError> {
    let url = postgres_url();
    let db = postgres_test_database(&url, name).await;
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap();
    let base = base.replace("127.0.0.1", host);
    let DatabaseUri::Postgres(options) = DatabaseUri::parse(&format!("{base}/{db}?{query}"))?
    else {
        panic!("not a postgres URL");
    };
    PostgresStore::open(options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_is_honoured_as_libpq_defines_it() {
    // The server's self-signed certificate is for 127.0.0.1 only.
    let ca = wa_testkit_ca();
    let verify = |mode: &str| format!("sslmode={mode}&sslrootcert={ca}");

    let plain = open_with("tls_disable", "127.0.0.1", "sslmode=disable")
        .await
        .unwrap();
    assert!(!plain.is_encrypted().await.unwrap());
    for query in [
        "sslmode=prefer",
        "sslmode=require",
        &verify("verify-ca"),
        &verify("verify-full"),
    ] {
        let store = open_with("tls_modes", "127.0.0.1", query)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(store.is_encrypted().await.unwrap(), "{query}");
    }
    // By another name: the chain is fine, the name is not.
    let store = open_with("tls_name", "localhost", &verify("verify-ca"))
        .await
        .unwrap();
    assert!(store.is_encrypted().await.unwrap());
    let wrong_name = open_with("tls_name", "localhost", &verify("verify-full")).await;
    assert!(
        wrong_name.is_err(),
        "verify-full accepted a certificate for another name"
    );
    // Without our root, the public roots do not vouch for a self-signed server.
    let untrusted = open_with("tls_untrusted", "127.0.0.1", "sslmode=verify-full").await;
    assert!(untrusted.is_err());
    // Mistakes are named.
    let bad = DatabaseUri::parse(&format!("{}?sslmode=on", postgres_url()));
    assert!(bad.unwrap_err().to_string().contains("sslmode"));
    let missing = open_with(
        "tls_missing_root",
        "127.0.0.1",
        "sslmode=verify-full&sslrootcert=/nonexistent.pem",
    )
    .await;
    assert!(missing.unwrap_err().to_string().contains("sslrootcert"));
}

/// The server certificate `infra/postgres.sh` made (`WA_TEST_POSTGRES_CA`).
fn wa_testkit_ca() -> String {
    std::env::var("WA_TEST_POSTGRES_CA")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!("WA_TEST_POSTGRES_CA is not set: run the suite with `cargo xtask test`")
        })
}
