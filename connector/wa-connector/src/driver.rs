//! One WhatsApp connection, driven: the socket feeds `wa_proto::Connection`, its
//! output goes back to the socket, its timers run on the [`Clock`], and its events go
//! to an [`EventHandler`], in that order (as the state machine documents).
//!
//! Events are handled one at a time and the socket is not read while a handler runs:
//! a handler that must commit something before acknowledging it (a paired device's
//! credentials now; incoming messages later) simply awaits the store and then queues
//! the acknowledgement on the connection it is given. Nothing is acknowledged before
//! it is durable, and order is kept.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::{FutureExt, SinkExt, StreamExt};
use rand_core::OsRng;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use wa_proto::binary::{Jid, Node};
use wa_proto::{CloseReason, Connection, Event, SendError};

use crate::accounts::AccountError;
use crate::clock::Clock;
use crate::requests::{Expect, PendingRequests, RequestError};
use crate::socket::WsStream;

/// The protocol state machine with the OS random source, as the connector runs it.
pub type WaConnection = Connection<OsRng>;

/// Receives the connection's events, in order, with the connection at hand to answer.
#[async_trait]
pub trait EventHandler: Send {
    /// What a handler failure carries back to the caller of [`drive`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Handles one event. Anything queued on `conn` is sent right after. An error
    /// ends the connection (e.g. credentials could not be saved: going on would
    /// lose a pairing).
    async fn on_event(&mut self, conn: &mut WaConnection, event: Event) -> Result<(), Self::Error>;

    /// Called when every event available now was handled and before the driver waits
    /// for more input: a handler that folds stanzas into one commit (group commit)
    /// commits here and queues their acknowledgements.
    async fn flush(&mut self, _conn: &mut WaConnection) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// WebSocket frames read in one go when they are already waiting, so the stanzas
/// they carry are handled (and committed) together.
pub const MAX_FRAMES_PER_READ: usize = 128;

/// Requests from an account's handle that need the live connection.
#[derive(Debug)]
pub enum Command {
    /// Ask the server for a pairing code for this phone number (digits only).
    PairingCode {
        /// The phone number.
        phone: String,
        /// The code to type on the phone once the server registered it, or why not.
        reply: oneshot::Sender<Result<String, AccountError>>,
    },
    /// Unlink this device: tell the server (best effort), close, forget credentials.
    Logout {
        /// Answered once the credentials are gone.
        reply: oneshot::Sender<Result<(), AccountError>>,
    },
    /// Send a node and hand back the server's answer to it (see [`crate::requests`]).
    Request {
        /// The node; its `id` attribute names the answer.
        node: Node,
        /// Which answer completes it.
        expect: Expect,
        /// How long to wait for the answer.
        timeout: Duration,
        /// The answer, or why there is none.
        reply: oneshot::Sender<Result<Node, RequestError>>,
    },
    /// Send a node the server does not answer (presence, chat state, read
    /// receipts); answered once it is on its way.
    Send {
        /// The node.
        node: Node,
        /// Sent, or why not.
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    /// Close the connection and stop.
    Shutdown,
}

impl Command {
    /// Answers a request that arrived while there is no connection to carry it out
    /// ("not connected"). Logout and shutdown are not requests: callers handle them
    /// first; here they are ignored.
    pub fn refuse_offline(self) {
        match self {
            Command::PairingCode { reply, .. } => {
                let _ = reply.send(Err(SendError::NotConnected.into()));
            }
            Command::Request { reply, .. } => {
                let _ = reply.send(Err(RequestError::NotConnected));
            }
            Command::Send { reply, .. } => {
                let _ = reply.send(Err(RequestError::NotConnected));
            }
            Command::Logout { .. } | Command::Shutdown => {}
        }
    }
}

/// How a driven connection ended.
#[derive(Debug)]
pub enum DriveEnd<E> {
    /// The state machine closed the connection.
    Closed(CloseReason),
    /// The socket failed or the server closed it without a protocol goodbye.
    Socket(String),
    /// No handshake within the allowed time.
    HandshakeTimeout,
    /// The handler failed; the connection was closed.
    Handler(E),
    /// A logout was requested; the caller deletes the credentials and answers.
    Logout(oneshot::Sender<Result<(), AccountError>>),
    /// Shutdown was requested (or every handle is gone).
    Shutdown,
}

/// How long the server may take to register a pairing code request.
pub const PAIRING_CODE_TIMEOUT: Duration = Duration::from_secs(15);

/// A pairing code sent to the server, answered to the caller once the server
/// registered it: a code shown before that could be typed on the phone in vain.
struct PendingCode {
    code: String,
    reply: oneshot::Sender<Result<String, AccountError>>,
    deadline: Instant,
}

impl PendingCode {
    /// Whether `node` answers the request: an iq result carrying
    /// `link_code_companion_reg`, or an iq error while the request is pending.
    fn answer(&self, node: &Node) -> Option<Result<(), String>> {
        if node.tag != "iq" {
            return None;
        }
        match node.attr_str("type").as_deref() {
            Some("result") if node.get_child("link_code_companion_reg").is_some() => Some(Ok(())),
            Some("error") => Some(Err(node
                .get_child("error")
                .and_then(|e| e.attr_str("code").map(|c| c.into_owned()))
                .unwrap_or_else(|| "unknown".into()))),
            _ => None,
        }
    }
}

/// Settings of one driven connection.
#[derive(Debug, Clone, Copy)]
pub struct DriveOptions {
    /// Time allowed from the socket's opening to the end of the Noise handshake.
    pub handshake_timeout: Duration,
}

impl Default for DriveOptions {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(20),
        }
    }
}

/// `<iq xmlns=md type=set><remove-companion-device jid reason=user_initiated/>`: how a
/// companion unlinks itself.
fn remove_companion(id: &str, me: &Jid) -> Node {
    Node::new("iq")
        .attr("id", id)
        .attr("to", Jid::server_jid())
        .attr("type", "set")
        .attr("xmlns", "md")
        .child(
            Node::new("remove-companion-device")
                .attr("jid", me.clone())
                .attr("reason", "user_initiated"),
        )
}

type Sink = futures_util::stream::SplitSink<WsStream, Message>;

async fn flush(conn: &mut WaConnection, sink: &mut Sink) -> Result<(), String> {
    while let Some(bytes) = conn.poll_transmit() {
        sink.send(Message::Binary(bytes.into()))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Feeds one WebSocket message to the connection; `Err` when the socket ended.
fn read_frame<E>(
    conn: &mut WaConnection,
    clock: &dyn Clock,
    msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Result<(), DriveEnd<E>> {
    match msg {
        Some(Ok(Message::Binary(bytes))) => {
            conn.handle_data(clock.now(), &bytes);
            Ok(())
        }
        Some(Ok(Message::Close(frame))) => Err(DriveEnd::Socket(format!(
            "server closed the WebSocket{}",
            frame.map(|f| format!(" ({})", f.code)).unwrap_or_default()
        ))),
        Some(Ok(_)) => Ok(()), // text, ping, pong: nothing for the protocol
        Some(Err(e)) => Err(DriveEnd::Socket(e.to_string())),
        None => Err(DriveEnd::Socket("connection closed".into())),
    }
}

/// Runs one connection until it ends. `cmds` stays with the caller across
/// reconnects.
pub async fn drive<H: EventHandler>(
    ws: WsStream,
    mut conn: WaConnection,
    clock: &dyn Clock,
    handler: &mut H,
    cmds: &mut mpsc::Receiver<Command>,
    opts: DriveOptions,
) -> DriveEnd<H::Error> {
    let (mut sink, mut source) = ws.split();
    let handshake_deadline = clock.now() + opts.handshake_timeout;
    let mut handshaken = false;
    let mut pending_code: Option<PendingCode> = None;
    // Dropped (failing whatever is still waiting) when the connection ends.
    let mut requests = PendingRequests::default();
    let mut socket_end: Option<DriveEnd<H::Error>> = None;
    loop {
        // 1. Everything the state machine wants sent.
        if let Err(e) = flush(&mut conn, &mut sink).await {
            return DriveEnd::Socket(e);
        }
        // 2. The next timer.
        let mut deadline: Option<Instant> = conn.poll_timeout();
        for extra in [
            (!handshaken).then_some(handshake_deadline),
            pending_code.as_ref().map(|p| p.deadline),
            requests.next_deadline(),
        ]
        .into_iter()
        .flatten()
        {
            deadline = Some(deadline.map_or(extra, |d| d.min(extra)));
        }
        // 3. Events, each handled before the next input is read.
        let mut closed = None;
        while let Some(event) = conn.poll_event() {
            match &event {
                Event::Connected => handshaken = true,
                Event::Closed(reason) => closed = Some(reason.clone()),
                Event::Node(node) => {
                    if requests.resolve(node) {
                        continue;
                    }
                    if let Some(answer) = pending_code.as_ref().and_then(|p| p.answer(node))
                        && let Some(p) = pending_code.take()
                    {
                        let _ = p.reply.send(match answer {
                            Ok(()) => Ok(p.code),
                            Err(code) => Err(AccountError::PairingRefused(code)),
                        });
                        continue;
                    }
                }
                _ => {}
            }
            if let Err(e) = handler.on_event(&mut conn, event).await {
                conn.close();
                let _ = flush(&mut conn, &mut sink).await;
                let _ = sink.close().await;
                return DriveEnd::Handler(e);
            }
            // Answers the handler queued (acks, uploads) go out in order.
            if let Err(e) = flush(&mut conn, &mut sink).await {
                return DriveEnd::Socket(e);
            }
        }
        if let Err(e) = handler.flush(&mut conn).await {
            conn.close();
            let _ = flush(&mut conn, &mut sink).await;
            let _ = sink.close().await;
            return DriveEnd::Handler(e);
        }
        if let Err(e) = flush(&mut conn, &mut sink).await {
            return DriveEnd::Socket(e);
        }
        if let Some(reason) = closed {
            let _ = sink.close().await;
            return DriveEnd::Closed(reason);
        }
        if let Some(end) = socket_end.take() {
            return end;
        }
        // 4. Wait for the socket, the timer or a command.
        let sleep = async {
            match deadline {
                Some(d) => clock.sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(Command::PairingCode { phone, reply }) => {
                    if pending_code.is_some() {
                        let _ = reply.send(Err(AccountError::PairingInProgress));
                    } else {
                        match conn.request_pairing_code(&phone) {
                            Ok(code) => {
                                pending_code = Some(PendingCode {
                                    code,
                                    reply,
                                    deadline: clock.now() + PAIRING_CODE_TIMEOUT,
                                });
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e.into()));
                            }
                        }
                    }
                }
                Some(Command::Request { node, expect, timeout, reply }) => {
                    if !handshaken {
                        let _ = reply.send(Err(RequestError::NotConnected));
                    } else if let Some(id) = node.attr_str("id").map(|id| id.into_owned()) {
                        match conn.send_node(&node) {
                            Ok(()) => requests.insert(id, expect, clock.now() + timeout, reply),
                            Err(e) => {
                                let _ = reply.send(Err(e.into()));
                            }
                        }
                    } else {
                        let _ = reply.send(Err(RequestError::Invalid("node without an id")));
                    }
                }
                Some(Command::Send { node, reply }) => {
                    let sent = if handshaken {
                        conn.send_node(&node).map_err(RequestError::from)
                    } else {
                        Err(RequestError::NotConnected)
                    };
                    let _ = reply.send(sent);
                }
                Some(Command::Logout { reply }) => {
                    if let Some(me) = conn.credentials().me.clone() && conn.is_connected() {
                        let id = conn.next_id();
                        let _ = conn.send_node(&remove_companion(&id, &me));
                    }
                    conn.close();
                    let _ = flush(&mut conn, &mut sink).await;
                    let _ = sink.close().await;
                    return DriveEnd::Logout(reply);
                }
                Some(Command::Shutdown) | None => {
                    conn.close();
                    let _ = flush(&mut conn, &mut sink).await;
                    let _ = sink.close().await;
                    return DriveEnd::Shutdown;
                }
            },
            msg = source.next() => {
                if let Err(end) = read_frame(&mut conn, clock, msg) {
                    return end;
                }
                // Whatever else already arrived is handled in the same round.
                // The socket's end, if found here, waits until what came before it
                // (a stream error saying why, say) has been handled.
                for _ in 1..MAX_FRAMES_PER_READ {
                    match source.next().now_or_never() {
                        Some(msg) => {
                            if let Err(end) = read_frame(&mut conn, clock, msg) {
                                socket_end = Some(end);
                                break;
                            }
                        }
                        None => break,
                    }
                }
            }
            () = sleep => {
                let now = clock.now();
                if !handshaken && now >= handshake_deadline {
                    let _ = sink.close().await;
                    return DriveEnd::HandshakeTimeout;
                }
                if pending_code.as_ref().is_some_and(|p| now >= p.deadline)
                    && let Some(p) = pending_code.take()
                {
                    let _ = p.reply.send(Err(AccountError::PairingRefused("timeout".into())));
                }
                requests.expire(now);
                conn.handle_timeout(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingCode {
        let (reply, _rx) = oneshot::channel();
        PendingCode {
            code: "ABCD1234".into(),
            reply,
            deadline: Instant::now(),
        }
    }

    #[test]
    fn pairing_code_answers_are_recognised() {
        let p = pending();
        let ok = Node::new("iq")
            .attr("type", "result")
            .attr("id", "1")
            .child(Node::new("link_code_companion_reg"));
        assert_eq!(p.answer(&ok), Some(Ok(())));
        let err = Node::new("iq")
            .attr("type", "error")
            .child(Node::new("error").attr("code", "429"));
        assert_eq!(p.answer(&err), Some(Err("429".into())));
        // Other results (pings, pre-key counts) and other stanzas are not answers.
        let other = Node::new("iq").attr("type", "result").attr("id", "2");
        assert_eq!(p.answer(&other), None);
        assert_eq!(p.answer(&Node::new("notification")), None);
    }

    #[test]
    fn remove_companion_names_our_device() {
        let me = Jid::device("15551234567", 2, "s.whatsapp.net");
        let node = remove_companion("x1", &me);
        let child = node.get_child("remove-companion-device").unwrap();
        assert_eq!(child.attr_jid("jid"), Some(me));
        assert_eq!(node.attr_str("xmlns").as_deref(), Some("md"));
    }
}
