//! Starting the simulator and the handle tests hold: addresses, the root key, and the
//! test API (scan a QR, type a pairing code, inject faults, inspect state).

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use rand_core::OsRng;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};
use wa_proto::binary::{Jid, Node};
use wa_proto::cert::{TrustRoot, issue_chain};
use wa_proto::keys::KeyPair;

use crate::app_state_blobs::AppStateServed;
use crate::config::SimulatorConfig;
use crate::connection::{self, Shared};
use crate::error::{ApiError, StartError};
use crate::presence::ChatStateSent;
use crate::state::{ConnCmd, State, unix_now};
use crate::{app_state, media, pair_code, pairing};
use wa_proto::appstate::{ChatAction, Collection, SyncKey};

/// Serial of the simulator's test root (the intermediate names it as issuer).
pub const ROOT_SERIAL: u32 = 0;

/// Entry point: [`Simulator::start`].
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds the WebSocket and media listeners on loopback, issues the certificate chain
    /// under the test root, and serves until [`SimulatorHandle::shutdown`] (or drop).
    pub async fn start(cfg: SimulatorConfig) -> Result<SimulatorHandle, StartError> {
        for addr in [cfg.ws_addr, cfg.media_addr] {
            if !addr.ip().is_loopback() {
                return Err(StartError::NotLoopback(addr));
            }
        }
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        let ws = bind(cfg.ws_addr).await?;
        let media = bind(cfg.media_addr).await?;
        let ws_addr = ws.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.ws_addr,
            source,
        })?;
        let media_addr = media.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.media_addr,
            source,
        })?;

        let root = match cfg.root_private {
            Some(p) => KeyPair::from_private(p),
            None => KeyPair::generate(&mut OsRng),
        };
        let intermediate = KeyPair::generate(&mut OsRng);
        let noise_static = KeyPair::generate(&mut OsRng);
        let now = unix_now();
        let cert_chain = issue_chain(
            &root,
            ROOT_SERIAL,
            &intermediate,
            &noise_static.public,
            now.saturating_sub(86_400),
            now + 365 * 86_400,
            &mut OsRng,
        );
        let max_body = cfg.max_media_bytes;
        let cfg = Arc::new(cfg);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(cfg, media_addr.to_string())),
            noise_static,
            cert_chain,
            next_conn: AtomicU64::new(1),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(ws, shared.clone(), stop_rx.clone()));
        let mut stop = stop_rx.clone();
        let app = media::router(shared.clone(), max_body);
        tasks.spawn(async move {
            let serve = axum::serve(media, app).with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            });
            if let Err(e) = serve.await {
                warn!(error = %e, "media server stopped");
            }
        });
        info!(%ws_addr, %media_addr, "simulator started");
        Ok(SimulatorHandle {
            ws_addr,
            media_addr,
            root_key: root.public,
            shared,
            stop: stop_tx,
            tasks: Mutex::new(Some(tasks)),
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    let max = shared.lock().cfg.max_connections;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((_, peer)) if conns.len() >= max => {
                    warn!(%peer, max, "too many connections; refused");
                }
                Ok((stream, peer)) => {
                    conns.spawn(connection::serve(stream, peer, shared.clone(), stop.clone()));
                }
                Err(e) => warn!(error = %e, "accept failed"),
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    // Connections saw the same signal; give them a moment to say goodbye.
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(std::time::Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
}

/// The running simulator. Dropping it stops the servers; [`SimulatorHandle::shutdown`]
/// also waits for every connection to close.
#[derive(Debug)]
pub struct SimulatorHandle {
    ws_addr: SocketAddr,
    media_addr: SocketAddr,
    root_key: [u8; 32],
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Option<JoinSet<()>>>,
}

impl SimulatorHandle {
    /// Address of the WebSocket (chat) listener.
    pub fn ws_addr(&self) -> SocketAddr {
        self.ws_addr
    }

    /// `ws://127.0.0.1:port/ws/chat`, the URL a client is configured with.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.ws_addr)
    }

    /// Address of the HTTP media listener (also what `media_conn` returns as host).
    pub fn media_addr(&self) -> SocketAddr {
        self.media_addr
    }

    /// The test root public key the client must trust instead of WhatsApp's.
    pub fn root_key(&self) -> [u8; 32] {
        self.root_key
    }

    /// The root as the protocol crate's trust setting.
    pub fn trust_root(&self) -> TrustRoot {
        TrustRoot {
            key: self.root_key,
            serial: ROOT_SERIAL,
        }
    }

    /// The phone of `phone` scans `qr` (as the client showed it, with or without the
    /// deep-link prefix): the phone sends `pair-success`. Returns the device JID the
    /// companion gets; pairing completes when the client answers (then the stream
    /// restarts with 515).
    pub fn scan_qr(&self, qr: &str, phone: &str) -> Result<Jid, ApiError> {
        let (link, node, jid) = pairing::scan_qr(&mut self.shared.lock(), qr, phone)?;
        if !link.send(ConnCmd::Send(node)) {
            return Err(ApiError::Busy);
        }
        Ok(jid)
    }

    /// The owner of `phone` types `code` (shown by the client) on the phone: the phone
    /// answers the companion's pairing-code request with `primary_hello`.
    pub fn enter_pairing_code(&self, phone: &str, code: &str) -> Result<(), ApiError> {
        pair_code::enter_code(&self.shared.state, phone, code)
    }

    /// Drops the device's connection without a goodbye (TCP close).
    pub fn disconnect(&self, device: &Jid) -> Result<(), ApiError> {
        let st = self.shared.lock();
        let link = st
            .online
            .get(device)
            .ok_or_else(|| ApiError::NotConnected(device.to_string()))?;
        link.kill.notify_one();
        Ok(())
    }

    /// Drops every live connection (e.g. mid-burst), as a server restart would.
    pub fn disconnect_all(&self) -> usize {
        let st = self.shared.lock();
        for link in st.online.values() {
            link.kill.notify_one();
        }
        for r in st.registrations.values() {
            r.link.kill.notify_one();
        }
        st.online.len() + st.registrations.len()
    }

    /// Sends `<stream:error code=..>` to the device, then closes its connection.
    pub fn stream_error(&self, device: &Jid, code: &str) -> Result<(), ApiError> {
        self.command(device, ConnCmd::StreamError(code.to_owned()))
    }

    /// Sends `bytes` as one WebSocket message as they are, outside the Noise transport
    /// (a malformed frame, to test the client's handling).
    pub fn send_raw(&self, device: &Jid, bytes: Vec<u8>) -> Result<(), ApiError> {
        self.command(device, ConnCmd::Raw(bytes))
    }

    fn command(&self, device: &Jid, cmd: ConnCmd) -> Result<(), ApiError> {
        let st = self.shared.lock();
        let link = st
            .online
            .get(device)
            .ok_or_else(|| ApiError::NotConnected(device.to_string()))?;
        if link.send(cmd) {
            Ok(())
        } else {
            Err(ApiError::Busy)
        }
    }

    /// True while the device has a logged-in connection.
    pub fn is_online(&self, device: &Jid) -> bool {
        self.shared.lock().online.contains_key(device)
    }

    /// The linked devices of `phone`, in device order.
    pub fn devices(&self, phone: &str) -> Vec<Jid> {
        self.shared.lock().devices_of(phone)
    }

    /// Stanzas waiting for the device's acknowledgement.
    pub fn queued(&self, device: &Jid) -> usize {
        self.shared
            .lock()
            .device(device)
            .map_or(0, |d| d.queue.len())
    }

    /// Delivers `node` to the device as the server would (queued until the device
    /// acknowledges it, redelivered at each login): stanzas no real client sent,
    /// to test how a client handles unknown or undecryptable ones.
    pub fn inject(&self, device: &Jid, node: Node) -> Result<(), ApiError> {
        if self.shared.lock().deliver(device, node) {
            Ok(())
        } else {
            Err(ApiError::Undeliverable(device.to_string()))
        }
    }

    /// Ids of the `message` stanzas the device has acknowledged so far, in order.
    pub fn acked_messages(&self, device: &Jid) -> Vec<String> {
        self.shared
            .lock()
            .device(device)
            .map_or_else(Vec::new, |d| d.acked_messages.clone())
    }

    /// One-time pre-keys the server holds for the device.
    pub fn prekey_count(&self, device: &Jid) -> usize {
        self.shared
            .lock()
            .device(device)
            .map_or(0, |d| d.prekeys.len())
    }

    /// Members (phone numbers) of a group, sorted; `None` if it does not exist.
    pub fn group_members(&self, group: &Jid) -> Option<Vec<String>> {
        self.shared
            .lock()
            .groups
            .get(&group.user)
            .map(|g| g.participants.keys().cloned().collect())
    }

    /// The phone of `caller` rings the account of `callee` (voice, or video):
    /// a `<call><offer>` to each of its devices, queued until acknowledged.
    /// Returns the call id; `None` if the callee has no device.
    pub fn ring(&self, caller: &str, callee: &str, video: bool) -> Option<String> {
        crate::calls::ring(&mut self.shared.lock(), caller, callee, video)
    }

    /// The calls declined so far: (the declining account's phone, the call id).
    pub fn call_rejections(&self) -> Vec<(String, String)> {
        self.shared.lock().call_rejections.clone()
    }

    /// Makes `phone` a business account publishing `profile` (`None`: an
    /// ordinary account again).
    pub fn set_business_profile(
        &self,
        phone: &str,
        profile: Option<wa_proto::business::BusinessProfile>,
    ) {
        let mut state = self.shared.lock();
        match profile {
            Some(p) => state.business_profiles.insert(phone.to_owned(), p),
            None => state.business_profiles.remove(phone),
        };
    }

    /// Creates (or replaces) a newsletter (channel) accounts can follow.
    pub fn create_newsletter(&self, channel: wa_proto::newsletter::Newsletter) {
        self.shared.lock().newsletters.create(channel);
    }

    /// Makes `phone` follow the newsletter `channel` (as the phone would);
    /// false if it does not exist.
    pub fn follow_newsletter(&self, phone: &str, channel: &Jid) -> bool {
        self.shared
            .lock()
            .newsletters
            .follow(phone, &channel.to_string())
    }

    /// The newsletters (JIDs, sorted) `phone` follows.
    pub fn followed_newsletters(&self, phone: &str) -> Vec<String> {
        self.shared.lock().newsletters.followed_by(phone)
    }

    /// Makes joining `group` by invite link need an admin's approval (or not);
    /// false if the group does not exist.
    pub fn set_join_approval(&self, group: &Jid, on: bool) -> bool {
        match self.shared.lock().groups.get_mut(&group.user) {
            Some(g) => {
                g.join_approval = on;
                true
            }
            None => false,
        }
    }

    /// Who (phone numbers, sorted) waits for approval to join `group`.
    pub fn join_requests(&self, group: &Jid) -> Option<Vec<String>> {
        self.shared
            .lock()
            .groups
            .get(&group.user)
            .map(|g| g.join_requests.keys().cloned().collect())
    }

    /// The account's app-state sync key, as its phone shares it with linked devices
    /// (created on first use).
    pub fn app_state_key(&self, phone: &str) -> SyncKey {
        app_state::key(&mut self.shared.lock(), phone)
    }

    /// The phone changes something in the account's app state (pin, star, push name…):
    /// stored and announced to every linked device with `server_sync`. Returns the
    /// collection's new version.
    pub fn push_app_state(&self, phone: &str, action: &ChatAction) -> u64 {
        app_state::push_from_phone(&mut self.shared.lock(), phone, action)
    }

    /// The phone changes several things of one collection at once: one patch with a
    /// mutation each (large patches are what the server may serve with external
    /// mutations). Returns the collection's new version. Panics when `actions` is
    /// empty or spans collections.
    pub fn push_app_state_batch(&self, phone: &str, actions: &[ChatAction]) -> u64 {
        app_state::push_batch_from_phone(&mut self.shared.lock(), phone, actions)
    }

    /// The server takes a new snapshot of the account's `collection` at its current
    /// version: devices syncing it from scratch get this snapshot and the patches
    /// after it. Returns the snapshot's version (`None`: the media store is full).
    pub fn app_state_compact(&self, phone: &str, collection: Collection) -> Option<u64> {
        crate::app_state_blobs::compact(&mut self.shared.lock(), phone, collection)
    }

    /// How often the account's `collection` was served as a snapshot or with
    /// external mutations.
    pub fn app_state_served(&self, phone: &str, collection: Collection) -> AppStateServed {
        crate::app_state_blobs::served(&self.shared.lock(), phone, collection)
    }

    /// The phone shares the account's app-state key with `device` now, even when
    /// [`SimulatorConfig::share_app_state_keys`] is off (once per device, and only
    /// after the device published its pre-keys): a device that gets its key only
    /// after the phone changed things syncs them from scratch.
    pub fn share_app_state_key(&self, device: &Jid) {
        app_state::share_key_now(&mut self.shared.lock(), device);
    }

    /// The phone does `action` just before the account's next app-state upload is
    /// answered, so that upload is on a stale version and gets `409` (a device racing
    /// the phone, made deterministic).
    pub fn app_state_before_next_upload(&self, phone: &str, action: ChatAction) {
        app_state::before_next_upload(&mut self.shared.lock(), phone, action);
    }

    /// The chat actions in the account's `collection`, oldest first, as the phone
    /// decrypts them (what linked devices uploaded, and the phone's own).
    pub fn app_state_actions(&self, phone: &str, collection: Collection) -> Vec<ChatAction> {
        app_state::actions(&self.shared.lock(), phone, collection)
    }

    /// The account's last presence (`available` / `unavailable`), if it sent one.
    pub fn presence_of(&self, phone: &str) -> Option<String> {
        self.shared.lock().presence.get(phone).cloned()
    }

    /// The JPEG set as the picture of `owner` (a user or group JID), if any.
    pub fn picture_of(&self, owner: &Jid) -> Option<Vec<u8>> {
        crate::pictures::jpeg_of(&self.shared.lock().pictures, owner)
    }

    /// The chat states devices sent, oldest first.
    pub fn chat_states(&self) -> Vec<ChatStateSent> {
        self.shared.lock().chat_states.clone()
    }

    /// Stops accepting, tells live connections the stream ends, and waits for every
    /// task to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut tasks) = tasks {
            while tasks.join_next().await.is_some() {}
        }
        info!("simulator stopped");
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
