//! A small test driver: one `wa_proto::Connection` over a real tokio-tungstenite client
//! socket, in its own task. Received messages go to `handle_data`, everything from
//! `poll_transmit` is sent, `poll_timeout` is honoured, and events come out on a channel.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use rand_core::OsRng;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use wa_proto::binary::{Jid, Node};
use wa_proto::{CloseReason, Config, Connection, Credentials, Event};
use wa_simulator::SimulatorHandle;

/// How long any expected event may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// What the driver reports.
#[derive(Debug, Clone)]
pub enum Ev {
    /// An event of the state machine.
    Proto(Event),
    /// Credentials right after `Paired` (the driver's stand-in for persisting them).
    Creds(Box<Credentials>),
    /// The socket closed under the state machine (it has no input for that).
    SocketClosed,
}

enum Cmd {
    Send(Node),
    PairCode(String, oneshot::Sender<Result<String, String>>),
    Raw(Vec<u8>),
    Close,
}

/// A driven client connection.
pub struct Client {
    events: mpsc::UnboundedReceiver<Ev>,
    cmds: mpsc::UnboundedSender<Cmd>,
    /// Everything seen so far (for assertions and failure messages).
    pub seen: Vec<Ev>,
    /// Events not yet matched by a `wait`, searched first by the next one.
    backlog: std::collections::VecDeque<Ev>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Client {
    /// Connects to the simulator with `creds` (registers if unpaired, logs in otherwise).
    pub async fn connect(sim: &SimulatorHandle, creds: Credentials) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(sim.ws_url())
            .await
            .expect("WebSocket connect");
        let cfg = Config {
            trust_root: sim.trust_root(),
            ..Config::default()
        };
        let conn = Connection::new(cfg, creds, OsRng, Instant::now(), unix_now());
        let (ev_tx, events) = mpsc::unbounded_channel();
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        tokio::spawn(drive(ws, conn, ev_tx, cmd_rx));
        Client {
            events,
            cmds,
            seen: Vec::new(),
            backlog: Default::default(),
        }
    }

    /// Waits for the first event `f` accepts (others are kept in `seen`).
    pub async fn wait<T>(&mut self, what: &str, mut f: impl FnMut(&Ev) -> Option<T>) -> T {
        if let Some(i) = self.backlog.iter().position(|e| f(e).is_some()) {
            let ev = self.backlog.remove(i).expect("index from position");
            return f(&ev).expect("matched above");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; seen {:#?}", self.seen))
                .unwrap_or_else(|| {
                    panic!("driver ended waiting for {what}; seen {:#?}", self.seen)
                });
            let hit = f(&ev);
            self.seen.push(ev.clone());
            match hit {
                Some(t) => return t,
                None => self.backlog.push_back(ev),
            }
        }
    }

    /// Waits for a stanza with `tag` that `f` accepts.
    pub async fn wait_node(&mut self, tag: &str, f: impl Fn(&Node) -> bool) -> Node {
        self.wait(tag, |e| match e {
            Ev::Proto(Event::Node(n)) if n.tag == tag && f(n) => Some(n.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for `Closed` and returns its reason.
    pub async fn wait_closed(&mut self) -> CloseReason {
        self.wait("Closed", |e| match e {
            Ev::Proto(Event::Closed(r)) => Some(r.clone()),
            _ => None,
        })
        .await
    }

    /// Sends a stanza.
    pub fn send(&self, node: Node) {
        self.cmds.send(Cmd::Send(node)).expect("driver alive");
    }

    /// Sends an iq and waits for the answer with the same id.
    pub async fn iq(&mut self, node: Node) -> Node {
        let id = node.attr_str("id").expect("iq id").into_owned();
        self.send(node);
        self.wait_node("iq", |n| n.attr_str("id").as_deref() == Some(&id))
            .await
    }

    /// Acknowledges a received message / receipt / notification as a client must.
    pub fn ack(&self, node: &Node) {
        let mut ack = Node::new("ack")
            .attr("class", node.tag.clone())
            .attr("id", node.attr_str("id").unwrap().into_owned());
        if let Some(from) = node.attr_jid("from") {
            ack.set_attr("to", from);
        }
        if let Some(p) = node.attr_jid("participant") {
            ack.set_attr("participant", p);
        }
        if let Some(t) = node.attr_str("type")
            && node.tag != "message"
        {
            ack.set_attr("type", t.into_owned());
        }
        self.send(ack);
    }

    /// Asks the state machine for a pairing code.
    pub async fn request_pairing_code(&self, phone: &str) -> String {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(Cmd::PairCode(phone.into(), tx))
            .expect("driver alive");
        rx.await.expect("driver answers").expect("pairing code")
    }

    /// Sends raw bytes on the socket, bypassing the state machine.
    pub fn send_raw(&self, bytes: Vec<u8>) {
        self.cmds.send(Cmd::Raw(bytes)).expect("driver alive");
    }

    /// Closes the socket (no goodbye).
    pub fn close(&self) {
        let _ = self.cmds.send(Cmd::Close);
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn drive(
    ws: Ws,
    mut conn: Connection<OsRng>,
    events: mpsc::UnboundedSender<Ev>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
) {
    let (mut sink, mut source) = ws.split();
    loop {
        while let Some(b) = conn.poll_transmit() {
            if sink.send(Message::Binary(b.into())).await.is_err() {
                let _ = events.send(Ev::SocketClosed);
                return;
            }
        }
        let deadline = conn.poll_timeout();
        let mut closed = false;
        while let Some(ev) = conn.poll_event() {
            closed |= matches!(ev, Event::Closed(_));
            let paired = matches!(ev, Event::Paired { .. });
            let _ = events.send(Ev::Proto(ev));
            if paired {
                let _ = events.send(Ev::Creds(Box::new(conn.credentials().clone())));
            }
        }
        if closed {
            let _ = sink.close().await;
            return;
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            msg = source.next() => match msg {
                Some(Ok(Message::Binary(b))) => conn.handle_data(Instant::now(), &b),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = events.send(Ev::SocketClosed);
                    return;
                }
                Some(Ok(_)) => {}
            },
            () = sleep => conn.handle_timeout(Instant::now()),
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Send(n)) => conn.send_node(&n).expect("send_node"),
                Some(Cmd::PairCode(phone, tx)) => {
                    let _ = tx.send(conn.request_pairing_code(&phone).map_err(|e| e.to_string()));
                }
                Some(Cmd::Raw(b)) => {
                    let _ = sink.send(Message::Binary(b.into())).await;
                }
                Some(Cmd::Close) | None => {
                    let _ = sink.close().await;
                    return;
                }
            },
        }
    }
}

/// `user@s.whatsapp.net`.
pub fn user(phone: &str) -> Jid {
    Jid::new(phone, wa_proto::binary::jid::USER_SERVER)
}
