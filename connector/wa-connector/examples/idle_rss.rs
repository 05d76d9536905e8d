//! Rough resident memory per idle, logged-in account: links N accounts (default
//! 100) through an in-process simulator on SQLite and prints the RSS growth.
//!
//! The simulator runs in the same process, so the figure includes its per-device
//! state and is an upper bound for the connector alone. Linux only (reads
//! `/proc/self/status`). `cargo run -p wa-connector --example idle_rss -- 100`.

use std::time::Duration;

use wa_connector::{AccountManager, AccountState, ConnectorOptions};
use wa_simulator::{Simulator, SimulatorConfig};
use wa_store::AccountId;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100);
    let sim = Simulator::start(SimulatorConfig {
        max_connections: n + 16,
        ..SimulatorConfig::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("wa-idle-rss-{}", std::process::id()));
    let store = wa_store::open(&format!("file:{}/wa.db", dir.display())).await?;
    let manager = AccountManager::new(
        store,
        ConnectorOptions {
            server_url: sim.ws_url(),
            trust_root: sim.trust_root(),
            ..ConnectorOptions::default()
        },
    );
    let before = rss_kib();
    let wait = Duration::from_secs(60);
    for i in 0..n {
        let h = manager.start(&AccountId::new(format!("acc{i}"))?).await?;
        let qr = h
            .wait_for_state(AccountState::WaitingForPairing, wait)
            .await?
            .qr_code
            .unwrap_or_default();
        sim.scan_qr(&qr, &format!("1555{:07}", i))?;
        h.wait_for_state(AccountState::LoggedIn, wait).await?;
    }
    // Let pre-key uploads finish and buffers settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib();
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!("accounts={n} rss_before_kib={before} rss_after_kib={after} per_account_kib={per:.0}");
    manager.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
