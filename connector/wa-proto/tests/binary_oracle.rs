//! Binary nodes against the oracle's frozen vectors, both directions: the oracle's bytes
//! decode in ours to the oracle's tree, and our re-encoding is byte-identical to the
//! oracle's (so the oracle decodes it to the same tree).

mod common;
use common::*;
use sha2::{Digest, Sha256};
use wa_proto::binary::{Content, DecodeError, Node, marshal, unmarshal};

fn check(v: &serde_json::Value, what: &str) {
    let bytes = hexf(v, "hex");
    let ours = unmarshal(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        to_json(&ours),
        normalize(&v["tree"]),
        "{what}: decoded tree"
    );
    if bytes[0] == 0 {
        assert_eq!(
            hex::encode(marshal(&ours).unwrap()),
            hex::encode(&bytes),
            "{what}: re-encoding"
        );
    }
    // The oracle tree rebuilt from JSON also encodes to the oracle's bytes' tree.
    let rebuilt = marshal(&from_json(&v["tree"])).unwrap();
    assert_eq!(
        to_json(&unmarshal(&rebuilt).unwrap()),
        normalize(&v["tree"]),
        "{what}: from json"
    );
}

#[test]
fn sample_from_the_map() {
    let v = vectors("nodes.json");
    assert_eq!(
        v["sample"]["hex"],
        "00f80a1908ff04123a45b6110304291657f802f80156f8061d51450453fc03010203"
    );
    check(&v["sample"], "sample");
    let n = unmarshal(&hexf(&v["sample"], "hex")).unwrap();
    assert_eq!(
        n.to_string(),
        r#"<iq id="123-45.6" to="s.whatsapp.net" type="get" xmlns="w:p"><ping/><enc v="2" type="pkmsg">010203</enc></iq>"#
    );
}

#[test]
fn corpus_wide_and_compressed() {
    let v = vectors("nodes.json");
    for (i, c) in v["corpus"].as_array().unwrap().iter().enumerate() {
        check(c, &format!("corpus {i}"));
    }
    check(&v["wide"], "wide (LIST_16)");
    for (i, c) in v["compressed"].as_array().unwrap().iter().enumerate() {
        check(c, &format!("compressed {i}"));
    }
}

#[test]
fn random_trees_with_seeds() {
    let v = vectors("nodes.json");
    let random = v["random"].as_array().unwrap();
    assert!(random.len() >= 400);
    for c in random {
        check(c, &format!("random seed {}", c["seed"]));
    }
}

#[test]
fn binary_32_content() {
    let v = vectors("nodes.json");
    let len = v["big"]["len"].as_u64().unwrap() as usize;
    let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let node = Node::new("media")
        .attr("type", "image")
        .bytes(content.clone());
    let bytes = marshal(&node).unwrap();
    assert_eq!(hex::encode(&bytes[..16]), v["big"]["head"]);
    assert_eq!(hex::encode(Sha256::digest(&bytes)), v["big"]["sha256"]);
    assert_eq!(unmarshal(&bytes).unwrap().content, Content::Bytes(content));
}

#[test]
fn bad_zlib_is_an_error() {
    assert!(matches!(
        unmarshal(&[2, 1, 2, 3]),
        Err(DecodeError::BadZlib(_))
    ));
    assert_eq!(unmarshal(&[]), Err(DecodeError::Empty));
}
