//! Nothing lost, nothing twice: Bob's connector runs as a real `wa-connector serve`
//! process while Ann (in this test) sends him a 5,000-message burst through the
//! simulator. Mid-burst the simulator drops Bob's connection, then Bob's process is
//! killed with SIGKILL. At the kill, every message the simulator saw Bob acknowledge
//! must already be in Bob's database; after a restart, all 5,000 are there exactly
//! once, each with exactly one `message` event. Run on the embedded default (SQLite,
//! media folder) and in the cloud configuration (PostgreSQL, S3).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use wa_connector::{AccountHandle, AccountManager, AccountState, ConnectorOptions};
use wa_proto::binary::Jid;
use wa_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use wa_store::{AccountId, DynStore, MessageQuery};
use wa_testkit::{ChildGuard, free_port, required_file};

const BURST: usize = 5_000;
const WAIT: Duration = Duration::from_secs(30);
const DRAIN: Duration = Duration::from_secs(600);

fn temp_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "crash-burst-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(sim: &SimulatorHandle) -> ConnectorOptions {
    ConnectorOptions {
        server_url: sim.ws_url(),
        trust_root: sim.trust_root(),
        ..ConnectorOptions::default()
    }
}

async fn link(
    sim: &SimulatorHandle,
    manager: &AccountManager,
    account: &str,
    phone: &str,
) -> (AccountHandle, Jid) {
    let handle = manager
        .start(&AccountId::new(account).unwrap())
        .await
        .unwrap();
    let qr = handle
        .wait_for_state(AccountState::WaitingForPairing, WAIT)
        .await
        .unwrap()
        .qr_code
        .unwrap();
    let device = sim.scan_qr(&qr, phone).unwrap();
    handle
        .wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    while sim.prekey_count(&device) == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (handle, device)
}

/// Where Bob's process keeps its state: the embedded default (SQLite file, media
/// folder) or the cloud configuration (PostgreSQL, S3).
struct Storage {
    db_uri: String,
    media_env: Vec<(&'static str, String)>,
}

impl Storage {
    fn embedded(dir: &std::path::Path) -> Self {
        Storage {
            db_uri: format!("file:{}", dir.join("bob.db").display()),
            media_env: vec![("MEDIA_URI", format!("file:{}", dir.join("media").display()))],
        }
    }

    async fn cloud() -> Self {
        let url = wa_testkit::required_env(wa_store::testing::POSTGRES_URL_ENV);
        let db = wa_store::testing::postgres_test_database(&url, "crash-burst").await;
        let (base, _) = url.rsplit_once('/').expect("postgres URL with a database");
        let s3 = wa_media::testing::s3_test_config();
        Storage {
            db_uri: format!("{base}/{db}"),
            media_env: vec![
                (
                    "MEDIA_URI",
                    format!("s3://{}/crash-burst-{}/", s3.bucket, std::process::id()),
                ),
                ("S3_ENDPOINT", s3.endpoint.clone().unwrap_or_default()),
                (
                    "AWS_ACCESS_KEY_ID",
                    s3.access_key_id.clone().unwrap_or_default(),
                ),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    s3.secret_access_key.clone().unwrap_or_default(),
                ),
                ("AWS_REGION", "us-east-1".into()),
            ],
        }
    }
}

/// `wa-connector serve` for Bob's storage; its logs are discarded.
fn spawn_bob(sim: &SimulatorHandle, dir: &PathBuf, storage: &Storage) -> ChildGuard {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wa-connector"));
    command
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("APP_PORT", free_port().to_string())
        .env("DB_URI", &storage.db_uri)
        .envs(storage.media_env.iter().map(|(k, v)| (*k, v)))
        .env("WA_HTTP_COMPONENT", required_file("WA_HTTP_COMPONENT"))
        .env(
            "WA_WEBHOOK_COMPONENT",
            required_file("WA_WEBHOOK_COMPONENT"),
        )
        .env("WA_SERVER_URL", sim.ws_url())
        .env("WA_TRUST_ROOT", hex::encode(sim.root_key()))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ChildGuard::new(command.spawn().expect("starting wa-connector"))
}

async fn stored_ids(store: &DynStore, account: &AccountId, chat: &Jid) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut offset = 0;
    loop {
        let page = store
            .list_messages(
                account,
                &MessageQuery {
                    chat: Some(chat.to_string()),
                    limit: 1000,
                    offset,
                    ..MessageQuery::default()
                },
            )
            .await
            .unwrap();
        if page.is_empty() {
            return ids;
        }
        offset += page.len() as u32;
        ids.extend(page.into_iter().map(|m| m.message.id));
    }
}

async fn wait_online(sim: &SimulatorHandle, device: &Jid, online: bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while sim.is_online(device) != online {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{device} online={online} never reached"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_on_the_embedded_default() {
    let dir = temp_dir();
    let storage = Storage::embedded(&dir);
    sigkill_mid_burst(dir, storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_in_the_cloud_configuration() {
    let dir = temp_dir();
    let storage = Storage::cloud().await;
    sigkill_mid_burst(dir, storage).await;
}

async fn sigkill_mid_burst(dir: PathBuf, storage: Storage) {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let ann_db = format!("file:{}", dir.join("ann.db").display());
    let bob = AccountId::new("bob").unwrap();

    // Bob is linked in-process on the database his process will use, then handed over.
    let bob_store = wa_store::open(&storage.db_uri).await.unwrap();
    let bob_device = {
        let manager = AccountManager::new(bob_store.clone(), options(&sim));
        let (_, device) = link(&sim, &manager, "bob", "15550009002").await;
        manager.shutdown().await;
        device
    };
    wait_online(&sim, &bob_device, false).await;
    let bob_user = bob_device.to_non_ad();

    let ann_store = wa_store::open(&ann_db).await.unwrap();
    let ann_manager = AccountManager::new(ann_store.clone(), options(&sim));
    let (ann, ann_device) = link(&sim, &ann_manager, "ann", "15550009001").await;
    let ann_user = ann_device.to_non_ad();

    let bob_process = spawn_bob(&sim, &dir, &storage);
    wait_online(&sim, &bob_device, true).await;

    // The burst: every send is committed to Ann's outbox first.
    let mut sent = HashSet::new();
    for i in 0..BURST {
        let m = ann
            .send_text(&bob_user, &format!("burst {i}"))
            .await
            .unwrap();
        sent.insert(m.message.id);
    }

    // Mid-burst: the server drops Bob's connection once, then Bob is SIGKILLed.
    let mut dropped = false;
    loop {
        let n = stored_ids(&bob_store, &bob, &ann_user).await.len();
        if !dropped && n >= 500 {
            sim.disconnect(&bob_device).unwrap();
            dropped = true;
        }
        if n >= 1_500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = Command::new("kill")
        .args(["-KILL", &bob_process.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (exit, _) = tokio::task::block_in_place(|| bob_process.wait());
    assert!(!exit.success(), "killed, not exited: {exit:?}");

    // Nothing was acknowledged before it was stored.
    let acked = sim.acked_messages(&bob_device);
    let stored = stored_ids(&bob_store, &bob, &ann_user).await;
    assert!(!acked.is_empty());
    let missing: Vec<_> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    assert!(stored.len() < BURST, "the kill came after the burst ended");

    // Restart: everything arrives, exactly once.
    wait_online(&sim, &bob_device, false).await;
    let _bob_process = spawn_bob(&sim, &dir, &storage);
    let deadline = tokio::time::Instant::now() + DRAIN;
    loop {
        let stored = stored_ids(&bob_store, &bob, &ann_user).await;
        if stored.len() == BURST {
            assert_eq!(stored, sent);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {BURST} arrived",
            stored.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(bob_store.count_messages(&bob).await.unwrap(), BURST as u64);
    let mut events = 0;
    let mut after = 0;
    loop {
        let page = bob_store
            .events_after(Some(&bob), after, 10_000)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        events += page.iter().filter(|e| e.kind == "message").count();
    }
    assert_eq!(events, BURST, "one message event per message");
    ann_manager.shutdown().await;
    sim.shutdown().await;
}
