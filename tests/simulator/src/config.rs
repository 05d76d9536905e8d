//! How a simulator is set up: ports, limits and the test root key.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings for [`crate::Simulator::start`]. Everything binds to loopback; every queue
/// and body has a bound so a misbehaving client cannot exhaust the test machine.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Where the WebSocket (chat) endpoint listens; port 0 picks a free port.
    pub ws_addr: SocketAddr,
    /// Where the HTTP media endpoint listens; port 0 picks a free port.
    pub media_addr: SocketAddr,
    /// Private key of the test root certificate. Fixed bytes keep the root public key
    /// stable across simulator restarts (so a connector's trust setting stays valid);
    /// `None` draws a fresh root.
    pub root_private: Option<[u8; 32]>,
    /// How many QR refs one `pair-device` carries (the client rotates through them).
    pub qr_refs: usize,
    /// Largest WebSocket message accepted from a client.
    pub max_ws_message: usize,
    /// Stanzas kept per device until it acknowledges them; more are dropped (logged).
    pub max_queue_per_device: usize,
    /// Outgoing stanzas buffered per live connection before it is dropped as too slow.
    pub connection_buffer: usize,
    /// One-time pre-keys kept per device.
    pub max_prekeys_per_device: usize,
    /// Largest media upload body.
    pub max_media_bytes: usize,
    /// Total media bytes kept; uploads beyond are refused with 507.
    pub max_media_total: usize,
    /// Lifetime of a `media_conn` auth token.
    pub media_auth_ttl: Duration,
    /// Time allowed for the WebSocket upgrade and the Noise handshake.
    pub handshake_timeout: Duration,
    /// Members allowed in one group.
    pub max_group_size: usize,
    /// Live WebSocket connections at once; more are closed at accept.
    pub max_connections: usize,
    /// The phone shares the account's app-state sync key with each linked device once
    /// the device has published its pre-keys (an end-to-end `pkmsg` from device 0, as
    /// a real phone does after linking). Off by default: it costs each device a
    /// one-time pre-key and an extra message that tests of other features count.
    pub share_app_state_keys: bool,
    /// A patch with more mutations than this is served with its mutations in an
    /// external `md-app-state` blob (`SyncdPatch.externalMutations`), as WhatsApp
    /// serves large patches; `None` keeps every patch inline.
    pub app_state_external_mutations_above: Option<usize>,
    /// Flips one byte of every app-state snapshot blob after sealing it, so the
    /// download no longer verifies: a client must refuse it and apply nothing.
    pub tamper_app_state_snapshots: bool,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            ws_addr: loopback,
            media_addr: loopback,
            root_private: None,
            qr_refs: 6,
            max_ws_message: 4 << 20,
            max_queue_per_device: 10_000,
            connection_buffer: 8192,
            max_prekeys_per_device: 1000,
            max_media_bytes: 64 << 20,
            max_media_total: 512 << 20,
            media_auth_ttl: Duration::from_secs(3600),
            handshake_timeout: Duration::from_secs(20),
            max_group_size: 1024,
            max_connections: 256,
            share_app_state_keys: false,
            app_state_external_mutations_above: None,
            tamper_app_state_snapshots: false,
        }
    }
}
