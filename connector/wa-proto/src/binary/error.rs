//! Errors of the binary-XML codec.

use thiserror::Error;

/// Why a node could not be encoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The tag is empty; the format has no anonymous nodes.
    #[error("node tag is empty")]
    EmptyTag,
    /// More attributes or children than a 16-bit list size can hold.
    #[error("list of {0} items is too long")]
    ListTooLong(usize),
    /// Byte content longer than a 32-bit length.
    #[error("{0} bytes is too long to encode")]
    BytesTooLong(usize),
    /// An AD JID's device does not fit its one-byte field.
    #[error("device {0} does not fit in an AD JID")]
    DeviceOutOfRange(u16),
}

/// Why bytes could not be decoded into a node.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("unexpected end of input at byte {0}")]
    UnexpectedEof(usize),
    /// A byte that is not a valid tag in that position.
    #[error("invalid tag {tag} at byte {pos}")]
    InvalidTag {
        /// The tag byte.
        tag: u8,
        /// Where it was.
        pos: usize,
    },
    /// A packed nibble outside the alphabet.
    #[error("invalid nibble {0:#x}")]
    InvalidNibble(u8),
    /// An unknown AD-JID domain byte.
    #[error("unknown JID domain {0}")]
    UnknownDomain(u8),
    /// A JID pair without a server.
    #[error("JID pair without server")]
    InvalidJid,
    /// A string that is not UTF-8.
    #[error("string is not UTF-8")]
    InvalidUtf8,
    /// A node with list size 0 or an empty tag.
    #[error("invalid node header")]
    InvalidNode,
    /// Nesting deeper than the decoder allows.
    #[error("nodes nested deeper than {0}")]
    TooDeep(usize),
    /// Bytes left over after the top-level node.
    #[error("{0} bytes left after the node")]
    TrailingBytes(usize),
    /// The payload was flagged compressed but did not inflate.
    #[error("bad zlib payload: {0}")]
    BadZlib(String),
    /// Inflating would exceed the size limit.
    #[error("decompressed payload exceeds {0} bytes")]
    TooLarge(usize),
    /// An empty payload (no flag byte).
    #[error("empty payload")]
    Empty,
}
