//! Pairing against the oracle: pair-success stanzas built by the oracle's logic are
//! accepted (and tampered ones rejected) by ours, our pair-device-sign reply has the
//! oracle's shape and a device signature that verifies; registration/login payloads,
//! pairing-code crypto and the pre-key upload stanza match the oracle's bytes.

mod common;
use common::*;
use prost::Message;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_proto::binary::{Content, Jid, marshal, unmarshal};
use wa_proto::creds::{Credentials, SignedPreKey};
use wa_proto::keys::KeyPair;
use wa_proto::pair::{self, PairError};
use wa_proto::pair_code;
use wa_proto::payload::{self, ClientConfig};
use wa_proto::prekeys::{self, PreKey};

fn fixed(label: &str) -> KeyPair {
    use sha2::{Digest, Sha256};
    KeyPair::from_private(Sha256::digest(format!("wa-proto vector: {label}")).into())
}

fn creds(v: &serde_json::Value) -> Credentials {
    let mut c = Credentials::generate(&mut ChaCha20Rng::seed_from_u64(1));
    c.identity_key = fixed("identity");
    c.registration_id = 0x1234;
    c.signed_pre_key = SignedPreKey {
        id: 1,
        key: fixed("signed_prekey"),
        signature: [7; 64],
    };
    c.adv_secret = hexf(v, "adv_secret").try_into().unwrap();
    c
}

#[test]
fn oracle_pair_success_is_accepted_and_our_reply_verifies() {
    let v = vectors("pair.json");
    let c = creds(&v);
    let account = fixed("account");
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for case in v["pair_success"].as_array().unwrap() {
        let stanza = unmarshal(&hexf(case, "stanza")).unwrap();
        let res = pair::handle_pair_success(&stanza, &c, &mut rng);
        if case["name"] == "bad_hmac" {
            assert_eq!(res.unwrap_err(), PairError::HmacMismatch);
            assert!(case["oracle_error"].is_string());
            continue;
        }
        let ok = res.unwrap();
        assert_eq!(ok.jid.to_string(), v["jid"]);
        assert_eq!(
            ok.lid.as_ref().map(Jid::to_string).as_deref(),
            Some("123456789012345:9@lid")
        );
        assert_eq!(ok.business_name.as_deref(), Some("Acme"));
        assert_eq!(ok.platform.as_deref(), Some("android"));
        assert_eq!(ok.key_index, 3);
        // Same tree as the oracle's reply except the (randomized) device signature.
        let ours = to_json(&ok.reply);
        let theirs = normalize(&case["oracle_reply"]);
        let strip = |j: &serde_json::Value| {
            let mut j = j.clone();
            let di = &mut j["content"]["nodes"][0]["content"]["nodes"][0];
            let b = unhex(di["content"]["bytes"].as_str().unwrap());
            let mut s = wa_proto::proto::adv::AdvSignedDeviceIdentity::decode(&b[..]).unwrap();
            assert!(s.device_signature.take().is_some());
            assert!(
                s.account_signature_key.is_none(),
                "reply must omit the account key"
            );
            di["content"]["bytes"] = hex::encode(s.encode_to_vec()).into();
            j
        };
        assert_eq!(strip(&ours), strip(&theirs));
        let hosted = case["hosted"].as_bool().unwrap();
        assert_eq!(
            pair::verify_pair_device_sign(
                &ok.reply,
                &c.identity_key.public,
                &account.public,
                hosted
            ),
            Ok(3)
        );
        // The oracle's own device signature verifies with our verifier too.
        let oracle_reply = from_json(&case["oracle_reply"]);
        assert_eq!(
            pair::verify_pair_device_sign(
                &oracle_reply,
                &c.identity_key.public,
                &account.public,
                hosted
            ),
            Ok(3)
        );
        // Wrong identity: our signature check must fail.
        let mut other = c.clone();
        other.identity_key = fixed("someone else");
        assert_eq!(
            pair::handle_pair_success(&stanza, &other, &mut rng).unwrap_err(),
            PairError::BadAccountSignature
        );
    }
}

#[test]
fn payloads_match_the_oracle() {
    let v = vectors("pair.json");
    let c = creds(&v);
    let cfg = ClientConfig::default();
    assert_eq!(
        hex::encode(payload::registration_payload(&c, &cfg).encode_to_vec()),
        v["registration_payload"]
    );
    let me: Jid = v["jid"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        hex::encode(payload::login_payload(&me, &cfg).unwrap().encode_to_vec()),
        v["login_payload"]
    );
    assert!(payload::login_payload(&Jid::new("abc", "lid"), &cfg).is_err());
}

#[test]
fn pairing_code_crypto_matches_the_oracle() {
    let v = vectors("pair.json");
    let pc = &v["pair_code"];
    let code = pc["code"].as_str().unwrap();
    pair_code::validate_code(code).unwrap();
    // Code from 5 fixed bytes.
    struct Fixed(Vec<u8>);
    impl rand_core::RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            unimplemented!()
        }
        fn next_u64(&mut self) -> u64 {
            unimplemented!()
        }
        fn fill_bytes(&mut self, d: &mut [u8]) {
            d.copy_from_slice(&self.0[..d.len()]);
        }
        fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(d);
            Ok(())
        }
    }
    impl rand_core::CryptoRng for Fixed {}
    assert_eq!(
        pair_code::generate_code(&mut Fixed(hexf(pc, "crockford_input"))),
        code
    );

    let eph = fixed("pair_code_companion_ephemeral");
    assert_eq!(
        hex::encode(pair_code::wrap_key(code, &eph.public, [1; 32], [2; 16])),
        pc["companion_wrapped"]
    );
    let me: Jid = v["jid"].as_str().unwrap().parse().unwrap();
    let notif = unmarshal(&hexf(pc, "notification")).unwrap();
    let reg = notif.get_child("link_code_companion_reg").unwrap();
    let rnd = pair_code::FinishRandom {
        random: hexf(pc, "random").try_into().unwrap(),
        salt: hexf(pc, "salt").try_into().unwrap(),
        iv: hexf(pc, "iv").try_into().unwrap(),
    };
    let fin = pair_code::companion_finish(reg, &me, code, &eph, &fixed("identity"), rnd).unwrap();
    assert_eq!(hex::encode(fin.adv_secret), pc["adv_secret"]);
    let bundle = fin
        .node
        .get_child("link_code_pairing_wrapped_key_bundle")
        .unwrap();
    assert_eq!(
        bundle.content,
        Content::Bytes(hexf(pc, "wrapped_key_bundle"))
    );
    assert_eq!(
        fin.node
            .get_child("link_code_pairing_ref")
            .unwrap()
            .content_bytes(),
        Some(&b"ref-abc"[..])
    );
    // Wrong code: the unwrapped key differs, so the ADV secret differs.
    let wrong =
        pair_code::companion_finish(reg, &me, "ZZZZZZZZ", &eph, &fixed("identity"), rnd).unwrap();
    assert_ne!(wrong.adv_secret, fin.adv_secret);
    assert_eq!(
        pair_code::unwrap_key(code, &[0; 79]),
        Err(pair_code::PairCodeError::BadLength("wrapped ephemeral key"))
    );
    assert_eq!(
        pair_code::validate_code("ABCDEFGI"),
        Err(pair_code::PairCodeError::BadCode)
    );
}

#[test]
fn prekey_upload_matches_the_oracle() {
    let v = vectors("pair.json");
    let c = creds(&v);
    let keys: Vec<PreKey> = (1..=3)
        .map(|i| PreKey {
            id: i,
            key: fixed(&format!("prekey_{i}")),
        })
        .collect();
    let node = prekeys::upload_node("pk-1", &c, &keys);
    assert_eq!(to_json(&node), normalize(&v["prekey_upload"]["tree"]));
    assert_eq!(
        to_json(&unmarshal(&marshal(&node).unwrap()).unwrap()),
        normalize(&v["prekey_upload"]["tree"])
    );
}
