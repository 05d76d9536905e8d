//! Writes OUR encodings to a JSON file for the oracle's live re-check
//! (`tests/oracle/run.sh live` runs this, then `check-live.mjs`):
//! random node trees (seeded) and the corpus encoded by us, a full handshake run by our
//! initiator and responder (fresh server keys, cert chain signed by our XEdDSA), and our
//! pair-device-sign reply. Usage: `cargo run -p wa-proto --example oracle_emit -- OUT.json`.

use prost::Message;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Value as J, json};
use wa_proto::binary::{Content, Jid, Node, Value, marshal, unmarshal};
use wa_proto::cert::issue_chain;
use wa_proto::creds::{Credentials, SignedPreKey};
use wa_proto::frame::{CONNECTION_HEADER, FrameEncoder};
use wa_proto::handshake::{Initiator, Responder};
use wa_proto::keys::KeyPair;
use wa_proto::pair;

fn oracle_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Jid(j) if j.user.is_empty() => format!("@{}", j.server),
        Value::Jid(j) => j.to_string(),
    }
}

fn to_json(n: &Node) -> J {
    let attrs: Vec<(String, String)> = n
        .attrs
        .iter()
        .map(|(k, v)| (k.clone(), oracle_text(v)))
        .collect();
    let content = match &n.content {
        Content::None => J::Null,
        Content::Nodes(c) => json!({ "nodes": c.iter().map(to_json).collect::<Vec<_>>() }),
        Content::Bytes(b) => json!({ "bytes": hex::encode(b) }),
        Content::Str(s) => json!({ "str": s }),
    };
    json!({ "tag": n.tag, "attrs": attrs, "content": content })
}

const TOKENS: &[&str] = &[
    "iq",
    "message",
    "receipt",
    "to",
    "from",
    "id",
    "type",
    "enc",
    "participant",
    "notification",
    "w:p",
    "md",
    "result",
    "get",
    "set",
];

fn rand_string(r: &mut ChaCha20Rng) -> String {
    match r.next_u32() % 6 {
        0 => TOKENS[(r.next_u32() as usize) % TOKENS.len()].to_string(),
        1 => (0..1 + r.next_u32() % 30)
            .map(|_| b"0123456789-."[(r.next_u32() % 12) as usize] as char)
            .collect(),
        2 => (0..1 + r.next_u32() % 30)
            .map(|_| b"0123456789ABCDEF"[(r.next_u32() % 16) as usize] as char)
            .collect(),
        3 => "Grüße 🙂 ".repeat(1 + (r.next_u32() % 3) as usize),
        4 => "x".repeat(250 + (r.next_u32() % 100) as usize),
        _ => (0..r.next_u32() % 20)
            .map(|_| (b'a' + (r.next_u32() % 26) as u8) as char)
            .collect(),
    }
}

fn rand_value(r: &mut ChaCha20Rng) -> Value {
    match r.next_u32() % 5 {
        0 => Value::Jid(Jid::device(
            (1000 + r.next_u32() % 1_000_000).to_string(),
            (1 + r.next_u32() % 90) as u16,
            "s.whatsapp.net",
        )),
        1 => Value::Jid(Jid::new(
            (r.next_u32() % 1_000_000).to_string(),
            ["g.us", "lid", "broadcast", "newsletter"][(r.next_u32() % 4) as usize],
        )),
        _ => Value::Str(rand_string(r)),
    }
}

fn rand_node(r: &mut ChaCha20Rng, depth: u32) -> Node {
    let mut n = Node::new(TOKENS[(r.next_u32() as usize) % TOKENS.len()]);
    for i in 0..r.next_u32() % 4 {
        n.set_attr(format!("a{i}"), rand_value(r));
    }
    n.content = match r.next_u32() % if depth >= 3 { 3 } else { 4 } {
        0 => Content::None,
        1 => {
            let mut b = vec![0u8; (r.next_u32() % 400) as usize];
            r.fill_bytes(&mut b);
            Content::Bytes(b)
        }
        2 => {
            // Only dictionary tokens stay strings on the wire; other text arrives as bytes.
            let (single, _) = wa_proto::binary::token::dictionaries();
            Content::Str(single[1 + (r.next_u32() as usize) % (single.len() - 1)].into())
        }
        _ => Content::Nodes(
            (0..r.next_u32() % 5)
                .map(|_| rand_node(r, depth + 1))
                .collect(),
        ),
    };
    n
}

fn vectors(name: &str) -> J {
    let p = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).expect("fixture")).expect("json")
}

fn key(v: &J, name: &str) -> KeyPair {
    KeyPair::from_private(
        hex::decode(v["keys"][name]["private"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    )
}

fn main() {
    let out = std::env::args().nth(1).expect("output path");
    let mut nodes = Vec::new();
    for seed in 1..=300u64 {
        let n = rand_node(&mut ChaCha20Rng::seed_from_u64(seed), 0);
        nodes.push(
            json!({ "seed": seed, "hex": hex::encode(marshal(&n).unwrap()), "tree": to_json(&n) }),
        );
    }
    let nv = vectors("nodes.json");
    for c in nv["corpus"].as_array().unwrap() {
        let n = unmarshal(&hex::decode(c["hex"].as_str().unwrap()).unwrap()).unwrap();
        nodes.push(
            json!({ "seed": null, "hex": hex::encode(marshal(&n).unwrap()), "tree": to_json(&n) }),
        );
    }

    // Handshake: our initiator (with the oracle vector's client keys) vs our responder
    // with fresh server keys and a chain signed by our XEdDSA.
    let v = vectors("noise.json");
    let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
    let (root, inter, ss, se) = (
        KeyPair::generate(&mut rng),
        KeyPair::generate(&mut rng),
        KeyPair::generate(&mut rng),
        KeyPair::generate(&mut rng),
    );
    let now = v["now"].as_u64().unwrap();
    let chain = issue_chain(&root, 0, &inter, &ss.public, now - 60, now + 3600, &mut rng);
    let mut init = Initiator::new(
        &CONNECTION_HEADER,
        key(&v, "client_ephemeral"),
        key(&v, "client_static"),
    );
    let mut resp = Responder::new(&CONNECTION_HEADER, se.clone(), ss.clone(), chain.clone());
    resp.read_client_hello(&init.client_hello()).unwrap();
    let server_hello = resp.server_hello().unwrap();
    let root_trust = wa_proto::cert::TrustRoot {
        key: root.public,
        serial: 0,
    };
    init.read_server_hello(&server_hello, &root_trust, now)
        .unwrap();
    let payload = hex::decode(v["client_payload"].as_str().unwrap()).unwrap();
    let (finish, mut ct) = init.finish(&payload).unwrap();
    let mut st = resp.read_client_finish(&finish).unwrap().transport;
    let sample: Vec<Node> = nv["corpus"].as_array().unwrap()[..4]
        .iter()
        .map(|c| unmarshal(&hex::decode(c["hex"].as_str().unwrap()).unwrap()).unwrap())
        .collect();
    let mut enc = FrameEncoder::server();
    let frame = |enc: &mut FrameEncoder, p: &[u8]| {
        let mut o = Vec::new();
        enc.encode(p, &mut o).unwrap();
        hex::encode(o)
    };
    let s2c: Vec<String> = sample
        .iter()
        .map(|n| frame(&mut enc, &st.encrypt(&marshal(n).unwrap()).unwrap()))
        .collect();
    let c2s: Vec<String> = sample
        .iter()
        .map(|n| frame(&mut enc, &ct.encrypt(&marshal(n).unwrap()).unwrap()))
        .collect();

    // Our pair-device-sign for the oracle-built pair-success.
    let pv = vectors("pair.json");
    let mut creds = Credentials::generate(&mut rng);
    use sha2::Digest;
    creds.identity_key =
        KeyPair::from_private(sha2::Sha256::digest("wa-proto vector: identity").into());
    creds.signed_pre_key = SignedPreKey::generate(&creds.identity_key, 1, &mut rng);
    creds.adv_secret = hex::decode(pv["adv_secret"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let mut replies = Vec::new();
    for case in pv["pair_success"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["oracle_error"].is_null())
    {
        let stanza = unmarshal(&hex::decode(case["stanza"].as_str().unwrap()).unwrap()).unwrap();
        let ok = pair::handle_pair_success(&stanza, &creds, &mut rng).unwrap();
        let signed = wa_proto::proto::adv::AdvSignedDeviceIdentity::decode(
            ok.reply
                .get_child("pair-device-sign")
                .unwrap()
                .get_child("device-identity")
                .unwrap()
                .content_bytes()
                .unwrap(),
        )
        .unwrap();
        replies.push(json!({
            "hosted": case["hosted"],
            "reply_hex": hex::encode(marshal(&ok.reply).unwrap()),
            "details": hex::encode(signed.details()),
            "device_signature": hex::encode(signed.device_signature()),
        }));
    }

    let doc = json!({
        "nodes": nodes,
        "handshake": {
            "root_public": hex::encode(root.public), "server_static_public": hex::encode(ss.public),
            "cert_chain": hex::encode(&chain), "server_hello": hex::encode(&server_hello),
            "client_finish": hex::encode(&finish), "s2c_frames": s2c, "c2s_frames": c2s,
            "trees": sample.iter().map(to_json).collect::<Vec<_>>(),
        },
        "pair_device_sign": replies,
    });
    std::fs::write(&out, serde_json::to_string(&doc).unwrap()).expect("write");
    eprintln!("wrote {out}");
}
