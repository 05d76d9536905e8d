//! Accounts against the WhatsApp server simulator, in-process, over real WebSockets
//! on loopback, with the store on SQLite and on the real PostgreSQL
//! (`WA_TEST_POSTGRES_URL`).

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wa_connector::{AccountManager, AccountState, Backoff, ConnectorOptions, ManualClock};
use wa_proto::binary::Jid;
use wa_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use wa_store::{AccountId, AccountStatus as StoredStatus, DynStore};

const WAIT: Duration = Duration::from_secs(30);

fn test_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-connector-accounts");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

async fn sqlite(name: &str) -> DynStore {
    wa_store::testing::sqlite_test_store(test_dir(), name).await
}

async fn postgres(name: &str) -> DynStore {
    wa_store::testing::postgres_test_store(name).await
}

async fn simulator() -> SimulatorHandle {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator starts")
}

fn options(sim: &SimulatorHandle) -> ConnectorOptions {
    ConnectorOptions {
        server_url: sim.ws_url(),
        trust_root: sim.trust_root(),
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(400),
            multiplier: 2.0,
            jitter: 0.5,
        },
        ..ConnectorOptions::default()
    }
}

fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

/// Polls `f` until it holds (for simulator-side facts that have no event).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Links `account` by QR with the phone `phone` and returns the device JID.
async fn link_by_qr(
    sim: &SimulatorHandle,
    manager: &AccountManager,
    account: &str,
    phone: &str,
) -> Jid {
    let handle = manager.start(&id(account)).await.unwrap();
    let waiting = handle
        .wait_for_state(AccountState::WaitingForPairing, WAIT)
        .await
        .unwrap();
    let qr = waiting.qr_code.expect("QR published while waiting");
    assert_eq!(handle.qr_code().as_deref(), Some(qr.as_str()));
    let jid = sim.scan_qr(&qr, phone).unwrap();
    let status = handle
        .wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    assert_eq!(status.jid.as_deref(), Some(jid.to_string().as_str()));
    assert_eq!(status.qr_code, None);
    jid
}

/// QR link → logged in with credentials stored and pre-keys uploaded → restart (new
/// manager, store reopened) → logs in again without a QR and without a new device.
async fn qr_link_then_restart_resumes<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynStore>,
{
    let sim = simulator().await;
    let store = open().await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let phone = "15550001111";
    let jid = link_by_qr(&sim, &manager, "alice", phone).await;
    assert!(sim.is_online(&jid));

    // Stored atomically at pairing: credentials, JID, active.
    let stored = store.get_account(&id("alice")).await.unwrap();
    assert_eq!(stored.jid.as_deref(), Some(jid.to_string().as_str()));
    assert_eq!(stored.status, StoredStatus::Active);
    let blob = store
        .load_device(&id("alice"))
        .await
        .unwrap()
        .expect("credentials");
    let creds = wa_connector::credentials::decode(&blob).unwrap();
    assert_eq!(creds.me.as_ref(), Some(&jid));

    // The server had no pre-keys: a batch was stored, then uploaded.
    eventually("pre-keys uploaded", || sim.prekey_count(&jid) == 30).await;
    assert_eq!(store.count_prekeys(&id("alice")).await.unwrap(), 30);
    let key = store.get_prekey(&id("alice"), 1).await.unwrap();
    assert_eq!(key.map(|k| k.id), Some(1));
    for _ in 0..100 {
        if store
            .get_prekey(&id("alice"), 1)
            .await
            .unwrap()
            .unwrap()
            .uploaded
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        store
            .get_prekey(&id("alice"), 1)
            .await
            .unwrap()
            .unwrap()
            .uploaded
    );

    // Restart: stop everything, reopen the store, resume.
    manager.shutdown().await;
    drop(manager);
    drop(store);
    eventually("device offline after shutdown", || !sim.is_online(&jid)).await;
    let store = open().await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let resumed = manager.resume_all().await.unwrap();
    assert_eq!(resumed.len(), 1);
    let handle = &resumed[0];
    let mut states = handle.subscribe();
    let status = handle
        .wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    assert_eq!(status.jid.as_deref(), Some(jid.to_string().as_str()));
    assert!(states.borrow_and_update().qr_code.is_none());
    assert_eq!(
        sim.devices(phone),
        vec![jid.clone()],
        "no second device linked"
    );
    eventually("online again", || sim.is_online(&jid)).await;
    // The server still holds 30 keys: no new batch.
    assert_eq!(store.count_prekeys(&id("alice")).await.unwrap(), 30);
    manager.shutdown().await;
    assert_eq!(handle.state(), AccountState::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_link_then_restart_resumes_on_sqlite() {
    qr_link_then_restart_resumes(|| sqlite("qr_restart")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_link_then_restart_resumes_on_postgres() {
    qr_link_then_restart_resumes(|| postgres("conn_qr_restart")).await;
}

/// A second account links by pairing code next to a QR-linked one; both stay up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_account_links_by_pairing_code() {
    let sim = simulator().await;
    let store = sqlite("pair_code").await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let a = link_by_qr(&sim, &manager, "first", "15550002221").await;

    let bob = manager.start(&id("bob")).await.unwrap();
    assert!(matches!(
        bob.request_pairing_code("12ab").await,
        Err(wa_connector::AccountError::InvalidPhone)
    ));
    let code = bob.request_pairing_code("+15550002222").await.unwrap();
    assert_eq!(code.len(), 8);
    // The code is returned once the server registered it: it can be typed at once.
    sim.enter_pairing_code("15550002222", &code).unwrap();
    let status = bob
        .wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    let b: Jid = status.jid.expect("jid").parse().unwrap();
    assert_eq!(b.user, "15550002222");
    assert!(store.load_device(&id("bob")).await.unwrap().is_some());
    assert!(matches!(
        bob.request_pairing_code("15550002222").await,
        Err(wa_connector::AccountError::AlreadyLinked)
    ));
    assert!(sim.is_online(&a));
    eventually("bob online", || sim.is_online(&b)).await;
    assert_eq!(manager.handles().len(), 2);
    manager.shutdown().await;
}

/// Dropped connections, stream errors and garbage frames: the account reconnects by
/// itself every time, and a 515 after pairing costs no back-off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_never_kill_the_account() {
    let sim = simulator().await;
    let store = sqlite("faults").await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let jid = link_by_qr(&sim, &manager, "carol", "15550003333").await;
    let h = manager.handle(&id("carol")).unwrap();
    assert_eq!(h.status().logins, 1);
    assert_eq!(
        h.status().reconnect_attempt,
        0,
        "515 restart needs no back-off"
    );

    let faults = ["disconnect", "stream_error", "raw", "conflict_code"];
    for (logins, fault) in (2..).zip(faults) {
        eventually("online before the fault", || sim.is_online(&jid)).await;
        match fault {
            "disconnect" => sim.disconnect(&jid).unwrap(),
            "stream_error" => sim.stream_error(&jid, "503").unwrap(),
            "raw" => sim.send_raw(&jid, vec![0, 0, 5, 1, 2, 3, 4, 5]).unwrap(),
            _ => sim.stream_error(&jid, "500").unwrap(),
        }
        let status = h
            .wait_for(WAIT, |s| {
                s.logins == logins && s.state == AccountState::LoggedIn
            })
            .await
            .unwrap_or_else(|e| panic!("after {fault}: {e}; {:?}", h.status()));
        assert!(status.last_disconnect.is_none());
    }
    // Credentials were never touched.
    assert!(store.load_device(&id("carol")).await.unwrap().is_some());
    manager.shutdown().await;
}

/// An unreachable server: the account keeps retrying with growing back-off, stays
/// responsive, and shuts down cleanly mid-wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_backs_off_and_stops_cleanly() {
    let store = sqlite("unreachable").await;
    let opts = ConnectorOptions {
        server_url: "ws://127.0.0.1:1/ws/chat".into(),
        backoff: Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            multiplier: 2.0,
            jitter: 0.0,
        },
        ..ConnectorOptions::default()
    };
    let manager = AccountManager::new(store, opts);
    let h = manager.start(&id("dave")).await.unwrap();
    let s = h
        .wait_for(WAIT, |s| s.reconnect_attempt >= 4)
        .await
        .unwrap();
    assert!(matches!(
        s.state,
        AccountState::Disconnected | AccountState::Connecting
    ));
    assert!(s.last_disconnect.is_some());
    // Nothing to pair with while the server is unreachable: the request waits for a
    // connection, and the account is not disturbed by it.
    let pairing = tokio::time::timeout(
        Duration::from_millis(300),
        h.request_pairing_code("15550004444"),
    )
    .await;
    assert!(!matches!(pairing, Ok(Ok(_))));
    manager.shutdown().await;
    assert_eq!(h.state(), AccountState::Stopped);
}

/// Logout deletes the credentials and pre-keys and ends the account `logged_out`;
/// a restart does not resume it.
async fn logout_clears_credentials(store: DynStore) {
    let sim = simulator().await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let jid = link_by_qr(&sim, &manager, "erin", "15550005555").await;
    let h = manager.handle(&id("erin")).unwrap();
    h.logout().await.unwrap();
    assert_eq!(h.state(), AccountState::LoggedOut);
    assert_eq!(h.status().jid, None);
    assert!(store.load_device(&id("erin")).await.unwrap().is_none());
    assert_eq!(store.count_prekeys(&id("erin")).await.unwrap(), 0);
    let stored = store.get_account(&id("erin")).await.unwrap();
    assert_eq!((stored.jid, stored.status), (None, StoredStatus::LoggedOut));
    eventually("device offline", || !sim.is_online(&jid)).await;
    assert!(matches!(
        h.logout().await,
        Err(wa_connector::AccountError::NotRunning)
    ));
    let again = AccountManager::new(store, options(&sim));
    assert!(again.resume_all().await.unwrap().is_empty());
}

/// Time is read through the `Clock`: jumping a manual clock past the keep-alive
/// interval sends pings the simulator answers, and the account stays logged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_runs_on_the_injected_clock() {
    let sim = simulator().await;
    let store = sqlite("keepalive").await;
    let clock = ManualClock::new();
    let manager = AccountManager::with_clock(store, options(&sim), Arc::new(clock.clone()));
    let jid = link_by_qr(&sim, &manager, "frank", "15550006666").await;
    let h = manager.handle(&id("frank")).unwrap();
    for _ in 0..5 {
        clock.advance(Duration::from_secs(26));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(h.state(), AccountState::LoggedIn);
    assert_eq!(
        h.status().logins,
        1,
        "no reconnect: every ping was answered"
    );
    assert!(sim.is_online(&jid));
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_clears_credentials_on_sqlite() {
    logout_clears_credentials(sqlite("logout").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_clears_credentials_on_postgres() {
    logout_clears_credentials(postgres("conn_logout").await).await;
}

/// A second connector logging in with the same credentials replaces the first:
/// the first stops instead of fighting back; the second stays logged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_connection_stops_instead_of_fighting() {
    let sim = simulator().await;
    let store = sqlite("replaced").await;
    let first = AccountManager::new(store.clone(), options(&sim));
    let jid = link_by_qr(&sim, &first, "gina", "15550007777").await;
    let h1 = first.handle(&id("gina")).unwrap();
    let second = AccountManager::new(store.clone(), options(&sim));
    let h2 = second.start(&id("gina")).await.unwrap();
    h2.wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    let s1 = h1
        .wait_for_state(AccountState::Stopped, WAIT)
        .await
        .unwrap();
    assert_eq!(
        s1.last_disconnect.as_deref(),
        Some("replaced by another connection")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h2.state(), AccountState::LoggedIn);
    assert_eq!(h2.status().logins, 1);
    assert!(sim.is_online(&jid));
    // Credentials are kept: only the connection was taken over.
    assert!(store.load_device(&id("gina")).await.unwrap().is_some());
    second.shutdown().await;
}

/// A server that no longer knows the device answers the login with 401: the
/// credentials are void, so they are deleted and the account ends logged out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_logout_deletes_credentials() {
    let root = [7u8; 32];
    let config = || SimulatorConfig {
        root_private: Some(root),
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config()).await.unwrap();
    let store = sqlite("server_logout").await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    link_by_qr(&sim, &manager, "hank", "15550008888").await;
    manager.shutdown().await;
    sim.shutdown().await;

    // Same root (so the handshake passes), but it has never seen this device.
    let forgetful = Simulator::start(config()).await.unwrap();
    let manager = AccountManager::new(store.clone(), options(&forgetful));
    let h = manager.resume_all().await.unwrap().remove(0);
    h.wait_for_state(AccountState::LoggedOut, WAIT)
        .await
        .unwrap();
    assert!(store.load_device(&id("hank")).await.unwrap().is_none());
    let stored = store.get_account(&id("hank")).await.unwrap();
    assert_eq!(stored.status, StoredStatus::LoggedOut);
}

/// QR codes that expire unscanned are replaced by a fresh set (new connection),
/// driven here by jumping the injected clock past every code's lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_qr_codes_are_renewed() {
    let sim = simulator().await;
    let store = sqlite("qr_renew").await;
    let clock = ManualClock::new();
    let manager = AccountManager::with_clock(store, options(&sim), Arc::new(clock.clone()));
    let h = manager.start(&id("ivy")).await.unwrap();
    let first = h
        .wait_for_state(AccountState::WaitingForPairing, WAIT)
        .await
        .unwrap()
        .qr_code
        .unwrap();
    let ticker = {
        let clock = clock.clone();
        tokio::spawn(async move {
            loop {
                clock.advance(Duration::from_secs(61));
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };
    let renewed = h
        .wait_for(WAIT, |s| {
            s.state == AccountState::WaitingForPairing
                && s.last_disconnect.as_deref() == Some("QR codes expired")
        })
        .await;
    ticker.abort();
    let renewed = renewed.unwrap().qr_code.unwrap();
    assert_ne!(renewed, first);
    // The renewed code still links (same device keys, new ref).
    let qr = h.qr_code().unwrap();
    sim.scan_qr(&qr, "15550009999").unwrap();
    h.wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    manager.shutdown().await;
}

/// A server that upgrades the WebSocket but never answers the Noise hello: the
/// handshake deadline (on the injected clock) ends the attempt and the account
/// retries; stopping one account leaves the others alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_hits_the_handshake_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                held.push(ws); // keep it open, say nothing
            }
        }
    });
    let store = sqlite("silent").await;
    let clock = ManualClock::new();
    let opts = ConnectorOptions {
        server_url: format!("ws://{addr}/ws/chat"),
        handshake_timeout: Duration::from_secs(20),
        backoff: Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(10),
            multiplier: 1.0,
            jitter: 0.0,
        },
        ..ConnectorOptions::default()
    };
    let manager = AccountManager::with_clock(store, opts, Arc::new(clock.clone()));
    let h = manager.start(&id("jack")).await.unwrap();
    let other = manager.start(&id("kate")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.state(),
        AccountState::Connecting,
        "still waiting for the hello"
    );
    clock.advance(Duration::from_secs(21));
    let s = h
        .wait_for(WAIT, |s| {
            s.last_disconnect.as_deref() == Some("handshake timed out") && s.reconnect_attempt >= 1
        })
        .await
        .unwrap();
    assert_ne!(s.state, AccountState::LoggedIn);
    assert!(manager.stop(&id("jack")).await);
    assert!(!manager.stop(&id("jack")).await);
    assert_eq!(h.state(), AccountState::Stopped);
    assert_ne!(other.state(), AccountState::Stopped);
    manager.shutdown().await;
    assert_eq!(other.state(), AccountState::Stopped);
    server.abort();
}

/// A server that accepts TCP but never upgrades the WebSocket: shutdown and logout
/// are answered at once, not after the connect timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_answered_while_connecting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp); // never answers the upgrade
        }
    });
    let store = sqlite("stuck_connect").await;
    let opts = ConnectorOptions {
        server_url: format!("ws://{addr}/ws/chat"),
        connect_timeout: Duration::from_secs(600),
        ..ConnectorOptions::default()
    };
    let manager = AccountManager::new(store.clone(), opts);
    let a = manager.start(&id("lara")).await.unwrap();
    let b = manager.start(&id("mike")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.state(), AccountState::Connecting);
    tokio::time::timeout(Duration::from_secs(5), a.logout())
        .await
        .expect("logout answered while connecting")
        .unwrap();
    assert_eq!(a.state(), AccountState::LoggedOut);
    let started = std::time::Instant::now();
    manager.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(b.state(), AccountState::Stopped);
    server.abort();
}
