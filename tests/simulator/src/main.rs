//! `wa-simulator`: serves the WhatsApp server simulator on loopback and prints where,
//! for tests that run the gateway as a separate process.

use std::net::SocketAddr;

use clap::Parser;
use wa_simulator::{Simulator, SimulatorConfig};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "WhatsApp server simulator on loopback (a test tool)")]
struct Args {
    /// WebSocket listen address (loopback only).
    #[arg(long, default_value = "127.0.0.1:0", env = "WA_SIM_WS_ADDR")]
    ws_addr: SocketAddr,
    /// Media HTTP listen address (loopback only).
    #[arg(long, default_value = "127.0.0.1:0", env = "WA_SIM_MEDIA_ADDR")]
    media_addr: SocketAddr,
    /// Root private key (64 hex chars) to keep the root public key stable across runs.
    #[arg(long, env = "WA_SIM_ROOT_PRIVATE")]
    root_private: Option<String>,
}

fn parse_hex32(s: &str) -> Result<[u8; 32], String> {
    if s.len() != 64 {
        return Err("root private key must be 64 hex characters".into());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let cfg = SimulatorConfig {
        ws_addr: args.ws_addr,
        media_addr: args.media_addr,
        root_private: args.root_private.as_deref().map(parse_hex32).transpose()?,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(cfg).await?;
    let root: String = sim.root_key().iter().map(|b| format!("{b:02x}")).collect();
    println!("WS_URL={}", sim.ws_url());
    println!("MEDIA_HOST={}", sim.media_addr());
    println!("ROOT_KEY={root}");
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
