#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod appstate;
pub mod binary;
mod cbc;
pub mod cert;
pub mod connection;
pub mod creds;
pub mod frame;
pub mod handshake;
pub mod keepalive;
pub mod keys;
pub mod media;
pub mod noise;
pub mod pair;
pub mod pair_code;
pub mod payload;
pub mod prekeys;
pub mod proto;
/// Acks and receipts: the ones we send and the ones we get about our messages.
pub mod receipt;
/// Incoming `<message>` stanzas: addressing, `<enc>` payloads, plaintext decoding.
pub mod receive;
pub mod server;
pub mod signal;
/// The error type and typed readers the stanza parsers share.
pub mod stanza;

pub use connection::{CloseReason, Config, Connection, Event, ProtocolError, SendError};
pub use creds::Credentials;
pub use receipt::{IncomingReceipt, ReceiptKind, ServerAck};
pub use receive::{EncKind, EncPart, IncomingMessage, MessageInfo};
pub use stanza::StanzaError;
