//! Helpers shared by the integration tests: fixture loading and the JSON tree form
//! the oracle scripts use.
#![allow(dead_code)]

use serde_json::{Value as J, json};
use wa_proto::binary::{Content, Jid, Node, Value};

/// Loads a frozen fixture from `tests/vectors/`.
pub fn vectors(name: &str) -> J {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// Hex to bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

/// A JSON field as bytes.
pub fn hexf(v: &J, key: &str) -> Vec<u8> {
    unhex(v[key].as_str().unwrap_or_else(|| panic!("missing {key}")))
}

/// The oracle's textual form of a JID (empty user renders as `@server`).
pub fn oracle_jid(j: &Jid) -> String {
    if j.user.is_empty() {
        format!("@{}", j.server)
    } else {
        j.to_string()
    }
}

/// Our node in the oracle's JSON shape, attributes sorted so order does not matter.
pub fn to_json(n: &Node) -> J {
    let mut attrs: Vec<(String, String)> = n
        .attrs
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Str(s) => s.clone(),
                Value::Jid(j) => oracle_jid(j),
            };
            (k.clone(), v)
        })
        .collect();
    attrs.sort();
    let content = match &n.content {
        Content::None => J::Null,
        Content::Nodes(c) => json!({ "nodes": c.iter().map(to_json).collect::<Vec<_>>() }),
        Content::Bytes(b) => json!({ "bytes": hex::encode(b) }),
        Content::Str(s) => json!({ "str": s }),
    };
    json!({ "tag": n.tag, "attrs": attrs, "content": content })
}

/// Sorts the attributes of an oracle JSON tree, recursively.
pub fn normalize(j: &J) -> J {
    let mut attrs: Vec<(String, String)> = j["attrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
        .collect();
    attrs.sort();
    let content = match j["content"].get("nodes") {
        Some(nodes) => {
            json!({ "nodes": nodes.as_array().unwrap().iter().map(normalize).collect::<Vec<_>>() })
        }
        None => j["content"].clone(),
    };
    json!({ "tag": j["tag"], "attrs": attrs, "content": content })
}

/// Oracle JSON tree -> our node (text containing `@` becomes a JID, as the oracle does).
pub fn from_json(j: &J) -> Node {
    let mut n = Node::new(j["tag"].as_str().unwrap());
    for p in j["attrs"].as_array().unwrap() {
        let (k, v) = (p[0].as_str().unwrap(), p[1].as_str().unwrap());
        if v.contains('@') {
            n = n.attr(k, v.parse::<Jid>().unwrap());
        } else {
            n = n.attr(k, v);
        }
    }
    let c = &j["content"];
    n.content = if let Some(nodes) = c.get("nodes") {
        Content::Nodes(nodes.as_array().unwrap().iter().map(from_json).collect())
    } else if let Some(b) = c.get("bytes") {
        Content::Bytes(unhex(b.as_str().unwrap()))
    } else if let Some(s) = c.get("str") {
        Content::Str(s.as_str().unwrap().into())
    } else {
        Content::None
    };
    n
}
