//! What the stanza builders and parsers share: [`StanzaError`], typed readers for
//! attributes and children, the iq envelope, and the 3-byte key ids of the `encrypt`
//! namespace. Parsers fail with a typed error naming what was wrong instead of
//! guessing defaults, so a malformed server stanza is reported, not misread.

use crate::binary::{Jid, Node, Value};

/// Why a stanza (or a payload carried in one) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StanzaError {
    /// The node is not the element the parser reads.
    #[error("expected <{expected}>, got <{got}>")]
    UnexpectedTag {
        /// The tag the parser reads.
        expected: &'static str,
        /// The tag it was given.
        got: String,
    },
    /// A required attribute is absent.
    #[error("missing attribute {0:?}")]
    MissingAttr(&'static str),
    /// A required child element is absent.
    #[error("missing child <{0}>")]
    MissingChild(&'static str),
    /// An attribute or content is present but unusable (not a number, not a JID, …).
    #[error("invalid {field}: {value:?}")]
    BadValue {
        /// What was being read (attribute or element name).
        field: &'static str,
        /// The offending value, as text.
        value: String,
    },
    /// Binary content has the wrong size (keys, ids, registration ids).
    #[error("{field} is {got} bytes, expected {expected}")]
    BadLength {
        /// The element.
        field: &'static str,
        /// Required length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The server answered with `<error code text>` (whole iq or one item of it).
    #[error("server error {code}{}", text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Server {
        /// The `code` attribute (e.g. `404`).
        code: String,
        /// The `text` attribute, if any.
        text: Option<String>,
    },
    /// Decrypted plaintext without valid WhatsApp padding.
    #[error("invalid plaintext padding")]
    BadPadding,
    /// A protobuf payload did not decode.
    #[error("invalid protobuf: {0}")]
    BadProtobuf(String),
    /// A JSON body (media upload answer) did not decode.
    #[error("invalid JSON: {0}")]
    BadJson(String),
}

/// Fails unless `node` is a `<tag>` element.
pub(crate) fn expect_tag(node: &Node, tag: &'static str) -> Result<(), StanzaError> {
    if node.tag == tag {
        Ok(())
    } else {
        Err(StanzaError::UnexpectedTag {
            expected: tag,
            got: node.tag.clone(),
        })
    }
}

/// A required attribute as text.
pub(crate) fn req_attr(node: &Node, key: &'static str) -> Result<String, StanzaError> {
    node.attr_str(key)
        .map(|s| s.into_owned())
        .ok_or(StanzaError::MissingAttr(key))
}

/// An optional attribute as text.
pub(crate) fn opt_attr(node: &Node, key: &str) -> Option<String> {
    node.attr_str(key).map(|s| s.into_owned())
}

/// An optional JID attribute; present but unparsable is an error, not `None`.
pub(crate) fn opt_jid_attr(node: &Node, key: &'static str) -> Result<Option<Jid>, StanzaError> {
    match node.get_attr(key) {
        None => Ok(None),
        Some(Value::Jid(j)) => Ok(Some(j.clone())),
        Some(Value::Str(s)) => s.parse().map(Some).map_err(|_| StanzaError::BadValue {
            field: key,
            value: s.clone(),
        }),
    }
}

/// A required JID attribute.
pub(crate) fn req_jid_attr(node: &Node, key: &'static str) -> Result<Jid, StanzaError> {
    opt_jid_attr(node, key)?.ok_or(StanzaError::MissingAttr(key))
}

/// An optional numeric attribute; present but not a number is an error.
pub(crate) fn opt_num_attr<T: std::str::FromStr>(
    node: &Node,
    key: &'static str,
) -> Result<Option<T>, StanzaError> {
    node.attr_str(key)
        .map(|s| {
            s.parse().map_err(|_| StanzaError::BadValue {
                field: key,
                value: s.into_owned(),
            })
        })
        .transpose()
}

/// A required numeric attribute.
pub(crate) fn req_num_attr<T: std::str::FromStr>(
    node: &Node,
    key: &'static str,
) -> Result<T, StanzaError> {
    opt_num_attr(node, key)?.ok_or(StanzaError::MissingAttr(key))
}

/// A required child element.
pub(crate) fn req_child<'a>(node: &'a Node, tag: &'static str) -> Result<&'a Node, StanzaError> {
    node.get_child(tag).ok_or(StanzaError::MissingChild(tag))
}

/// The content of a required child as bytes (empty when it has none).
pub(crate) fn child_bytes<'a>(node: &'a Node, tag: &'static str) -> Result<&'a [u8], StanzaError> {
    Ok(req_child(node, tag)?.content_bytes().unwrap_or_default())
}

/// `bytes` as exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(
    field: &'static str,
    bytes: &[u8],
) -> Result<[u8; N], StanzaError> {
    bytes.try_into().map_err(|_| StanzaError::BadLength {
        field,
        expected: N,
        got: bytes.len(),
    })
}

/// A key id as the `encrypt` namespace sends it: 3 bytes big-endian.
pub(crate) fn id3(id: u32) -> Vec<u8> {
    id.to_be_bytes()[1..].to_vec()
}

/// Reads a 3-byte big-endian key id.
pub(crate) fn parse_id3(field: &'static str, bytes: &[u8]) -> Result<u32, StanzaError> {
    let [a, b, c] = fixed::<3>(field, bytes)?;
    Ok(u32::from_be_bytes([0, a, b, c]))
}

/// `<iq id xmlns type to>`, the envelope of every request to the server.
pub(crate) fn iq(id: &str, xmlns: &str, ty: &str, to: Jid) -> Node {
    Node::new("iq")
        .attr("id", id)
        .attr("xmlns", xmlns)
        .attr("type", ty)
        .attr("to", to)
}

/// The `<error code text>` child of `node` as an error, if it has one.
pub(crate) fn error_child(node: &Node) -> Option<StanzaError> {
    let e = node.get_child("error")?;
    Some(StanzaError::Server {
        code: opt_attr(e, "code").unwrap_or_default(),
        text: opt_attr(e, "text"),
    })
}

/// Fails when an iq answer is `type=error`; other nodes pass through.
pub(crate) fn check_iq(node: &Node) -> Result<(), StanzaError> {
    if node.tag == "iq" && node.attr_str("type").as_deref() == Some("error") {
        return Err(error_child(node).unwrap_or(StanzaError::Server {
            code: String::new(),
            text: None,
        }));
    }
    Ok(())
}

/// `node` itself when it is a `<tag>`, else its `<tag>` child: parsers accept the whole
/// iq answer or the element inside it.
pub(crate) fn self_or_child<'a>(
    node: &'a Node,
    tag: &'static str,
) -> Result<&'a Node, StanzaError> {
    check_iq(node)?;
    if node.tag == tag {
        Ok(node)
    } else {
        req_child(node, tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_readers() {
        let n = Node::new("x")
            .attr("jid", "1:2@s.whatsapp.net")
            .attr("bad", "a:b@s.whatsapp.net")
            .attr("t", "17")
            .attr("nan", "x1")
            .child(Node::new("id").bytes(vec![1, 2, 3]));
        assert_eq!(
            req_jid_attr(&n, "jid").unwrap(),
            Jid::device("1", 2, "s.whatsapp.net")
        );
        assert_eq!(
            req_jid_attr(&n, "bad"),
            Err(StanzaError::BadValue {
                field: "bad",
                value: "a:b@s.whatsapp.net".into()
            })
        );
        assert_eq!(opt_jid_attr(&n, "none"), Ok(None));
        assert_eq!(req_num_attr::<u64>(&n, "t"), Ok(17));
        assert_eq!(
            req_num_attr::<u64>(&n, "missing"),
            Err(StanzaError::MissingAttr("missing"))
        );
        assert!(matches!(
            opt_num_attr::<u32>(&n, "nan"),
            Err(StanzaError::BadValue { field: "nan", .. })
        ));
        assert_eq!(
            parse_id3("id", child_bytes(&n, "id").unwrap()),
            Ok(0x010203)
        );
        assert_eq!(id3(0x010203), vec![1, 2, 3]);
        assert_eq!(
            parse_id3("id", &[1, 2]),
            Err(StanzaError::BadLength {
                field: "id",
                expected: 3,
                got: 2
            })
        );
        assert_eq!(
            child_bytes(&n, "value"),
            Err(StanzaError::MissingChild("value"))
        );
        assert_eq!(
            expect_tag(&n, "iq"),
            Err(StanzaError::UnexpectedTag {
                expected: "iq",
                got: "x".into()
            })
        );
    }

    #[test]
    fn iq_errors() {
        let err = Node::new("iq").attr("type", "error").child(
            Node::new("error")
                .attr("code", "404")
                .attr("text", "item-not-found"),
        );
        let e = self_or_child(&err, "list").unwrap_err();
        assert_eq!(
            e,
            StanzaError::Server {
                code: "404".into(),
                text: Some("item-not-found".into())
            }
        );
        assert_eq!(e.to_string(), "server error 404 (item-not-found)");
        let ok = Node::new("iq")
            .attr("type", "result")
            .child(Node::new("list"));
        assert_eq!(self_or_child(&ok, "list").unwrap().tag, "list");
        assert_eq!(
            self_or_child(ok.get_child("list").unwrap(), "list")
                .unwrap()
                .tag,
            "list"
        );
    }
}
