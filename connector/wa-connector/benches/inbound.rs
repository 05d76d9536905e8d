//! Inbound throughput: messages per second from the simulator through decrypt → store
//! → events inbox, on SQLite and (when `WA_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! Ann sends N messages to Bob while Bob is offline, so they wait in the simulator's
//! queue; then Bob connects and the clock runs from his login until the last message
//! and its event are committed. Each message is one Signal decrypt, one transaction
//! (message, chat, contact, Signal state, event) and one ack. The baseline printed next
//! to it is the bare store: the same number of commits of the same rows without any
//! protocol work, so the ratio shows what the protocol path costs on top of the
//! database.
//!
//! `cargo bench -p wa-connector --bench inbound -- [N]` (default 5,000).

use std::time::{Duration, Instant, SystemTime};

use wa_connector::{AccountHandle, AccountManager, AccountState, ConnectorOptions};
use wa_proto::binary::Jid;
use wa_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use wa_store::{AccountId, Changes, DynStore, MessageStatus, NewAccount, NewEvent, NewMessage};

const WAIT: Duration = Duration::from_secs(60);

async fn link(
    sim: &SimulatorHandle,
    manager: &AccountManager,
    account: &str,
    phone: &str,
) -> anyhow::Result<(AccountHandle, Jid)> {
    let h = manager.start(&AccountId::new(account)?).await?;
    let qr = h
        .wait_for_state(AccountState::WaitingForPairing, WAIT)
        .await?
        .qr_code
        .unwrap_or_default();
    let device = sim.scan_qr(&qr, phone)?;
    h.wait_for_state(AccountState::LoggedIn, WAIT).await?;
    while sim.prekey_count(&device) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok((h, device))
}

/// Messages per second through the connector.
async fn connector_rate(store: DynStore, n: usize) -> anyhow::Result<f64> {
    let sim = Simulator::start(SimulatorConfig {
        max_queue_per_device: n + 100,
        ..SimulatorConfig::default()
    })
    .await?;
    let opts = ConnectorOptions {
        server_url: sim.ws_url(),
        trust_root: sim.trust_root(),
        ..ConnectorOptions::default()
    };
    let manager = AccountManager::new(store.clone(), opts);
    let (ann, _) = link(&sim, &manager, "ann", "15550010001").await?;
    let (_, bob_device) = link(&sim, &manager, "bob", "15550010002").await?;
    let bob = AccountId::new("bob")?;
    manager.stop(&bob).await;
    for i in 0..n {
        ann.send_text(&bob_device.to_non_ad(), &format!("message {i}"))
            .await?;
    }
    // Wait until the simulator holds them all for Bob.
    while sim.queued(&bob_device) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    manager.start(&bob).await?;
    while store.count_messages(&bob).await? < n as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    manager.shutdown().await;
    sim.shutdown().await;
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// Commits per second of the same rows with no protocol work (the database floor).
async fn bare_store_rate(store: DynStore, n: usize) -> anyhow::Result<f64> {
    let account = AccountId::new("bare")?;
    store
        .create_account(NewAccount::new(account.clone()))
        .await?;
    let started = Instant::now();
    for i in 0..n {
        let message = NewMessage {
            id: format!("BARE{i:06}"),
            chat: "15550010001@s.whatsapp.net".into(),
            sender: "15550010001@s.whatsapp.net".into(),
            from_me: false,
            timestamp: SystemTime::now(),
            kind: "text".into(),
            text: Some(format!("message {i}")),
            media: None,
            content: vec![0x0a, 0x09, b'm'],
            push_name: None,
            status: MessageStatus::Received,
        };
        let changes = Changes {
            signal: wa_store::SignalWrites {
                sessions: vec![("15550010001.1".into(), vec![7; 1200])],
                ..Default::default()
            },
            events: vec![NewEvent {
                kind: "message".into(),
                payload: format!("{{\"id\":\"BARE{i:06}\",\"body\":\"message {i}\"}}"),
            }],
            messages: vec![message],
            ..Changes::default()
        };
        store.commit(&account, &changes).await?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

async fn report(label: &str, connector: DynStore, bare: DynStore, n: usize) -> anyhow::Result<()> {
    let through = connector_rate(connector, n).await?;
    let bare = bare_store_rate(bare, n).await?;
    println!(
        "{label:<9} inbound {through:>8.0} msg/s   bare store {bare:>8.0} commits/s   ratio {:.2}",
        through / bare
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(5_000);
    let dir = std::env::temp_dir().join(format!("wa-inbound-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("inbound throughput, {n} messages, 2 worker threads");
    let sqlite = |name: &str| format!("file:{}/{name}.db", dir.display());
    report(
        "sqlite",
        wa_store::open(&sqlite("connector")).await?,
        wa_store::open(&sqlite("bare")).await?,
        n,
    )
    .await?;
    if std::env::var_os(wa_store::testing::POSTGRES_URL_ENV).is_some() {
        report(
            "postgres",
            wa_store::testing::postgres_test_store("bench-connector").await,
            wa_store::testing::postgres_test_store("bench-bare").await,
            n,
        )
        .await?;
    } else {
        println!(
            "postgres  skipped (set {})",
            wa_store::testing::POSTGRES_URL_ENV
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
