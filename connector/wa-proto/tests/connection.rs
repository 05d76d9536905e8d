//! Our client state machine against our server session, driven in virtual time:
//! QR pairing, restart, login, pre-key count, keep-alive, errors.

use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_proto::binary::{Jid, Node};
use wa_proto::cert::{TrustRoot, issue_chain};
use wa_proto::keys::KeyPair;
use wa_proto::pair::{self, PhoneAccount};
use wa_proto::server::{ServerEvent, ServerSession};
use wa_proto::{CloseReason, Config, Connection, Credentials, Event};

const UNIX: u64 = 1_717_171_717;

struct Pair {
    client: Connection<ChaCha20Rng>,
    server: ServerSession,
    now: Instant,
    events: Vec<Event>,
    server_nodes: Vec<Node>,
    server_auth: Vec<ServerEvent>,
}

fn server_keys(seed: u64) -> (KeyPair, ServerSession) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let root = KeyPair::generate(&mut rng);
    let inter = KeyPair::generate(&mut rng);
    let noise = KeyPair::generate(&mut rng);
    let chain = issue_chain(
        &root,
        0,
        &inter,
        &noise.public,
        UNIX - 10,
        UNIX + 86_400,
        &mut rng,
    );
    (
        root,
        ServerSession::new(KeyPair::generate(&mut rng), noise, chain),
    )
}

impl Pair {
    fn new(creds: Credentials, seed: u64) -> Self {
        let (root, server) = server_keys(seed);
        let cfg = Config {
            trust_root: TrustRoot {
                key: root.public,
                serial: 0,
            },
            ..Config::default()
        };
        let now = Instant::now();
        let client = Connection::new(cfg, creds, ChaCha20Rng::seed_from_u64(seed + 1), now, UNIX);
        Self {
            client,
            server,
            now,
            events: vec![],
            server_nodes: vec![],
            server_auth: vec![],
        }
    }

    /// Moves bytes both ways until both sides are idle.
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(b) = self.client.poll_transmit() {
                moved = true;
                for ev in self
                    .server
                    .handle_data(&b)
                    .expect("server accepts client bytes")
                {
                    match ev {
                        ServerEvent::Node(n) => self.server_nodes.push(n),
                        other => self.server_auth.push(other),
                    }
                }
            }
            while let Some(b) = self.server.poll_transmit() {
                moved = true;
                self.client.handle_data(self.now, &b);
            }
            while let Some(e) = self.client.poll_event() {
                self.events.push(e);
            }
            if !moved {
                break;
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.client.poll_timeout().filter(|t| *t <= end) {
            self.now = self.now.max(t);
            self.client.handle_timeout(self.now);
            self.drive();
        }
        self.now = end;
    }

    fn send(&mut self, n: &Node) {
        self.server.send_node(n).unwrap();
        self.drive();
    }
}

fn pair_device(refs: &[&str]) -> Node {
    Node::new("iq")
        .attr("from", Jid::server_jid())
        .attr("id", "pd-1")
        .attr("type", "set")
        .attr("xmlns", "md")
        .child(
            Node::new("pair-device").children(
                refs.iter()
                    .map(|r| Node::new("ref").bytes(r.as_bytes().to_vec())),
            ),
        )
}

#[test]
fn qr_pairing_then_login() {
    let creds = Credentials::generate(&mut ChaCha20Rng::seed_from_u64(7));
    let mut p = Pair::new(creds.clone(), 100);
    p.drive();
    assert_eq!(p.events, vec![Event::Connected]);
    let ServerEvent::Authenticated {
        client_static,
        payload,
    } = &p.server_auth[0]
    else {
        panic!()
    };
    assert_eq!(client_static, &creds.noise_key.public);
    assert!(
        payload.device_pairing_data.is_some(),
        "first link registers"
    );

    p.send(&pair_device(&["ref-1", "ref-2", "ref-3"]));
    assert_eq!(
        p.server_nodes.last().unwrap().attr_str("type").as_deref(),
        Some("result")
    );
    let Some(Event::QrCode { code, expires_in }) = p.events.last().cloned() else {
        panic!("{:?}", p.events)
    };
    assert!(code.starts_with("ref-1,"));
    assert_eq!(code.split(',').count(), 4);
    assert_eq!(expires_in, pair::QR_FIRST_TTL);
    // Rotation: 60 s, then 20 s.
    p.advance(Duration::from_secs(59));
    assert_eq!(
        p.events
            .iter()
            .filter(|e| matches!(e, Event::QrCode { .. }))
            .count(),
        1
    );
    p.advance(Duration::from_secs(1));
    let Some(Event::QrCode { code, expires_in }) = p.events.last().cloned() else {
        panic!()
    };
    assert!(code.starts_with("ref-2,"));
    assert_eq!(expires_in, pair::QR_NEXT_TTL);

    // The phone scans: pair-success, our reply verifies server side.
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let phone = PhoneAccount {
        key: KeyPair::generate(&mut rng),
        companion_jid: "4915112345678:4@s.whatsapp.net".parse().unwrap(),
        companion_lid: None,
        key_index: 2,
        hosted: false,
    };
    p.send(&pair::build_pair_success(
        "ps-1", &creds, &phone, UNIX, &mut rng,
    ));
    let reply = p.server_nodes.last().unwrap().clone();
    assert_eq!(
        pair::verify_pair_device_sign(&reply, &creds.identity_key.public, &phone.key.public, false),
        Ok(2)
    );
    assert!(
        matches!(p.events.last(), Some(Event::Paired { jid, .. }) if jid.to_string() == "4915112345678:4@s.whatsapp.net")
    );
    let paired = p.client.credentials().clone();
    assert!(paired.is_paired());
    // No more QR rotation after pairing; the server asks for a restart.
    p.send(&Node::new("stream:error").attr("code", "515"));
    assert_eq!(
        p.events.last(),
        Some(&Event::Closed(CloseReason::RestartRequired))
    );
    assert_eq!(p.client.poll_timeout(), None);

    // Reconnect with the paired credentials: login payload.
    let mut p = Pair::new(paired, 200);
    p.drive();
    let ServerEvent::Authenticated { payload, .. } = &p.server_auth[0] else {
        panic!()
    };
    assert_eq!(payload.username, Some(4_915_112_345_678));
    assert_eq!(payload.device, Some(4));
    assert!(payload.device_pairing_data.is_none());
    p.send(
        &Node::new("success")
            .attr("t", "1717171717")
            .attr("lid", Jid::device("1234", 4, "lid")),
    );
    assert!(matches!(
        p.events.last(),
        Some(Event::LoggedIn { lid: Some(_) })
    ));
    // passive active + pre-key count query were sent.
    let count_q = p
        .server_nodes
        .iter()
        .find(|n| n.attr_str("xmlns").as_deref() == Some("encrypt"))
        .unwrap()
        .clone();
    assert!(
        p.server_nodes
            .iter()
            .any(|n| n.attr_str("xmlns").as_deref() == Some("passive"))
    );
    let id = count_q.attr_str("id").unwrap().into_owned();
    p.send(
        &Node::new("iq")
            .attr("id", id)
            .attr("type", "result")
            .child(Node::new("count").attr("value", "3")),
    );
    assert_eq!(
        p.events.last(),
        Some(&Event::PreKeyCount {
            count: 3,
            low: true
        })
    );

    // Keep-alive: ping answered, then a ping unanswered times out.
    p.advance(wa_proto::keepalive::INTERVAL);
    let ping = p.server_nodes.last().unwrap().clone();
    assert_eq!(ping.attr_str("xmlns").as_deref(), Some("w:p"));
    let id = ping.attr_str("id").unwrap().into_owned();
    p.send(&Node::new("iq").attr("id", id).attr("type", "result"));
    assert!(
        !p.events.iter().any(|e| matches!(e, Event::Node(_))),
        "pong is consumed"
    );
    p.advance(wa_proto::keepalive::INTERVAL + wa_proto::keepalive::RESPONSE_TIMEOUT);
    assert_eq!(
        p.events.last(),
        Some(&Event::Closed(CloseReason::KeepAliveTimeout))
    );
}

#[test]
fn qr_refs_run_out() {
    let mut p = Pair::new(
        Credentials::generate(&mut ChaCha20Rng::seed_from_u64(1)),
        300,
    );
    p.drive();
    p.send(&pair_device(&["a", "b"]));
    p.advance(Duration::from_secs(60 + 20));
    assert_eq!(
        p.events.last(),
        Some(&Event::Closed(CloseReason::QrExhausted))
    );
}

#[test]
fn untrusted_server_is_rejected() {
    let (_, server) = server_keys(400);
    let mut p = Pair::new(
        Credentials::generate(&mut ChaCha20Rng::seed_from_u64(1)),
        500,
    );
    p.server = server; // chain signed by a root the client does not trust
    p.drive();
    assert!(matches!(
        p.events.last(),
        Some(Event::Closed(CloseReason::Handshake(_)))
    ));
}

#[test]
fn pair_success_with_wrong_secret_closes() {
    let creds = Credentials::generate(&mut ChaCha20Rng::seed_from_u64(7));
    let mut p = Pair::new(creds, 600);
    p.drive();
    let other = Credentials::generate(&mut ChaCha20Rng::seed_from_u64(8));
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let phone = PhoneAccount {
        key: KeyPair::generate(&mut rng),
        companion_jid: "1:1@s.whatsapp.net".parse().unwrap(),
        companion_lid: None,
        key_index: 1,
        hosted: false,
    };
    p.send(&pair::build_pair_success(
        "x", &other, &phone, UNIX, &mut rng,
    ));
    assert!(matches!(
        p.events.last(),
        Some(Event::Closed(CloseReason::Protocol(_)))
    ));
}

#[test]
fn logged_out_and_stream_errors_and_other_nodes() {
    let mut p = Pair::new(
        Credentials::generate(&mut ChaCha20Rng::seed_from_u64(1)),
        700,
    );
    p.drive();
    p.send(&Node::new("message").attr("id", "m1"));
    assert!(matches!(p.events.last(), Some(Event::Node(n)) if n.tag == "message"));
    p.send(&Node::new("failure").attr("reason", "401"));
    assert_eq!(
        p.events.last(),
        Some(&Event::Closed(CloseReason::LoggedOut))
    );
    assert!(p.client.send_node(&Node::new("x")).is_err());
    // Garbage after the handshake closes with a protocol error, never panics.
    let mut p = Pair::new(
        Credentials::generate(&mut ChaCha20Rng::seed_from_u64(1)),
        800,
    );
    p.drive();
    let now = p.now;
    p.client.handle_data(now, &[0, 0, 3, 1, 2, 3]);
    assert!(matches!(
        p.client.poll_event(),
        Some(Event::Closed(CloseReason::Protocol(_)))
    ));
}

#[test]
fn pairing_code_flow() {
    use wa_proto::pair_code;
    let creds = Credentials::generate(&mut ChaCha20Rng::seed_from_u64(11));
    let mut p = Pair::new(creds.clone(), 900);
    p.drive();
    p.send(&pair_device(&["r"]));
    let code = p.client.request_pairing_code("4915112345678").unwrap();
    p.drive();
    pair_code::validate_code(&code).unwrap();
    let hello = p.server_nodes.last().unwrap().clone();
    let reg = hello.get_child("link_code_companion_reg").unwrap();
    assert_eq!(reg.attr_str("stage").as_deref(), Some("companion_hello"));
    // The phone unwraps our ephemeral with the code and answers with its own.
    let wrapped = reg
        .get_child("link_code_pairing_wrapped_companion_ephemeral_pub")
        .unwrap()
        .content_bytes()
        .unwrap();
    let companion_eph = pair_code::unwrap_key(&code, wrapped).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let primary_eph = KeyPair::generate(&mut rng);
    let primary_id = KeyPair::generate(&mut rng);
    let notif = Node::new("notification")
        .attr("from", Jid::server_jid())
        .attr("id", "n1")
        .attr("type", "link_code_companion_reg")
        .child(
            Node::new("link_code_companion_reg")
                .attr("stage", "primary_hello")
                .children([
                    Node::new("link_code_pairing_ref").bytes(b"ref".to_vec()),
                    Node::new("primary_identity_pub").bytes(primary_id.public.to_vec()),
                    Node::new("link_code_pairing_wrapped_primary_ephemeral_pub").bytes(
                        pair_code::wrap_key(&code, &primary_eph.public, [9; 32], [8; 16]),
                    ),
                ]),
        );
    p.send(&notif);
    let finish = p.server_nodes.last().unwrap().clone();
    let fin = finish.get_child("link_code_companion_reg").unwrap();
    assert_eq!(fin.attr_str("stage").as_deref(), Some("companion_finish"));
    assert!(p.server_nodes.iter().any(|n| n.tag == "ack"));
    // Both sides share the ephemeral secret: the phone can open the key bundle.
    assert_eq!(primary_eph.dh(&companion_eph).len(), 32);
    assert_ne!(
        p.client.credentials().adv_secret,
        creds.adv_secret,
        "ADV secret re-derived"
    );
    // Pair-success now authenticates with the derived secret.
    let phone = PhoneAccount {
        key: KeyPair::generate(&mut rng),
        companion_jid: "4915112345678:5@s.whatsapp.net".parse().unwrap(),
        companion_lid: None,
        key_index: 1,
        hosted: false,
    };
    let derived = p.client.credentials().clone();
    p.send(&pair::build_pair_success(
        "ps", &derived, &phone, UNIX, &mut rng,
    ));
    assert!(
        matches!(p.events.last(), Some(Event::Paired { .. })),
        "{:?}",
        p.events.last()
    );
}
