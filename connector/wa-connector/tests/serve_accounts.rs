//! The `wa-connector serve` process against the simulator: configured with
//! `WA_SERVER_URL` / `WA_TRUST_ROOT`, it resumes a linked account from the store at
//! startup, starts linking `WA_LINK_ACCOUNT` (QR drawn in the terminal), keeps
//! secrets out of its logs, and closes its connections on SIGTERM.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use wa_connector::{AccountManager, AccountState, ConnectorOptions};
use wa_simulator::{Simulator, SimulatorConfig};
use wa_store::AccountId;
use wa_testkit::{ChildGuard, free_port, required_file, wait_for_port};

const STARTUP: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(30);

fn temp_dir(label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "serve-accounts-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_resumes_linked_accounts_and_links_a_new_one() {
    let component = required_file("WA_HTTP_COMPONENT");
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = temp_dir("resume");
    let db = format!("file:{}", dir.join("data/wa.db").display());

    // Link "main" in-process, on the database file the process will use.
    let store = wa_store::open(&db).await.unwrap();
    let manager = AccountManager::new(
        store.clone(),
        ConnectorOptions {
            server_url: sim.ws_url(),
            trust_root: sim.trust_root(),
            ..ConnectorOptions::default()
        },
    );
    let main = manager
        .start(&AccountId::new("main").unwrap())
        .await
        .unwrap();
    let qr = main
        .wait_for_state(AccountState::WaitingForPairing, WAIT)
        .await
        .unwrap()
        .qr_code
        .unwrap();
    let jid = sim.scan_qr(&qr, "15557770001").unwrap();
    main.wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    let creds = wa_connector::credentials::decode(
        &store
            .load_device(&AccountId::new("main").unwrap())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let secret_hex = hex::encode(creds.noise_key.private_bytes());
    let adv_hex = hex::encode(creds.adv_secret);
    manager.shutdown().await;
    drop(manager);
    drop(store);

    // The process, configured through the environment as an operator would.
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_wa-connector"));
    command
        .arg("serve")
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("APP_PORT", port.to_string())
        .env("WA_HTTP_COMPONENT", &component)
        .env(
            "WA_WEBHOOK_COMPONENT",
            required_file("WA_WEBHOOK_COMPONENT"),
        )
        .env("WA_SERVER_URL", sim.ws_url())
        .env("WA_TRUST_ROOT", hex::encode(sim.root_key()))
        .env("WA_LINK_ACCOUNT", "second")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::new(command.spawn().expect("starting wa-connector"));
    let mut seen = Vec::new();
    tokio::task::block_in_place(|| {
        // Accounts start before the API listens.
        let resumed = child.wait_for_line("resumed linked accounts", STARTUP);
        assert!(resumed.contains("accounts=1"), "{resumed}");
        seen.push(child.wait_for_line("Scan this QR code", STARTUP));
        seen.push(child.wait_for_line("listening on http://", WAIT));
    });
    wait_for_port(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), WAIT);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !sim.is_online(&jid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "main never came back online"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sim.devices("15557770001"), vec![jid.clone()]);

    // SIGTERM: a clean stop that closes the WhatsApp connections.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let (status, rest) = tokio::task::block_in_place(|| child.wait());
    assert!(status.success(), "{status:?} {rest}");
    let all = format!("{}\n{rest}", seen.join("\n"));
    assert!(all.contains("stopped"), "{all}");
    assert!(
        !all.contains(&secret_hex) && !all.contains(&adv_hex),
        "a secret was logged"
    );
    assert!(!all.contains("panicked"), "{all}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim.is_online(&jid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still online after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
