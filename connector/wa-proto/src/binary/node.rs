//! The binary-XML node tree, a typed builder and the readable debug form used in logs.

use std::fmt;

use super::jid::Jid;

/// An attribute value: text, or a JID (which has its own compact encodings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Plain text (tokens and packed forms are chosen by the encoder).
    Str(String),
    /// An address.
    Jid(Jid),
}

impl Value {
    /// The value as text (JIDs rendered), for comparisons and logs.
    pub fn to_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Value::Str(s) => s.as_str().into(),
            Value::Jid(j) => j.to_string().into(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<Jid> for Value {
    fn from(j: Jid) -> Self {
        Value::Jid(j)
    }
}
impl From<&Jid> for Value {
    fn from(j: &Jid) -> Self {
        Value::Jid(j.clone())
    }
}

/// What a node carries after its attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Content {
    /// Nothing (`<ping/>`).
    #[default]
    None,
    /// Child nodes.
    Nodes(Vec<Node>),
    /// Raw bytes (keys, ciphertexts, protobufs).
    Bytes(Vec<u8>),
    /// A string encoded as a token, packed digits, or a JID.
    Str(String),
}

/// One binary-XML element. Attributes keep their insertion order so encodings are
/// deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Element name, e.g. `iq`.
    pub tag: String,
    /// Attributes in order.
    pub attrs: Vec<(String, Value)>,
    /// Children, bytes, text or nothing.
    pub content: Content,
}

impl Node {
    /// Starts a node with `tag`, to be completed with the builder methods.
    pub fn new(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            ..Self::default()
        }
    }

    /// Adds (or replaces) an attribute.
    #[must_use]
    pub fn attr(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set_attr(key, value);
        self
    }

    /// Adds (or replaces) an attribute in place.
    pub fn set_attr(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((key, value)),
        }
    }

    /// Sets child nodes.
    #[must_use]
    pub fn children(mut self, children: impl IntoIterator<Item = Node>) -> Self {
        self.content = Content::Nodes(children.into_iter().collect());
        self
    }

    /// Appends one child (turning the content into a child list).
    #[must_use]
    pub fn child(mut self, child: Node) -> Self {
        match &mut self.content {
            Content::Nodes(v) => v.push(child),
            c => *c = Content::Nodes(vec![child]),
        }
        self
    }

    /// Sets raw byte content.
    #[must_use]
    pub fn bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.content = Content::Bytes(bytes.into());
        self
    }

    /// Sets string content.
    #[must_use]
    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.content = Content::Str(s.into());
        self
    }

    /// An attribute's value.
    pub fn get_attr(&self, key: &str) -> Option<&Value> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// An attribute as text (JIDs rendered).
    pub fn attr_str(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.get_attr(key).map(Value::to_text)
    }

    /// An attribute that must be a JID (text attributes are parsed).
    pub fn attr_jid(&self, key: &str) -> Option<Jid> {
        match self.get_attr(key)? {
            Value::Jid(j) => Some(j.clone()),
            Value::Str(s) => s.parse().ok(),
        }
    }

    /// Child nodes (empty when the content is not a list).
    pub fn child_nodes(&self) -> &[Node] {
        match &self.content {
            Content::Nodes(v) => v,
            _ => &[],
        }
    }

    /// The first child with `tag`.
    pub fn get_child(&self, tag: &str) -> Option<&Node> {
        self.child_nodes().iter().find(|n| n.tag == tag)
    }

    /// All children with `tag`.
    pub fn children_by_tag<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.child_nodes().iter().filter(move |n| n.tag == tag)
    }

    /// Content as bytes (string content gives its UTF-8).
    pub fn content_bytes(&self) -> Option<&[u8]> {
        match &self.content {
            Content::Bytes(b) => Some(b),
            Content::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

const MAX_SHOWN_BYTES: usize = 128;

fn escape(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '"' => f.write_str("&quot;")?,
            '<' => f.write_str("&lt;")?,
            '>' => f.write_str("&gt;")?,
            '&' => f.write_str("&amp;")?,
            c => fmt::Write::write_char(f, c)?,
        }
    }
    Ok(())
}

/// The log form: `<iq id="1" type="get" xmlns="w:p"><ping/></iq>`. Byte content is shown as
/// text when printable, otherwise as hex, and cut after 128 bytes.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}", self.tag)?;
        for (k, v) in &self.attrs {
            write!(f, " {k}=\"")?;
            escape(f, &v.to_text())?;
            f.write_str("\"")?;
        }
        match &self.content {
            Content::None => return f.write_str("/>"),
            Content::Nodes(children) => {
                f.write_str(">")?;
                for c in children {
                    fmt::Display::fmt(c, f)?;
                }
            }
            Content::Str(s) => {
                f.write_str(">")?;
                escape(f, s)?;
            }
            Content::Bytes(b) => {
                f.write_str(">")?;
                let shown = &b[..b.len().min(MAX_SHOWN_BYTES)];
                match std::str::from_utf8(shown) {
                    Ok(s) if s.chars().all(|c| !c.is_control() || c == '\n') => escape(f, s)?,
                    _ => {
                        for byte in shown {
                            write!(f, "{byte:02x}")?;
                        }
                    }
                }
                if b.len() > MAX_SHOWN_BYTES {
                    write!(f, "…({} bytes)", b.len())?;
                }
            }
        }
        write!(f, "</{}>", self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_form() {
        let n = Node::new("iq")
            .attr("id", "1")
            .attr("to", Jid::server_jid())
            .attr("type", "get")
            .attr("xmlns", "w:p")
            .child(Node::new("ping"))
            .child(Node::new("enc").bytes(vec![1, 2, 3]))
            .child(Node::new("t").bytes(b"hi".to_vec()));
        assert_eq!(
            n.to_string(),
            "<iq id=\"1\" to=\"s.whatsapp.net\" type=\"get\" xmlns=\"w:p\"><ping/><enc>010203</enc><t>hi</t></iq>"
        );
        assert_eq!(n.attr_str("type").as_deref(), Some("get"));
        assert_eq!(
            n.get_child("enc").unwrap().content_bytes(),
            Some(&[1u8, 2, 3][..])
        );
    }
}
