//! Noise XX against the oracle's transcript: our initiator reproduces the oracle
//! initiator's messages byte for byte, our responder reproduces the server hello and
//! accepts the oracle's client finish, and transport frames decrypt both ways.

mod common;
use common::*;
use prost::Message;
use wa_proto::binary::{marshal, unmarshal};
use wa_proto::cert::{CertError, TrustRoot};
use wa_proto::frame::{CONNECTION_HEADER, FrameDecoder, FrameEncoder};
use wa_proto::handshake::{HandshakeError, Initiator, Responder};
use wa_proto::keys::{self, KeyPair};

fn kp(v: &serde_json::Value, name: &str) -> KeyPair {
    let k = KeyPair::from_private(hexf(&v["keys"][name], "private").try_into().unwrap());
    assert_eq!(
        hex::encode(k.public),
        v["keys"][name]["public"],
        "{name} public"
    );
    k
}

fn root(v: &serde_json::Value) -> TrustRoot {
    TrustRoot {
        key: kp(v, "root").public,
        serial: 0,
    }
}

fn frames(hexes: &serde_json::Value) -> Vec<Vec<u8>> {
    let mut d = FrameDecoder::client();
    for h in hexes.as_array().unwrap() {
        d.push(&unhex(h.as_str().unwrap()));
    }
    std::iter::from_fn(|| d.next_frame().unwrap()).collect()
}

#[test]
fn our_initiator_matches_the_oracle_initiator() {
    let v = vectors("noise.json");
    let mut init = Initiator::new(
        &CONNECTION_HEADER,
        kp(&v, "client_ephemeral"),
        kp(&v, "client_static"),
    );
    let hello = init.client_hello();
    assert_eq!(hex::encode(&hello), v["client_hello"]);
    let mut wire = Vec::new();
    FrameEncoder::client(&CONNECTION_HEADER)
        .encode(&hello, &mut wire)
        .unwrap();
    assert_eq!(hex::encode(&wire), v["client_hello_wire"]);

    let now = v["now"].as_u64().unwrap();
    let ss = init
        .read_server_hello(&hexf(&v, "server_hello"), &root(&v), now)
        .unwrap();
    assert_eq!(ss, kp(&v, "server_static").public);
    let (finish, mut transport) = init.finish(&hexf(&v, "client_payload")).unwrap();
    assert_eq!(hex::encode(&finish), v["client_finish"]);

    // Our transport encrypts exactly what the oracle's client sent...
    let mut enc = FrameEncoder::server(); // header already sent with the hello
    for (frame, tree) in frames(&v["c2s_frames"])
        .iter()
        .zip(v["c2s_trees"].as_array().unwrap())
    {
        let node = from_json(tree);
        let ct = transport.encrypt(&marshal(&node).unwrap()).unwrap();
        assert_eq!(&ct, frame);
        let mut out = Vec::new();
        enc.encode(&ct, &mut out).unwrap();
    }
    // ...and decrypts what the server sent, to the trees the oracle client decoded.
    for (frame, tree) in frames(&v["s2c_frames"])
        .iter()
        .zip(v["s2c_trees"].as_array().unwrap())
    {
        let node = unmarshal(&transport.decrypt(frame).unwrap()).unwrap();
        assert_eq!(to_json(&node), normalize(tree));
    }
}

#[test]
fn our_responder_accepts_the_oracle_initiator() {
    let v = vectors("noise.json");
    let mut resp = Responder::new(
        &CONNECTION_HEADER,
        kp(&v, "server_ephemeral"),
        kp(&v, "server_static"),
        hexf(&v, "cert_chain"),
    );
    let mut d = FrameDecoder::server(CONNECTION_HEADER);
    d.push(&hexf(&v, "client_hello_wire"));
    resp.read_client_hello(&d.next_frame().unwrap().unwrap())
        .unwrap();
    assert_eq!(hex::encode(resp.server_hello().unwrap()), v["server_hello"]);
    let acc = resp.read_client_finish(&hexf(&v, "client_finish")).unwrap();
    assert_eq!(acc.client_static, kp(&v, "client_static").public);
    assert_eq!(hex::encode(&acc.client_payload), v["client_payload"]);
    let mut t = acc.transport;
    for (frame, tree) in frames(&v["c2s_frames"])
        .iter()
        .zip(v["c2s_trees"].as_array().unwrap())
    {
        let node = unmarshal(&t.decrypt(frame).unwrap()).unwrap();
        assert_eq!(to_json(&node), normalize(tree));
    }
    for (frame, tree) in frames(&v["s2c_frames"])
        .iter()
        .zip(v["s2c_trees"].as_array().unwrap())
    {
        assert_eq!(
            &t.encrypt(&marshal(&from_json(tree)).unwrap()).unwrap(),
            frame
        );
    }
}

#[test]
fn oracle_xeddsa_signatures_verify_in_ours() {
    let v = vectors("noise.json");
    let chain = wa_proto::proto::handshake::CertChain::decode(&hexf(&v, "cert_chain")[..]).unwrap();
    let inter = chain.intermediate.unwrap();
    assert!(keys::verify(
        &kp(&v, "root").public,
        inter.details(),
        inter.signature()
    ));
    assert!(!keys::verify(
        &kp(&v, "intermediate").public,
        inter.details(),
        inter.signature()
    ));
}

#[test]
fn bad_certificates_are_rejected() {
    let v = vectors("noise.json");
    let now = v["now"].as_u64().unwrap();
    let run = |root: TrustRoot, now: u64, tamper: Option<usize>| {
        let mut init = Initiator::new(
            &CONNECTION_HEADER,
            kp(&v, "client_ephemeral"),
            kp(&v, "client_static"),
        );
        let mut hello = hexf(&v, "server_hello");
        if let Some(i) = tamper {
            hello[i] ^= 1;
        }
        init.read_server_hello(&hello, &root, now)
    };
    // The production root does not sign the test chain.
    assert_eq!(
        run(TrustRoot::default(), now, None),
        Err(HandshakeError::Cert(CertError::BadIntermediateSignature))
    );
    assert!(matches!(
        run(root(&v), now + 86400 * 400, None),
        Err(HandshakeError::Cert(CertError::Expired { .. }))
    ));
    let n = hexf(&v, "server_hello").len();
    assert!(matches!(
        run(root(&v), now, Some(n - 3)),
        Err(HandshakeError::Cipher(_))
    ));
    assert!(run(root(&v), now, Some(0)).is_err());
    let mut init = Initiator::new(
        &CONNECTION_HEADER,
        kp(&v, "client_ephemeral"),
        kp(&v, "client_static"),
    );
    assert_eq!(
        init.read_server_hello(&[0xff, 0xff], &root(&v), now),
        Err(HandshakeError::Malformed)
    );
}
