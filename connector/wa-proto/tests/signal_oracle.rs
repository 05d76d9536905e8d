//! Signal sessions and sender keys against frozen libsignal@6.0.0 / Baileys vectors
//! (`tests/vectors/signal.json`, made by `tests/oracle/gen-signal.mjs`).
//!
//! The oracle's key generation was hooked to a recorded per-party stream; we replay
//! both parties with the same keys, so every ciphertext we produce must be
//! byte-identical to libsignal's (hence decryptable by it), and every message libsignal
//! delivered (reordered, lost, replayed) must decrypt, or fail, exactly as it did.

mod common;

use std::collections::VecDeque;

use common::{hexf, unhex, vectors};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use serde_json::Value as J;
use wa_proto::creds::SignedPreKey;
use wa_proto::keys::KeyPair;
use wa_proto::prekeys::PreKey;
use wa_proto::signal::error::{DecryptError, GroupError};
use wa_proto::signal::group_cipher::{group_decrypt, group_encrypt};
use wa_proto::signal::keys::LocalIdentity;
use wa_proto::signal::sender_key::{SenderKeyDistributionMessage, SenderKeyRecord};
use wa_proto::signal::store::{self, IdentityChange, MemoryStore, StoreOpError, TrustPolicy};
use wa_proto::signal::{PreKeyBundle, ProtocolAddress, PublicKey};

/// Returns the recorded private keys for 32-byte requests, ChaCha bytes otherwise.
struct ScriptedRng {
    keys: VecDeque<[u8; 32]>,
    other: ChaCha20Rng,
}

impl ScriptedRng {
    fn new(keys: &J) -> Self {
        Self {
            keys: keys
                .as_array()
                .unwrap()
                .iter()
                .map(|k| unhex(k.as_str().unwrap()).try_into().unwrap())
                .collect(),
            other: ChaCha20Rng::seed_from_u64(1),
        }
    }
}

impl RngCore for ScriptedRng {
    fn next_u32(&mut self) -> u32 {
        self.other.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.other.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if dest.len() == 32 {
            dest.copy_from_slice(
                &self
                    .keys
                    .pop_front()
                    .expect("recorded key stream exhausted"),
            );
        } else {
            self.other.fill_bytes(dest);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for ScriptedRng {}

fn key(v: &J, k: &str) -> KeyPair {
    KeyPair::from_private(hexf(v, k).try_into().unwrap())
}

#[test]
fn sessions_match_libsignal_byte_for_byte() {
    let v = vectors("signal.json");
    let mut checked = (0, 0, 0);
    for sc in v["sessions"].as_array().unwrap() {
        let (a, b) = (&sc["alice"], &sc["bob"]);
        let alice_local = LocalIdentity {
            key_pair: key(a, "identity_priv"),
            registration_id: a["reg_id"].as_u64().unwrap() as u32,
        };
        let bob_local = LocalIdentity {
            key_pair: key(b, "identity_priv"),
            registration_id: b["reg_id"].as_u64().unwrap() as u32,
        };
        let spk_id = b["spk_id"].as_u64().unwrap() as u32;
        let opk_id = b["opk_id"].as_u64().unwrap() as u32;
        let spk = SignedPreKey {
            id: spk_id,
            key: key(b, "spk_priv"),
            signature: hexf(b, "spk_sig").try_into().unwrap(),
        };
        let opk = PreKey {
            id: opk_id,
            key: key(b, "opk_priv"),
        };
        let with_otk = sc["with_one_time"].as_bool().unwrap();
        let bundle = PreKeyBundle {
            registration_id: bob_local.registration_id,
            identity_key: PublicKey::from(&bob_local.key_pair),
            signed_pre_key_id: spk_id,
            signed_pre_key: PublicKey::from(&spk.key),
            signed_pre_key_signature: spk.signature,
            pre_key: with_otk.then(|| (opk_id, PublicKey::from(&opk.key))),
        };
        let mut alice = MemoryStore::new(alice_local);
        let mut bob = MemoryStore::new(bob_local);
        bob.signed_pre_keys.insert(spk_id, spk);
        if with_otk {
            bob.pre_keys.insert(opk_id, opk);
        }
        let mut alice_rng = ScriptedRng::new(&sc["alice_keys"]);
        let mut bob_rng = ScriptedRng::new(&sc["bob_keys"]);
        let addr_a = ProtocolAddress::new("alice", 1);
        let addr_b = ProtocolAddress::new("bob", 2);
        let change = store::process_bundle(
            &mut alice,
            &addr_b,
            &bundle,
            TrustPolicy::RejectChanges,
            &mut alice_rng,
        )
        .unwrap();
        assert_eq!(change, IdentityChange::New);
        let events = sc["events"].as_array().unwrap();
        for ev in events {
            let alice_is = |who: &J| who.as_str() == Some("alice");
            if ev["op"] == "send" {
                let (st, peer) = if alice_is(&ev["from"]) {
                    (&mut alice, &addr_b)
                } else {
                    (&mut bob, &addr_a)
                };
                let m =
                    store::encrypt(st, peer, &hexf(ev, "plaintext"), TrustPolicy::RejectChanges)
                        .unwrap();
                assert_eq!(m.enc_type(), ev["type"].as_str().unwrap());
                assert_eq!(
                    hex::encode(m.bytes()),
                    ev["body"].as_str().unwrap(),
                    "ciphertext differs from libsignal"
                );
                checked.0 += 1;
            } else {
                let sent = &events[ev["send"].as_u64().unwrap() as usize];
                let (st, peer, rng) = if alice_is(&ev["to"]) {
                    (&mut alice, &addr_b, &mut alice_rng)
                } else {
                    (&mut bob, &addr_a, &mut bob_rng)
                };
                let res = store::decrypt(
                    st,
                    peer,
                    sent["type"] == "pkmsg",
                    &hexf(sent, "body"),
                    TrustPolicy::RejectChanges,
                    rng,
                );
                if ev["ok"].as_bool().unwrap() {
                    let d = res.unwrap_or_else(|e| panic!("{} failed: {e}", sc["name"]));
                    assert_eq!(d.plaintext, hexf(sent, "plaintext"));
                    checked.1 += 1;
                } else {
                    match res {
                        Err(StoreOpError::Protocol(DecryptError::Duplicate { .. })) => {
                            checked.2 += 1
                        }
                        other => panic!("expected a duplicate error, got {other:?}"),
                    }
                }
            }
        }
        assert!(bob.pre_keys.is_empty(), "one-time pre-key consumed");
        // The records survive a serialization round trip mid-conversation.
        for st in [&alice, &bob] {
            for rec in st.sessions.values() {
                let again = wa_proto::signal::SessionRecord::deserialize(&rec.serialize()).unwrap();
                assert_eq!(again.serialize(), rec.serialize());
            }
        }
    }
    assert!(
        checked.0 >= 300 && checked.1 >= 250 && checked.2 >= 10,
        "{checked:?}"
    );
}

#[test]
fn group_messages_from_baileys_decrypt_and_ours_match() {
    let v = vectors("signal.json");
    let g = &v["group"];
    let skdm = SenderKeyDistributionMessage::parse(&hexf(g, "skdm")).unwrap();
    assert_eq!(hex::encode(skdm.serialize()), g["skdm"].as_str().unwrap());
    let mut rec = SenderKeyRecord::new();
    rec.process_distribution(&skdm);
    let msgs = g["messages"].as_array().unwrap();
    let mut oks = 0;
    for d in g["deliveries"].as_array().unwrap() {
        let m = &msgs[d["msg"].as_u64().unwrap() as usize];
        let res = group_decrypt(&mut rec, &hexf(m, "body"));
        if d["ok"].as_bool().unwrap() {
            assert_eq!(res.unwrap(), hexf(m, "plaintext"));
            oks += 1;
        } else {
            assert!(matches!(res, Err(GroupError::Duplicate { .. })), "{res:?}");
        }
    }
    assert_eq!(oks, msgs.len());
    // Our sender with Baileys' initial state: same ciphertext at iteration 0 (the
    // signature differs: XEdDSA nonces are random), and our signature verifies in our
    // receiver (the live check has Baileys verify it).
    let signing = KeyPair::from_private(hexf(g, "signing_priv").try_into().unwrap());
    assert_eq!(PublicKey::from(&signing), skdm.signing_key);
    let mut own = SenderKeyRecord::new();
    own.import_own(&skdm, signing);
    let mut own = SenderKeyRecord::deserialize(&own.serialize()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let first = &msgs[0];
    let out = group_encrypt(&mut own, &hexf(first, "plaintext"), &mut rng).unwrap();
    let theirs = hexf(first, "body");
    assert_eq!(out[..out.len() - 64], theirs[..theirs.len() - 64]);
    let mut recv = SenderKeyRecord::new();
    recv.process_distribution(&skdm);
    assert_eq!(
        group_decrypt(&mut recv, &out).unwrap(),
        hexf(first, "plaintext")
    );
    // Tampering is caught by the signature.
    let mut bad = out.clone();
    let n = bad.len() - 70;
    bad[n] ^= 1;
    let mut recv2 = SenderKeyRecord::new();
    recv2.process_distribution(&skdm);
    assert_eq!(
        group_decrypt(&mut recv2, &bad),
        Err(GroupError::BadSignature)
    );
}
