//! Store writes on both backends: the two writes on every message's path.
//!
//! * `enqueue`: `POST /send/message` queues the message durably before its 200;
//! * `commit`: a received message is stored with its event in one transaction.
//!
//! SQLite with `synchronous=FULL` (the default: every commit is fsynced) is the
//! baseline, next to `synchronous=NORMAL` (`DB_SQLITE_SYNCHRONOUS=normal`).
//! PostgreSQL runs against the server named by `WA_TEST_POSTGRES_URL` (started
//! by `cargo xtask bench` / `infra/postgres.sh`), which is a test server with
//! `fsync=off`: its figure is the cost of the round trips, not of durability.
//! It is left out, with a note, when that is unset.
//!
//!     cargo bench -p wa-store --bench writes

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use wa_store::testing::{POSTGRES_URL_ENV, postgres_test_store};
use wa_store::{
    AccountId, Changes, DynStore, MessageStatus, NewAccount, NewEvent, NewMessage, SqliteOptions,
    SqliteStore, SqliteSynchronous,
};

const PEER: &str = "15550009999@s.whatsapp.net";

/// A distinct message each call (the store refuses duplicates).
fn message(n: u64, from_me: bool) -> NewMessage {
    NewMessage {
        id: format!("BENCH{n:016X}"),
        chat: PEER.into(),
        sender: PEER.into(),
        from_me,
        timestamp: SystemTime::now(),
        kind: "text".into(),
        text: Some("a typical short text message, about sixty bytes long".into()),
        media: None,
        content: vec![0x0a; 96],
        push_name: Some("Bench".into()),
        status: if from_me {
            MessageStatus::Pending
        } else {
            MessageStatus::Received
        },
    }
}

fn writes(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str, synchronous: SqliteSynchronous| -> DynStore {
        let mut options = SqliteOptions::file(dir.path().join(format!("{name}.db")));
        options.synchronous = synchronous;
        Arc::new(runtime.block_on(SqliteStore::open(options)).unwrap())
    };
    let mut backends: Vec<(&str, DynStore)> = vec![
        (
            "sqlite synchronous=full (baseline)",
            sqlite("full", SqliteSynchronous::Full),
        ),
        (
            "sqlite synchronous=normal",
            sqlite("normal", SqliteSynchronous::Normal),
        ),
    ];
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => {
            backends.push((
                "postgres",
                runtime.block_on(postgres_test_store("bench-writes")),
            ));
        }
        _ => eprintln!("writes: {POSTGRES_URL_ENV} is unset, PostgreSQL left out"),
    }

    let counter = AtomicU64::new(0);
    let next = || counter.fetch_add(1, Ordering::Relaxed);
    let mut group = c.benchmark_group("store_writes");
    group.measurement_time(Duration::from_secs(4));
    for (name, store) in &backends {
        let account: AccountId = runtime
            .block_on(store.create_account(NewAccount::new(
                AccountId::new(format!("bench{}", next())).unwrap(),
            )))
            .unwrap()
            .id;
        group.bench_function(
            BenchmarkId::new("enqueue (POST /send/message)", name),
            |b| {
                b.to_async(&runtime).iter(|| async {
                    store
                        .enqueue(&account, &message(next(), true))
                        .await
                        .unwrap()
                });
            },
        );
        group.bench_function(BenchmarkId::new("commit (message received)", name), |b| {
            b.to_async(&runtime).iter(|| async {
                let n = next();
                let changes = Changes {
                    messages: vec![message(n, false)],
                    events: vec![NewEvent {
                        kind: "message".into(),
                        payload: format!(r#"{{"id":"BENCH{n:016X}"}}"#),
                    }],
                    ..Changes::default()
                };
                store.commit(&account, &changes).await.unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, writes);
criterion_main!(benches);
