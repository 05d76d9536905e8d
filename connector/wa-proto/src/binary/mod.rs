//! Binary XML: WhatsApp's compact encoding of XMPP-like stanzas.

mod decoder;
mod encoder;
mod error;
pub mod jid;
mod node;
pub mod token;
mod token_data;

use std::io::Read;

pub use decoder::{MAX_DEPTH, decode};
pub use encoder::{encode_into, marshal};
pub use error::{DecodeError, EncodeError};
pub use jid::Jid;
pub use node::{Content, Node, Value};

/// Dictionary version, also the last byte of the connection header.
pub const DICT_VERSION: u8 = 3;

/// Largest inflated payload accepted from a compressed frame.
pub const MAX_INFLATED: usize = 16 << 20;

/// Strips the flag byte of a decrypted frame, inflating it when bit `0x02` says so.
pub fn unpack(payload: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, DecodeError> {
    let (&flags, rest) = payload.split_first().ok_or(DecodeError::Empty)?;
    if flags & 2 == 0 {
        return Ok(rest.into());
    }
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(rest)
        .take(MAX_INFLATED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::BadZlib(e.to_string()))?;
    if out.len() > MAX_INFLATED {
        return Err(DecodeError::TooLarge(MAX_INFLATED));
    }
    Ok(out.into())
}

/// Decodes a decrypted frame: flag byte, optional zlib, then one node.
pub fn unmarshal(payload: &[u8]) -> Result<Node, DecodeError> {
    decode(&unpack(payload)?)
}
