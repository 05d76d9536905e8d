//! A line-based JSON peer over stdin/stdout for the oracle's two-way live check
//! (`tests/oracle/run.sh crypto-live` drives it from `check-crypto-live.mjs`): one JSON
//! command per line in, one JSON answer per line out. It holds one Signal identity in a
//! `MemoryStore` plus app-state collection states, and encrypts/decrypts files for media.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use prost::Message;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value as J, json};
use wa_proto::appstate::mac::Operation;
use wa_proto::appstate::{CollectionState, PatchInput, encode_patch};
use wa_proto::creds::SignedPreKey;
use wa_proto::keys::KeyPair;
use wa_proto::media::{self, ExpectedHashes, MediaType, Parallelism};
use wa_proto::prekeys::PreKey;
use wa_proto::proto::appstate::SyncActionValue;
use wa_proto::signal::keys::LocalIdentity;
use wa_proto::signal::sender_key::{SenderKeyDistributionMessage, SenderKeyName};
use wa_proto::signal::store::{self, MemoryStore, TrustPolicy};
use wa_proto::signal::{PreKeyBundle, ProtocolAddress, PublicKey};

fn h(v: &J, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap_or_else(|| panic!("missing {k}"))).expect("hex")
}
fn addr(s: &str) -> ProtocolAddress {
    let (n, d) = s.rsplit_once('.').expect("name.device");
    ProtocolAddress::new(n, d.parse().expect("device"))
}
fn pk(b: Vec<u8>) -> PublicKey {
    PublicKey::from_slice(&b).expect("public key")
}
fn k32(b: Vec<u8>) -> [u8; 32] {
    b.try_into().expect("32 bytes")
}

fn main() {
    let mut rng = ChaCha20Rng::from_entropy();
    let mut st: Option<MemoryStore> = None;
    let mut collections: HashMap<String, CollectionState> = HashMap::new();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let c: J = serde_json::from_str(&line.expect("line")).expect("json");
        let reply = match c["op"].as_str().unwrap() {
            "new_identity" => {
                let id = KeyPair::generate(&mut rng);
                let mut s = MemoryStore::new(LocalIdentity {
                    key_pair: id.clone(),
                    registration_id: c["reg_id"].as_u64().unwrap() as u32,
                });
                let spk = SignedPreKey::generate(&id, 1, &mut rng);
                let opk = PreKey {
                    id: 5,
                    key: KeyPair::generate(&mut rng),
                };
                let r = json!({
                    "identity": hex::encode(id.public_prefixed()),
                    "spk_id": 1, "spk": hex::encode(spk.key.public_prefixed()), "spk_sig": hex::encode(spk.signature),
                    "opk_id": 5, "opk": hex::encode(opk.key.public_prefixed()),
                });
                s.signed_pre_keys.insert(1, spk);
                s.pre_keys.insert(5, opk);
                st = Some(s);
                r
            }
            "bundle" => {
                let s = st.as_mut().unwrap();
                let bundle = PreKeyBundle {
                    registration_id: c["reg_id"].as_u64().unwrap() as u32,
                    identity_key: pk(h(&c, "identity")),
                    signed_pre_key_id: c["spk_id"].as_u64().unwrap() as u32,
                    signed_pre_key: pk(h(&c, "spk")),
                    signed_pre_key_signature: h(&c, "spk_sig").try_into().unwrap(),
                    pre_key: c
                        .get("opk")
                        .map(|_| (c["opk_id"].as_u64().unwrap() as u32, pk(h(&c, "opk")))),
                };
                match store::process_bundle(
                    s,
                    &addr(c["peer"].as_str().unwrap()),
                    &bundle,
                    TrustPolicy::AcceptAndReport,
                    &mut rng,
                ) {
                    Ok(_) => json!({"ok": true}),
                    Err(e) => json!({"ok": false, "error": e.to_string()}),
                }
            }
            "encrypt" => {
                let s = st.as_mut().unwrap();
                let m = store::encrypt(
                    s,
                    &addr(c["peer"].as_str().unwrap()),
                    &h(&c, "plaintext"),
                    TrustPolicy::AcceptAndReport,
                )
                .unwrap();
                json!({"type": m.enc_type(), "body": hex::encode(m.bytes())})
            }
            "decrypt" => {
                let s = st.as_mut().unwrap();
                match store::decrypt(
                    s,
                    &addr(c["peer"].as_str().unwrap()),
                    c["type"] == "pkmsg",
                    &h(&c, "body"),
                    TrustPolicy::AcceptAndReport,
                    &mut rng,
                ) {
                    Ok(d) => json!({"ok": true, "plaintext": hex::encode(d.plaintext)}),
                    Err(e) => json!({"ok": false, "error": e.to_string()}),
                }
            }
            "group_create" | "group_process" | "group_encrypt" | "group_decrypt" => {
                let s = st.as_mut().unwrap();
                let name = SenderKeyName {
                    group_id: c["group"].as_str().unwrap().into(),
                    sender: addr(c["sender"].as_str().unwrap()),
                };
                match c["op"].as_str().unwrap() {
                    "group_create" => {
                        json!({"skdm": hex::encode(store::create_distribution(s, &name, &mut rng).unwrap().serialize())})
                    }
                    "group_process" => {
                        let m = SenderKeyDistributionMessage::parse(&h(&c, "skdm")).unwrap();
                        store::process_distribution(s, &name, &m).unwrap();
                        json!({"ok": true})
                    }
                    "group_encrypt" => {
                        json!({"body": hex::encode(store::group_encrypt(s, &name, &h(&c, "plaintext"), &mut rng).unwrap())})
                    }
                    _ => match store::group_decrypt(s, &name, &h(&c, "body")) {
                        Ok(p) => json!({"ok": true, "plaintext": hex::encode(p)}),
                        Err(e) => json!({"ok": false, "error": e.to_string()}),
                    },
                }
            }
            "media_encrypt_file" => {
                let ty = MediaType::from_name(c["type"].as_str().unwrap()).unwrap();
                let input = std::io::BufReader::new(
                    std::fs::File::open(c["in"].as_str().unwrap()).unwrap(),
                );
                let output = std::io::BufWriter::new(
                    std::fs::File::create(c["out"].as_str().unwrap()).unwrap(),
                );
                let par = match c["threads"].as_u64() {
                    Some(2) => Parallelism::Two,
                    _ => Parallelism::One,
                };
                let r =
                    media::encrypt_stream_with(&k32(h(&c, "media_key")), ty, input, output, par)
                        .unwrap();
                json!({"file_sha256": hex::encode(r.file_sha256), "file_enc_sha256": hex::encode(r.file_enc_sha256), "mac": hex::encode(r.mac), "file_length": r.file_length})
            }
            "media_decrypt_file" => {
                let ty = MediaType::from_name(c["type"].as_str().unwrap()).unwrap();
                let input = std::io::BufReader::new(
                    std::fs::File::open(c["in"].as_str().unwrap()).unwrap(),
                );
                let output = std::io::sink();
                let exp = ExpectedHashes {
                    file_enc_sha256: Some(k32(h(&c, "file_enc_sha256"))),
                    file_sha256: Some(k32(h(&c, "file_sha256"))),
                };
                match media::decrypt_stream(&k32(h(&c, "media_key")), ty, &exp, input, output) {
                    Ok(r) => json!({"ok": true, "file_length": r.file_length}),
                    Err(e) => json!({"ok": false, "error": e.to_string()}),
                }
            }
            "appstate_encode" => {
                let name = c["name"].as_str().unwrap();
                let state = collections.entry(name.into()).or_default();
                let input = PatchInput {
                    name,
                    index: c["index"].as_str().unwrap().as_bytes(),
                    value: SyncActionValue::decode(h(&c, "value").as_slice()).unwrap(),
                    api_version: c["api_version"].as_i64().unwrap() as i32,
                    operation: Operation::from_proto(c["operation"].as_i64().unwrap() as i32),
                };
                let (patch, next) = encode_patch(
                    &input,
                    &h(&c, "key_id"),
                    &h(&c, "key_data"),
                    state,
                    &mut rng,
                )
                .unwrap();
                *state = next.clone();
                json!({"patch": hex::encode(patch.encode_to_vec()), "version": next.version, "hash": hex::encode(next.hash.0)})
            }
            op => json!({"error": format!("unknown op {op}")}),
        };
        writeln!(out, "{reply}").unwrap();
        out.flush().unwrap();
    }
}
