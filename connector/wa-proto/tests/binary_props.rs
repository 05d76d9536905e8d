//! Property tests: encode/decode round trips, and malformed input yields errors, never panics.

use proptest::prelude::*;
use wa_proto::binary::{Content, DecodeError, Jid, Node, Value, decode, marshal, unmarshal};
use wa_proto::frame::FrameDecoder;

fn token() -> impl Strategy<Value = String> {
    let (single, double) = wa_proto::binary::token::dictionaries();
    let all: Vec<String> = single[1..]
        .iter()
        .chain(double.iter().flat_map(|d| d.iter()))
        .map(|s| s.to_string())
        .collect();
    proptest::sample::select(all)
}

fn jid() -> impl Strategy<Value = Jid> {
    prop_oneof![
        (
            "[0-9]{0,15}",
            0u16..=255,
            prop::sample::select(vec!["s.whatsapp.net", "lid", "hosted", "hosted.lid"])
        )
            .prop_map(|(u, d, s)| Jid::device(u, d, s)),
        (
            "[0-9]{0,18}",
            prop::sample::select(vec!["g.us", "broadcast", "newsletter", "c.us", "bot"])
        )
            .prop_map(|(u, s)| Jid::new(u, s)),
        ("[0-9]{1,15}", any::<u16>()).prop_map(|(u, d)| Jid::device(u, d, "msgr")),
        ("[0-9]{1,15}", any::<u16>(), any::<u16>()).prop_map(|(u, d, i)| {
            let mut j = Jid::device(u, d, "interop");
            j.integrator = i;
            j
        }),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        token(),
        "[0-9.-]{1,130}",
        "[0-9A-F]{1,130}",
        "\\PC{0,40}",
        "[a-z]{250,300}"
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![3 => text().prop_map(Value::Str), 1 => jid().prop_map(Value::Jid)]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = (
        token(),
        prop::collection::btree_map(token(), value(), 0..4),
        prop_oneof![
            Just(Content::None),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(Content::Bytes),
            prop_oneof![token(), "[0-9.-]{1,20}"].prop_map(Content::Str),
        ],
    )
        .prop_map(|(tag, attrs, content)| Node {
            tag,
            attrs: attrs.into_iter().collect(),
            content,
        });
    leaf.prop_recursive(4, 64, 6, |inner| {
        (token(), prop::collection::vec(inner, 0..6))
            .prop_map(|(tag, c)| Node::new(tag).children(c))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(n in node()) {
        let bytes = marshal(&n).unwrap();
        prop_assert_eq!(unmarshal(&bytes).unwrap(), n);
    }

    #[test]
    fn truncation_is_an_error(n in node(), cut in any::<prop::sample::Index>()) {
        let bytes = marshal(&n).unwrap();
        let at = 1 + cut.index(bytes.len() - 1);
        prop_assert!(decode(&bytes[1..at]).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = unmarshal(&data);
        let _ = decode(&data);
        let mut f = FrameDecoder::client();
        f.push(&data);
        while let Ok(Some(_)) = f.next_frame() {}
    }

    #[test]
    fn mutated_encodings_never_panic(n in node(), pos in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut bytes = marshal(&n).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] = b;
        let _ = unmarshal(&bytes);
    }
}

#[test]
fn malformed_inputs_give_typed_errors() {
    // Oversized BINARY_32 length.
    assert!(matches!(
        decode(&[248, 2, 19, 254, 255, 255, 255, 255]),
        Err(DecodeError::UnexpectedEof(_))
    ));
    // Oversized LIST_16 with no children present.
    assert!(matches!(
        decode(&[248, 2, 19, 249, 255, 255]),
        Err(DecodeError::UnexpectedEof(_))
    ));
    // Unknown tag (240 is unassigned).
    assert!(matches!(
        decode(&[248, 1, 240]),
        Err(DecodeError::InvalidTag { tag: 240, .. })
    ));
    // Empty node.
    assert_eq!(decode(&[0]), Err(DecodeError::InvalidNode));
    // Bad nibble.
    assert_eq!(
        decode(&[248, 1, 255, 1, 0xc0]),
        Err(DecodeError::InvalidNibble(12))
    );
    // Unknown AD domain.
    assert_eq!(
        decode(&[248, 3, 19, 17, 247, 7, 1, 3]),
        Err(DecodeError::UnknownDomain(7))
    );
    // Trailing bytes.
    assert_eq!(decode(&[248, 1, 19, 0]), Err(DecodeError::TrailingBytes(1)));
    // Deep nesting is bounded.
    let mut deep = Vec::new();
    for _ in 0..200 {
        deep.extend_from_slice(&[248, 2, 19, 248, 1]);
    }
    assert_eq!(
        decode(&deep),
        Err(DecodeError::TooDeep(wa_proto::binary::MAX_DEPTH))
    );
    // Invalid UTF-8 in an attribute.
    assert_eq!(
        decode(&[248, 3, 19, 17, 252, 1, 0xff]),
        Err(DecodeError::InvalidUtf8)
    );
}
