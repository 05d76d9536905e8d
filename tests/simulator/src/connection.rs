//! One task per client connection: WebSocket upgrade, then a [`ServerSession`] (Noise
//! responder + framing), then stanzas through the router. Commands from elsewhere
//! (deliveries, fault injection) arrive on the connection's channel.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{SinkExt, StreamExt};
use rand_core::OsRng;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::{Instrument, debug, info, info_span, warn};
use wa_proto::binary::{Jid, Node};
use wa_proto::keys::KeyPair;
use wa_proto::server::{ServerEvent, ServerSession};

use crate::login;
use crate::router::{self, Ctx};
use crate::state::{ConnCmd, ConnLink, State};

/// What every connection shares: state and the server's Noise identity.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The simulator state.
    pub state: Mutex<State>,
    /// The Noise static key the leaf certificate names.
    pub noise_static: KeyPair,
    /// Serialized certificate chain (root → intermediate → leaf).
    pub cert_chain: Vec<u8>,
    /// Connection ids.
    pub next_conn: AtomicU64,
}

impl Shared {
    /// Locks the state; a panic in another handler does not wedge the simulator.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Noise handshake not finished.
    Handshake,
    /// A new companion registered and waits for the phone (QR or code).
    Registering,
    /// A paired device logged in.
    LoggedIn(Jid),
}

/// The per-connection part handlers see.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Connection id (logs).
    pub id: u64,
    /// How others reach this connection.
    pub link: ConnLink,
    /// Life stage.
    pub phase: Phase,
}

impl ConnState {
    /// The logged-in device, if any.
    pub fn device(&self) -> Option<&Jid> {
        match &self.phase {
            Phase::LoggedIn(j) => Some(j),
            _ => None,
        }
    }

    /// A name for logs: the device JID, or the connection id before login.
    pub fn label(&self) -> String {
        match &self.phase {
            Phase::LoggedIn(j) => j.to_string(),
            _ => format!("conn-{}", self.id),
        }
    }
}

/// Serves one accepted TCP connection until it closes or the simulator shuts down.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let span = info_span!("conn", id, %peer);
    run(id, stream, shared, shutdown).instrument(span).await;
}

async fn run(id: u64, stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let (buffer, max_msg, hs_timeout) = {
        let st = shared.lock();
        (
            st.cfg.connection_buffer,
            st.cfg.max_ws_message,
            st.cfg.handshake_timeout,
        )
    };
    let ws_cfg = WebSocketConfig::default()
        .max_message_size(Some(max_msg))
        .max_frame_size(Some(max_msg));
    let ws = match tokio::time::timeout(
        hs_timeout,
        tokio_tungstenite::accept_async_with_config(stream, Some(ws_cfg)),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return debug!(error = %e, "WebSocket upgrade failed"),
        Err(_) => return debug!("WebSocket upgrade timed out"),
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel(buffer);
    let kill = Arc::new(Notify::new());
    let mut conn = ConnState {
        id,
        link: ConnLink {
            id,
            tx,
            kill: kill.clone(),
        },
        phase: Phase::Handshake,
    };
    let mut session = ServerSession::new(
        KeyPair::generate(&mut OsRng),
        shared.noise_static.clone(),
        shared.cert_chain.clone(),
    );
    let handshake_deadline = tokio::time::Instant::now() + hs_timeout;
    debug!("connected");
    loop {
        let mut close = false;
        let mut raw: Vec<Vec<u8>> = Vec::new();
        tokio::select! {
            msg = source.next() => match msg {
                Some(Ok(Message::Binary(data))) => {
                    close = on_data(&shared, &mut conn, &mut session, &data);
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    debug!(error = %e, "socket error");
                    break;
                }
            },
            Some(cmd) = rx.recv() => {
                close = on_command(&conn, &mut session, cmd, &mut raw);
            }
            () = kill.notified() => {
                info!(account = %conn.label(), "connection dropped on demand");
                break;
            }
            _ = shutdown.changed() => {
                let _ = session.send_node(&Node::new("xmlstreamend"));
                close = true;
            }
            () = tokio::time::sleep_until(handshake_deadline), if conn.phase == Phase::Handshake => {
                debug!("handshake timed out");
                break;
            }
        }
        let mut failed = false;
        while let Some(bytes) = session.poll_transmit() {
            if sink.send(Message::Binary(bytes.into())).await.is_err() {
                failed = true;
                break;
            }
        }
        for bytes in raw {
            if sink.send(Message::Binary(bytes.into())).await.is_err() {
                failed = true;
            }
        }
        if close || failed {
            let _ = sink.close().await;
            break;
        }
    }
    unregister(&shared, &conn);
    debug!(account = %conn.label(), "closed");
}

/// Feeds client bytes to the session and routes what they carried; true = close now.
fn on_data(
    shared: &Shared,
    conn: &mut ConnState,
    session: &mut ServerSession,
    data: &[u8],
) -> bool {
    let events = match session.handle_data(data) {
        Ok(ev) => ev,
        Err(e) => {
            warn!(account = %conn.label(), error = %e, "bad data from client; closing");
            return true;
        }
    };
    let mut st = shared.lock();
    let mut ctx = Ctx {
        state: &mut st,
        conn,
        replies: Vec::new(),
        close: false,
    };
    for ev in events {
        match ev {
            ServerEvent::Authenticated {
                client_static,
                payload,
            } => login::on_authenticated(&mut ctx, client_static, &payload),
            ServerEvent::Node(node) => {
                debug!(account = %ctx.conn.label(), stanza = %node, "recv");
                router::dispatch(&mut ctx, &node);
            }
        }
        if ctx.close {
            break;
        }
    }
    let (replies, close) = (std::mem::take(&mut ctx.replies), ctx.close);
    drop(st);
    for node in replies {
        debug!(account = %conn.label(), stanza = %node, "send");
        if let Err(e) = session.send_node(&node) {
            warn!(error = %e, "cannot send reply; closing");
            return true;
        }
    }
    close
}

/// Carries out a command from elsewhere; true = close after flushing.
fn on_command(
    conn: &ConnState,
    session: &mut ServerSession,
    cmd: ConnCmd,
    raw: &mut Vec<Vec<u8>>,
) -> bool {
    let (node, close) = match cmd {
        ConnCmd::Send(node) => (node, false),
        ConnCmd::Raw(bytes) => {
            info!(account = %conn.label(), len = bytes.len(), "sending raw bytes on demand");
            raw.push(bytes);
            return false;
        }
        ConnCmd::StreamError(code) => (Node::new("stream:error").attr("code", code), true),
        ConnCmd::Replaced => (
            Node::new("stream:error").child(Node::new("conflict").attr("type", "replaced")),
            true,
        ),
    };
    debug!(account = %conn.label(), stanza = %node, "send");
    if let Err(e) = session.send_node(&node) {
        warn!(error = %e, "cannot send; closing");
        return true;
    }
    close
}

fn unregister(shared: &Shared, conn: &ConnState) {
    let mut st = shared.lock();
    if let Some(dev) = conn.device()
        && st.online.get(dev).is_some_and(|l| l.id == conn.id)
    {
        st.online.remove(dev);
    }
    st.registrations.remove(&conn.id);
}
