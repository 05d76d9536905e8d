//! The client connection as a sans-I/O state machine: Noise handshake, then stanzas,
//! with pairing (QR or code), login, pre-key count and keep-alive handled inside.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use prost::Message;
use rand_core::{CryptoRng, RngCore};
use thiserror::Error;

use crate::binary::{self, DecodeError, EncodeError, Jid, Node};
use crate::cert::TrustRoot;
use crate::creds::Credentials;
use crate::frame::{CONNECTION_HEADER, FrameDecoder, FrameEncoder, FrameError};
use crate::handshake::{HandshakeError, Initiator};
use crate::keepalive::{self, KeepAlive, KeepAliveAction};
use crate::keys::KeyPair;
use crate::noise::{CipherError, Transport};
use crate::pair::{self, PairError};
use crate::pair_code::{self, PairCodeError};
use crate::payload::{self, ClientConfig, LoginPayloadError};
use crate::prekeys;

/// How a connection is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// What we tell WhatsApp about ourselves.
    pub client: ClientConfig,
    /// Root that must sign the server's certificate chain (the real one by default).
    pub trust_root: TrustRoot,
    /// Prefix QR payloads with the `https://wa.me/settings/linked_devices#` deep link.
    pub qr_link_prefix: bool,
    /// Largest frame accepted from the server.
    pub max_frame: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            client: ClientConfig::default(),
            trust_root: TrustRoot::default(),
            qr_link_prefix: false,
            max_frame: crate::frame::MAX_FRAME_LEN,
        }
    }
}

/// A protocol violation or undecodable input from the server; fatal to the connection.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// Bad framing.
    #[error("frame: {0}")]
    Frame(#[from] FrameError),
    /// A transport frame did not decrypt.
    #[error("transport: {0}")]
    Cipher(#[from] CipherError),
    /// A stanza did not decode.
    #[error("decode: {0}")]
    Decode(#[from] DecodeError),
    /// We failed to encode one of our own stanzas.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    /// The pair-success stanza was rejected.
    #[error("pairing: {0}")]
    Pair(#[from] PairError),
    /// The pairing-code exchange failed.
    #[error("pairing code: {0}")]
    PairCode(#[from] PairCodeError),
    /// The stored JID cannot build a login payload.
    #[error("login payload: {0}")]
    LoginPayload(#[from] LoginPayloadError),
}

/// Why the connection ended. After [`Event::Closed`] the caller drops the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The Noise handshake failed (including certificate checks).
    Handshake(HandshakeError),
    /// The server broke the protocol.
    Protocol(ProtocolError),
    /// The server asked for a fresh connection (stream error 515, e.g. after pairing).
    RestartRequired,
    /// `<stream:error>` with another code (`conflict`, ...); see [`Event::StreamError`].
    StreamError {
        /// The `code` attribute, if any.
        code: Option<String>,
    },
    /// `<failure reason=401>`: the device was unlinked; credentials are void.
    LoggedOut,
    /// `<failure>` with another reason.
    Failure {
        /// The `reason` attribute.
        reason: String,
    },
    /// The server ended the stream.
    StreamEnd,
    /// All QR refs expired without a scan.
    QrExhausted,
    /// A keep-alive ping went unanswered.
    KeepAliveTimeout,
    /// [`Connection::close`] was called.
    Local,
}

/// What happened, in order; drain with [`Connection::poll_event`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The handshake finished; the server's certificate chain verified.
    Connected,
    /// Show this QR payload until `expires_in` passes (a new one follows).
    QrCode {
        /// Text to render as a QR code.
        code: String,
        /// How long it stays valid.
        expires_in: Duration,
    },
    /// The phone scanned the QR (or entered the code) and we are linked. Persist
    /// [`Connection::credentials`]; the server will then ask for a restart.
    Paired {
        /// Our device JID.
        jid: Jid,
        /// Our LID, if sent.
        lid: Option<Jid>,
        /// Business name, for business accounts.
        business_name: Option<String>,
        /// The phone's platform.
        platform: Option<String>,
    },
    /// Login succeeded (`<success>`); the connection is usable for messaging.
    LoggedIn {
        /// Our LID, if sent.
        lid: Option<Jid>,
    },
    /// The server's count of our one-time pre-keys; upload more when `low`
    /// (see [`crate::prekeys::upload_node`]).
    PreKeyCount {
        /// Keys the server still holds.
        count: u32,
        /// Below [`prekeys::MIN_PREKEY_COUNT`].
        low: bool,
    },
    /// A `<stream:error>` (the connection closes right after).
    StreamError {
        /// The `code` attribute.
        code: Option<String>,
        /// The whole stanza, for logging.
        node: Node,
    },
    /// A stanza for the layers above (messages, receipts, notifications, iq results...).
    Node(Node),
    /// The connection is over; nothing more will be transmitted.
    Closed(CloseReason),
}

/// Why a caller's request could not be carried out.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The handshake has not finished, or the connection is closed.
    #[error("not connected")]
    NotConnected,
    /// The node could not be encoded.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    /// The transport counter is exhausted.
    #[error("transport: {0}")]
    Cipher(#[from] CipherError),
    /// Frame too large.
    #[error("frame: {0}")]
    Frame(#[from] FrameError),
    /// Pairing by code needs an unpaired device and a phone number.
    #[error("pairing code: {0}")]
    PairCode(&'static str),
}

enum Stage {
    Handshake(Box<Initiator>),
    Ready(Box<Transport>),
    Closed,
}

struct QrState {
    refs: VecDeque<String>,
    deadline: Instant,
    shown: usize,
}

struct PairCodeState {
    code: String,
    ephemeral: KeyPair,
    phone: Jid,
}

/// One WhatsApp connection, with no I/O.
///
/// Methods come in four kinds:
/// - inputs: [`handle_data`](Self::handle_data) (bytes of each WebSocket binary message)
///   and [`handle_timeout`](Self::handle_timeout) (call when [`poll_timeout`](Self::poll_timeout)
///   passes; spurious calls are harmless);
/// - app requests: [`send_node`](Self::send_node), [`request_pairing_code`](Self::request_pairing_code),
///   [`close`](Self::close);
/// - outputs, polled in this order after every input or request:
///   [`poll_transmit`](Self::poll_transmit) until `None` (send each as one binary WebSocket
///   message), then [`poll_timeout`](Self::poll_timeout) (re-arm the timer), then
///   [`poll_event`](Self::poll_event) until `None`;
/// - getters: [`credentials`](Self::credentials), [`is_connected`](Self::is_connected).
///
/// Time is always passed in by the caller (`now`); randomness comes from the RNG given to
/// [`Connection::new`].
pub struct Connection<R> {
    cfg: Config,
    creds: Credentials,
    rng: R,
    start: Instant,
    unix_at_start: u64,
    frames_in: FrameDecoder,
    frames_out: FrameEncoder,
    stage: Stage,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    id_prefix: String,
    id_counter: u64,
    qr: Option<QrState>,
    keepalive: Option<KeepAlive>,
    pair_code: Option<PairCodeState>,
    prekey_query: Option<String>,
}

impl<R> std::fmt::Debug for Connection<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("me", &self.creds.me)
            .field("connected", &matches!(self.stage, Stage::Ready(_)))
            .finish_non_exhaustive()
    }
}

impl<R: RngCore + CryptoRng> Connection<R> {
    /// Starts a connection: the client hello (with the connection header) is queued at
    /// once. `unix_now` is wall-clock Unix seconds at `now`, used for certificate validity.
    pub fn new(cfg: Config, creds: Credentials, mut rng: R, now: Instant, unix_now: u64) -> Self {
        let ephemeral = KeyPair::generate(&mut rng);
        let init = Initiator::new(&CONNECTION_HEADER, ephemeral, creds.noise_key.clone());
        let id_prefix = format!("{}.{}-", rng.next_u32() % 100_000, rng.next_u32() % 100_000);
        let mut conn = Self {
            frames_in: FrameDecoder::client().with_limit(cfg.max_frame),
            frames_out: FrameEncoder::client(&CONNECTION_HEADER),
            cfg,
            creds,
            rng,
            start: now,
            unix_at_start: unix_now,
            stage: Stage::Handshake(Box::new(init)),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            id_prefix,
            id_counter: 0,
            qr: None,
            keepalive: None,
            pair_code: None,
            prekey_query: None,
        };
        let hello = match &conn.stage {
            Stage::Handshake(i) => i.client_hello(),
            _ => unreachable!("new connection starts in handshake"),
        };
        conn.queue_frame(&hello)
            .expect("client hello fits in a frame");
        conn
    }

    /// The credentials, updated by pairing and login; persist them after
    /// [`Event::Paired`] and [`Event::LoggedIn`].
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// True between the end of the handshake and the close.
    pub fn is_connected(&self) -> bool {
        matches!(self.stage, Stage::Ready(_))
    }

    /// A fresh stanza id.
    pub fn next_id(&mut self) -> String {
        self.id_counter += 1;
        format!("{}{}", self.id_prefix, self.id_counter)
    }

    /// Feeds the bytes of one received WebSocket message (frames may be split or merged).
    pub fn handle_data(&mut self, now: Instant, data: &[u8]) {
        if matches!(self.stage, Stage::Closed) {
            return;
        }
        self.frames_in.push(data);
        loop {
            match self.frames_in.next_frame() {
                Ok(Some(frame)) => self.handle_frame(now, &frame),
                Ok(None) => break,
                Err(e) => {
                    self.close_with(CloseReason::Protocol(e.into()));
                    break;
                }
            }
            if matches!(self.stage, Stage::Closed) {
                break;
            }
        }
    }

    /// Runs timers due at `now` (QR rotation, keep-alive).
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.stage, Stage::Closed) {
            return;
        }
        if let Some(qr) = &mut self.qr
            && now >= qr.deadline
        {
            self.next_qr(now);
        }
        let action = self.keepalive.as_ref().map(|k| k.poll(now));
        match action {
            Some(KeepAliveAction::Ping) => {
                let id = self.next_id();
                if self.send_node(&keepalive::ping(&id)).is_ok()
                    && let Some(k) = &mut self.keepalive
                {
                    k.sent(id, now);
                }
            }
            Some(KeepAliveAction::TimedOut) => self.close_with(CloseReason::KeepAliveTimeout),
            _ => {}
        }
    }

    /// Encrypts and queues a stanza.
    pub fn send_node(&mut self, node: &Node) -> Result<(), SendError> {
        let Stage::Ready(t) = &mut self.stage else {
            return Err(SendError::NotConnected);
        };
        let ct = t.encrypt(&binary::marshal(node)?)?;
        let mut out = Vec::with_capacity(ct.len() + 3);
        self.frames_out.encode(&ct, &mut out)?;
        self.transmits.push_back(out);
        Ok(())
    }

    /// Asks to pair by code instead of QR: returns the 8-character code to type on the
    /// phone (`phone` = the account's number, digits only). Requires an unpaired device
    /// and a finished handshake (wait for the first [`Event::QrCode`]).
    pub fn request_pairing_code(&mut self, phone: &str) -> Result<String, SendError> {
        if self.creds.is_paired() {
            return Err(SendError::PairCode("device is already paired"));
        }
        if phone.is_empty() || !phone.bytes().all(|c| c.is_ascii_digit()) {
            return Err(SendError::PairCode("phone must be digits only"));
        }
        if !self.is_connected() {
            return Err(SendError::NotConnected);
        }
        let code = pair_code::generate_code(&mut self.rng);
        let ephemeral = KeyPair::generate(&mut self.rng);
        let phone = Jid::new(phone, binary::jid::USER_SERVER);
        let display = format!("{} ({})", self.cfg.client.browser, self.cfg.client.os);
        let platform_id = (self.cfg.client.platform_type() as i32).to_string();
        let reg = pair_code::companion_hello(
            &phone,
            &code,
            &ephemeral,
            &self.creds.noise_key.public,
            &platform_id,
            &display,
            &mut self.rng,
        );
        let id = self.next_id();
        let iq = md_iq(&id).child(reg);
        self.send_node(&iq)?;
        self.pair_code = Some(PairCodeState {
            code: code.clone(),
            ephemeral,
            phone,
        });
        Ok(code)
    }

    /// Ends the connection locally; emits [`Event::Closed`] with [`CloseReason::Local`].
    pub fn close(&mut self) {
        if !matches!(self.stage, Stage::Closed) {
            self.close_with(CloseReason::Local);
        }
    }

    /// The next WebSocket message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// When to call [`Connection::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.stage, Stage::Closed) {
            return None;
        }
        let qr = self.qr.as_ref().map(|q| q.deadline);
        let ka = self.keepalive.as_ref().map(KeepAlive::deadline);
        match (qr, ka) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn queue_frame(&mut self, payload: &[u8]) -> Result<(), FrameError> {
        let mut out = Vec::with_capacity(payload.len() + 7);
        self.frames_out.encode(payload, &mut out)?;
        self.transmits.push_back(out);
        Ok(())
    }

    fn close_with(&mut self, reason: CloseReason) {
        self.stage = Stage::Closed;
        self.qr = None;
        self.keepalive = None;
        self.events.push_back(Event::Closed(reason));
    }

    fn unix_now(&self, now: Instant) -> u64 {
        self.unix_at_start + now.saturating_duration_since(self.start).as_secs()
    }

    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        match std::mem::replace(&mut self.stage, Stage::Closed) {
            Stage::Handshake(init) => self.finish_handshake(now, *init, frame),
            Stage::Ready(mut t) => {
                let plain = t.decrypt(frame);
                self.stage = Stage::Ready(t);
                match plain
                    .map_err(ProtocolError::from)
                    .and_then(|p| Ok(binary::unmarshal(&p)?))
                {
                    Ok(node) => self.handle_node(now, node),
                    Err(e) => self.close_with(CloseReason::Protocol(e)),
                }
            }
            Stage::Closed => {}
        }
    }

    fn finish_handshake(&mut self, now: Instant, mut init: Initiator, frame: &[u8]) {
        let unix = self.unix_now(now);
        if let Err(e) = init.read_server_hello(frame, &self.cfg.trust_root, unix) {
            return self.close_with(CloseReason::Handshake(e));
        }
        let payload = match &self.creds.me {
            Some(me) => match payload::login_payload(me, &self.cfg.client) {
                Ok(p) => p,
                Err(e) => return self.close_with(CloseReason::Protocol(e.into())),
            },
            None => payload::registration_payload(&self.creds, &self.cfg.client),
        };
        match init.finish(&payload.encode_to_vec()) {
            Ok((msg, transport)) => {
                if let Err(e) = self.queue_frame(&msg) {
                    return self.close_with(CloseReason::Protocol(e.into()));
                }
                self.stage = Stage::Ready(Box::new(transport));
                self.events.push_back(Event::Connected);
            }
            Err(e) => self.close_with(CloseReason::Handshake(e)),
        }
    }

    fn send_or_close(&mut self, node: &Node) {
        if let Err(e) = self.send_node(node) {
            let reason = match e {
                SendError::Encode(e) => CloseReason::Protocol(e.into()),
                SendError::Cipher(e) => CloseReason::Protocol(e.into()),
                SendError::Frame(e) => CloseReason::Protocol(e.into()),
                _ => return,
            };
            self.close_with(reason);
        }
    }

    fn handle_node(&mut self, now: Instant, node: Node) {
        match node.tag.as_str() {
            "iq" => self.handle_iq(now, node),
            "success" => {
                self.qr = None;
                let lid = node.attr_jid("lid");
                if lid.is_some() {
                    self.creds.lid = lid.clone();
                }
                self.keepalive = Some(KeepAlive::new(now));
                let id = self.next_id();
                let passive = Node::new("iq")
                    .attr("id", id)
                    .attr("to", Jid::server_jid())
                    .attr("xmlns", "passive")
                    .attr("type", "set")
                    .child(Node::new("active"));
                self.send_or_close(&passive);
                let id = self.next_id();
                self.send_or_close(&prekeys::count_query(&id));
                self.prekey_query = Some(id);
                self.events.push_back(Event::LoggedIn { lid });
            }
            "failure" => {
                let reason = node
                    .attr_str("reason")
                    .map(|s| s.into_owned())
                    .unwrap_or_default();
                let r = if reason == "401" {
                    CloseReason::LoggedOut
                } else {
                    CloseReason::Failure { reason }
                };
                self.close_with(r);
            }
            "stream:error" => {
                let code = node.attr_str("code").map(|s| s.into_owned());
                let restart = code.as_deref() == Some("515");
                self.events.push_back(Event::StreamError {
                    code: code.clone(),
                    node,
                });
                self.close_with(if restart {
                    CloseReason::RestartRequired
                } else {
                    CloseReason::StreamError { code }
                });
            }
            "xmlstreamend" => self.close_with(CloseReason::StreamEnd),
            "notification"
                if node.attr_str("type").as_deref() == Some("link_code_companion_reg")
                    && self.pair_code.is_some() =>
            {
                self.handle_link_code(&node);
            }
            _ => self.events.push_back(Event::Node(node)),
        }
    }

    fn handle_iq(&mut self, now: Instant, node: Node) {
        let ty = node
            .attr_str("type")
            .map(|s| s.into_owned())
            .unwrap_or_default();
        let id = node
            .attr_str("id")
            .map(|s| s.into_owned())
            .unwrap_or_default();
        if ty == "set" {
            if let Some(pd) = pair::parse_pair_device(&node) {
                self.send_or_close(&pair::iq_result(&pd.iq_id));
                self.qr = Some(QrState {
                    refs: pd.refs.into(),
                    deadline: now,
                    shown: 0,
                });
                self.next_qr(now);
                return;
            }
            if node.get_child("pair-success").is_some() {
                match pair::handle_pair_success(&node, &self.creds, &mut self.rng) {
                    Ok(ok) => {
                        self.qr = None;
                        self.pair_code = None;
                        self.creds.me = Some(ok.jid.clone());
                        self.creds.lid = ok.lid.clone();
                        self.creds.account = Some(ok.account);
                        self.creds.platform = ok.platform.clone();
                        self.creds.business_name = ok.business_name.clone();
                        self.send_or_close(&ok.reply);
                        self.events.push_back(Event::Paired {
                            jid: ok.jid,
                            lid: ok.lid,
                            business_name: ok.business_name,
                            platform: ok.platform,
                        });
                    }
                    Err(e) => self.close_with(CloseReason::Protocol(e.into())),
                }
                return;
            }
        }
        if ty == "result" || ty == "error" {
            if let Some(k) = &mut self.keepalive
                && k.handle_response(&id, now)
            {
                return;
            }
            if self.prekey_query.as_deref() == Some(id.as_str()) {
                self.prekey_query = None;
                if let Some(count) = prekeys::parse_count(&node) {
                    self.events.push_back(Event::PreKeyCount {
                        count,
                        low: count < prekeys::MIN_PREKEY_COUNT,
                    });
                    return;
                }
            }
        }
        self.events.push_back(Event::Node(node));
    }

    fn handle_link_code(&mut self, node: &Node) {
        let Some(state) = &self.pair_code else { return };
        let Some(reg) = node.get_child("link_code_companion_reg") else {
            return self.events.push_back(Event::Node(node.clone()));
        };
        if reg.attr_str("stage").as_deref() != Some("primary_hello") {
            return self.events.push_back(Event::Node(node.clone()));
        }
        let rnd = pair_code::FinishRandom::draw(&mut self.rng);
        match pair_code::companion_finish(
            reg,
            &state.phone,
            &state.code,
            &state.ephemeral,
            &self.creds.identity_key,
            rnd,
        ) {
            Ok(fin) => {
                self.creds.adv_secret = fin.adv_secret;
                self.qr = None;
                let ack = crate::receipt::message_ack(node);
                self.send_or_close(&ack);
                let id = self.next_id();
                let iq = md_iq(&id).child(fin.node);
                self.send_or_close(&iq);
            }
            Err(e) => self.close_with(CloseReason::Protocol(e.into())),
        }
    }

    fn next_qr(&mut self, now: Instant) {
        let Some(qr) = &mut self.qr else { return };
        match qr.refs.pop_front() {
            Some(r) => {
                let ttl = if qr.shown == 0 {
                    pair::QR_FIRST_TTL
                } else {
                    pair::QR_NEXT_TTL
                };
                qr.shown += 1;
                qr.deadline = now + ttl;
                let code = pair::qr_string(&r, &self.creds, self.cfg.qr_link_prefix);
                self.events.push_back(Event::QrCode {
                    code,
                    expires_in: ttl,
                });
            }
            None => self.close_with(CloseReason::QrExhausted),
        }
    }
}

fn md_iq(id: &str) -> Node {
    Node::new("iq")
        .attr("to", Jid::server_jid())
        .attr("type", "set")
        .attr("id", id)
        .attr("xmlns", "md")
}
