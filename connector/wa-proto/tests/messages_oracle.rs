//! The Message protobuf subset: the oracle's encodings decode in our prost types and
//! re-encode to the same bytes (field numbers and types agree).

mod common;
use common::*;
use prost::Message as _;
use wa_proto::proto::message::{Message, message::protocol_message::Type};

#[test]
fn oracle_messages_round_trip() {
    let v = vectors("messages.json");
    for m in v["messages"].as_array().unwrap() {
        let bytes = hexf(m, "hex");
        let ours = Message::decode(&bytes[..]).unwrap_or_else(|e| panic!("{}: {e}", m["name"]));
        assert_eq!(hex::encode(ours.encode_to_vec()), m["hex"], "{}", m["name"]);
        match m["name"].as_str().unwrap() {
            "text" => assert_eq!(ours.conversation(), "hello 🙂"),
            "reaction" => assert_eq!(ours.reaction_message.unwrap().text(), "👍"),
            "edit" => {
                let p = ours.protocol_message.unwrap();
                assert_eq!(p.r#type(), Type::MessageEdit);
                assert_eq!(p.edited_message.unwrap().conversation(), "edited");
            }
            "revoke" => assert_eq!(ours.protocol_message.unwrap().r#type(), Type::Revoke),
            "image" => assert_eq!(ours.image_message.unwrap().caption(), "pic"),
            _ => {}
        }
    }
}
