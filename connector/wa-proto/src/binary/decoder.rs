//! Bytes -> node. Every length is checked against the remaining input before use,
//! nesting is bounded, and every failure is a [`DecodeError`].

use super::error::DecodeError;
use super::jid::{INTEROP_SERVER, Jid};
use super::node::{Content, Node, Value};
use super::token::{self, tags};

/// Deepest nesting accepted; real stanzas stay well under 10.
pub const MAX_DEPTH: usize = 64;

/// Decodes one node that must span all of `data` (no flag byte).
pub fn decode(data: &[u8]) -> Result<Node, DecodeError> {
    let mut d = Decoder { data, pos: 0 };
    let node = d.node(0)?;
    if d.pos != data.len() {
        return Err(DecodeError::TrailingBytes(data.len() - d.pos));
    }
    Ok(node)
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

enum Str {
    Text(String),
    Jid(Jid),
}

impl Str {
    fn into_text(self) -> String {
        match self {
            Str::Text(s) => s,
            Str::Jid(j) => j.to_string(),
        }
    }
}

impl<'a> Decoder<'a> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(DecodeError::UnexpectedEof(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or(DecodeError::UnexpectedEof(self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn int(&mut self, n: usize) -> Result<usize, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
    }

    fn int20(&mut self) -> Result<usize, DecodeError> {
        let b = self.take(3)?;
        Ok((usize::from(b[0] & 0x0f) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }

    fn list_size(&mut self, tag: u8) -> Result<usize, DecodeError> {
        match tag {
            tags::LIST_EMPTY => Ok(0),
            tags::LIST_8 => Ok(usize::from(self.byte()?)),
            tags::LIST_16 => self.int(2),
            _ => Err(DecodeError::InvalidTag {
                tag,
                pos: self.pos - 1,
            }),
        }
    }

    fn utf8(b: &[u8]) -> Result<String, DecodeError> {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8)
    }

    fn packed(&mut self, tag: u8) -> Result<String, DecodeError> {
        let head = self.byte()?;
        let raw = self.take(usize::from(head & 0x7f))?;
        let mut s = String::with_capacity(raw.len() * 2);
        let unpack = |v: u8| -> Result<char, DecodeError> {
            if tag == tags::HEX_8 {
                Ok(char::from(if v < 10 { b'0' + v } else { b'A' + v - 10 }))
            } else {
                match v {
                    0..=9 => Ok(char::from(b'0' + v)),
                    10 => Ok('-'),
                    11 => Ok('.'),
                    15 => Ok('\0'),
                    _ => Err(DecodeError::InvalidNibble(v)),
                }
            }
        };
        for b in raw {
            s.push(unpack(b >> 4)?);
            s.push(unpack(b & 0x0f)?);
        }
        if head & 0x80 != 0 {
            s.pop();
        }
        Ok(s)
    }

    fn text(&mut self) -> Result<String, DecodeError> {
        let tag = self.byte()?;
        Ok(self.string(tag)?.into_text())
    }

    fn string(&mut self, tag: u8) -> Result<Str, DecodeError> {
        let pos = self.pos - 1;
        let s = match tag {
            tags::LIST_EMPTY => String::new(),
            1..tags::DICTIONARY_0 => token::single(tag)
                .ok_or(DecodeError::InvalidTag { tag, pos })?
                .to_owned(),
            tags::DICTIONARY_0..=tags::DICTIONARY_3 => {
                let i = self.byte()?;
                token::double(tag - tags::DICTIONARY_0, i)
                    .ok_or(DecodeError::InvalidTag { tag, pos })?
                    .to_owned()
            }
            tags::BINARY_8 => {
                let n = usize::from(self.byte()?);
                Self::utf8(self.take(n)?)?
            }
            tags::BINARY_20 => {
                let n = self.int20()?;
                Self::utf8(self.take(n)?)?
            }
            tags::BINARY_32 => {
                let n = self.int(4)?;
                Self::utf8(self.take(n)?)?
            }
            tags::HEX_8 | tags::NIBBLE_8 => self.packed(tag)?,
            tags::JID_PAIR => {
                let user = self.text()?;
                let server = self.text()?;
                if server.is_empty() {
                    return Err(DecodeError::InvalidJid);
                }
                return Ok(Str::Jid(Jid::new(user, server)));
            }
            tags::AD_JID => {
                let domain = self.byte()?;
                let device = self.byte()?;
                let user = self.text()?;
                let server =
                    Jid::server_for_domain(domain).ok_or(DecodeError::UnknownDomain(domain))?;
                return Ok(Str::Jid(Jid::device(user, u16::from(device), server)));
            }
            tags::FB_JID => {
                let user = self.text()?;
                let device = self.int(2)? as u16;
                let server = self.text()?;
                return Ok(Str::Jid(Jid::device(user, device, server)));
            }
            tags::INTEROP_JID => {
                let user = self.text()?;
                let device = self.int(2)? as u16;
                let integrator = self.int(2)? as u16;
                let server = self.text()?;
                if server != INTEROP_SERVER {
                    return Err(DecodeError::InvalidJid);
                }
                let mut j = Jid::device(user, device, server);
                j.integrator = integrator;
                return Ok(Str::Jid(j));
            }
            _ => return Err(DecodeError::InvalidTag { tag, pos }),
        };
        Ok(Str::Text(s))
    }

    fn node(&mut self, depth: usize) -> Result<Node, DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep(MAX_DEPTH));
        }
        let t = self.byte()?;
        let size = self.list_size(t)?;
        if size == 0 {
            return Err(DecodeError::InvalidNode);
        }
        let tag = self.text()?;
        if tag.is_empty() {
            return Err(DecodeError::InvalidNode);
        }
        let n_attrs = (size - 1) / 2;
        let mut attrs = Vec::with_capacity(n_attrs.min(self.data.len() - self.pos));
        for _ in 0..n_attrs {
            let k = self.text()?;
            let vt = self.byte()?;
            let v = match self.string(vt)? {
                Str::Text(s) => Value::Str(s),
                Str::Jid(j) => Value::Jid(j),
            };
            attrs.push((k, v));
        }
        let content = if size % 2 == 0 {
            let ct = self.byte()?;
            match ct {
                tags::LIST_EMPTY | tags::LIST_8 | tags::LIST_16 => {
                    let n = self.list_size(ct)?;
                    let mut children = Vec::with_capacity(n.min((self.data.len() - self.pos) / 2));
                    for _ in 0..n {
                        children.push(self.node(depth + 1)?);
                    }
                    Content::Nodes(children)
                }
                tags::BINARY_8 => {
                    let n = usize::from(self.byte()?);
                    Content::Bytes(self.take(n)?.to_vec())
                }
                tags::BINARY_20 => {
                    let n = self.int20()?;
                    Content::Bytes(self.take(n)?.to_vec())
                }
                tags::BINARY_32 => {
                    let n = self.int(4)?;
                    Content::Bytes(self.take(n)?.to_vec())
                }
                _ => Content::Str(self.string(ct)?.into_text()),
            }
        } else {
            Content::None
        };
        Ok(Node {
            tag,
            attrs,
            content,
        })
    }
}
