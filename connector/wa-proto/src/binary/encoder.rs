//! Node -> bytes.

use super::error::EncodeError;
use super::jid::{INTEROP_SERVER, Jid, MESSENGER_SERVER};
use super::node::{Content, Node, Value};
use super::token::{self, Token, tags};

/// Encodes `node` after a 0 flag byte (uncompressed), ready for Noise encryption.
pub fn marshal(node: &Node) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    out.push(0);
    encode_into(node, &mut out)?;
    Ok(out)
}

/// Appends the encoding of `node` (without flag byte) to `out`.
pub fn encode_into(node: &Node, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    Encoder { out }.node(node)
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

fn is_nibble(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= tags::PACKED_MAX
        && s.bytes()
            .all(|c| c.is_ascii_digit() || c == b'-' || c == b'.')
}

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= tags::PACKED_MAX
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
}

fn nibble(c: u8) -> u8 {
    match c {
        b'-' => 10,
        b'.' => 11,
        c => c - b'0',
    }
}

fn hex(c: u8) -> u8 {
    if c.is_ascii_digit() {
        c - b'0'
    } else {
        c - b'A' + 10
    }
}

impl Encoder<'_> {
    fn node(&mut self, node: &Node) -> Result<(), EncodeError> {
        if node.tag.is_empty() {
            return Err(EncodeError::EmptyTag);
        }
        let has_content = !matches!(node.content, Content::None);
        self.list_start(2 * node.attrs.len() + 1 + usize::from(has_content))?;
        self.string(&node.tag);
        for (k, v) in &node.attrs {
            self.string(k);
            match v {
                Value::Str(s) => self.string(s),
                Value::Jid(j) => self.jid(j)?,
            }
        }
        match &node.content {
            Content::None => {}
            Content::Str(s) => self.string(s),
            Content::Bytes(b) => self.bytes(b)?,
            Content::Nodes(children) => {
                self.list_start(children.len())?;
                for c in children {
                    self.node(c)?;
                }
            }
        }
        Ok(())
    }

    fn list_start(&mut self, n: usize) -> Result<(), EncodeError> {
        match n {
            0 => self.out.push(tags::LIST_EMPTY),
            1..=255 => self.out.extend_from_slice(&[tags::LIST_8, n as u8]),
            256..=65535 => {
                self.out.push(tags::LIST_16);
                self.out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            _ => return Err(EncodeError::ListTooLong(n)),
        }
        Ok(())
    }

    fn byte_len(&mut self, n: usize) -> Result<(), EncodeError> {
        if n < 256 {
            self.out.extend_from_slice(&[tags::BINARY_8, n as u8]);
        } else if n < 1 << 20 {
            self.out.push(tags::BINARY_20);
            self.out
                .extend_from_slice(&[(n >> 16) as u8 & 0x0f, (n >> 8) as u8, n as u8]);
        } else if let Ok(n) = u32::try_from(n) {
            self.out.push(tags::BINARY_32);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else {
            return Err(EncodeError::BytesTooLong(n));
        }
        Ok(())
    }

    fn bytes(&mut self, b: &[u8]) -> Result<(), EncodeError> {
        self.byte_len(b.len())?;
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn string(&mut self, s: &str) {
        if let Some(t) = token::index_of(s) {
            match t {
                Token::Single(i) => self.out.push(i),
                Token::Double(d, i) => self.out.extend_from_slice(&[tags::DICTIONARY_0 + d, i]),
            }
        } else if is_nibble(s) {
            self.packed(s, tags::NIBBLE_8, nibble);
        } else if is_hex(s) {
            self.packed(s, tags::HEX_8, hex);
        } else {
            // Strings are bounded by memory far below 2^32 in practice; an
            // impossible overflow is clamped by writing the bytes anyway.
            let _ = self.bytes(s.as_bytes());
        }
    }

    fn packed(&mut self, s: &str, tag: u8, pack: fn(u8) -> u8) {
        let b = s.as_bytes();
        let mut head = b.len().div_ceil(2) as u8;
        if b.len() % 2 == 1 {
            head |= 0x80;
        }
        self.out.extend_from_slice(&[tag, head]);
        for pair in b.chunks(2) {
            let hi = pack(pair[0]);
            let lo = pair.get(1).map_or(15, |c| pack(*c));
            self.out.push((hi << 4) | lo);
        }
    }

    fn jid(&mut self, j: &Jid) -> Result<(), EncodeError> {
        if j.server == MESSENGER_SERVER && !j.user.is_empty() {
            self.out.push(tags::FB_JID);
            self.string(&j.user);
            self.out.extend_from_slice(&j.device.to_be_bytes());
            self.string(&j.server);
        } else if j.server == INTEROP_SERVER && !j.user.is_empty() {
            self.out.push(tags::INTEROP_JID);
            self.string(&j.user);
            self.out.extend_from_slice(&j.device.to_be_bytes());
            self.out.extend_from_slice(&j.integrator.to_be_bytes());
            self.string(&j.server);
        } else if let (Some(domain), true) = (j.ad_domain(), j.device > 0) {
            let device =
                u8::try_from(j.device).map_err(|_| EncodeError::DeviceOutOfRange(j.device))?;
            self.out.extend_from_slice(&[tags::AD_JID, domain, device]);
            self.string(&j.user);
        } else {
            self.out.push(tags::JID_PAIR);
            if j.user.is_empty() {
                self.out.push(tags::LIST_EMPTY);
            } else if j.device > 0 {
                self.string(&format!("{}:{}", j.user, j.device));
            } else {
                self.string(&j.user);
            }
            self.string(&j.server);
        }
        Ok(())
    }
}
