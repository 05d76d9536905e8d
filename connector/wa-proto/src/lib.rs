#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod appstate;
pub mod binary;
/// Business profiles (`w:biz`).
pub mod business;
/// Incoming calls (`<call>`): offers and their acknowledgement.
pub mod call;
mod cbc;
pub mod cert;
/// What a decrypted `Message` is (summaries) and the messages we build (text, media, SKDM).
pub mod compose;
pub mod connection;
pub mod content;
pub mod creds;
/// Forwarding an earlier message to another chat, with the "forwarded" label.
pub mod forward;
pub mod frame;
/// Membership requests of groups that need approval to join (`w:g2`).
pub mod group_requests;
/// Groups (`w:g2`): create, query, membership changes, `w:gp2` notifications.
pub mod groups;
pub mod handshake;
pub mod keepalive;
pub mod keys;
/// Link previews: the card under a text with a link (title, description, picture).
pub mod link_preview;
pub mod media;
/// Media hosts and auth (`media_conn`), upload paths and upload answers.
pub mod mediaconn;
/// Revokes and edits: protocol messages that change an earlier message.
pub mod message_change;
/// Newsletters (channels) through `w:mex`: the ones followed, unfollowing.
pub mod newsletter;
pub mod noise;
pub mod pair;
pub mod pair_code;
pub mod payload;
pub mod picture;
pub mod prekeys;
pub mod presence;
pub mod privacy;
pub mod proto;
/// Acks and receipts: the ones we send and the ones we get about our messages.
pub mod receipt;
/// Incoming `<message>` stanzas: addressing, `<enc>` payloads, plaintext decoding.
pub mod receive;
/// Outgoing messages: plaintext, message ids, the `<message>` stanza with per-device encs.
pub mod send;
pub mod server;
pub mod signal;
/// The error type and typed readers the stanza parsers share.
pub mod stanza;
/// Device lists (`usync`): which devices to encrypt a message for.
pub mod usync;

pub use connection::{CloseReason, Config, Connection, Event, ProtocolError, SendError};
pub use content::{MediaKind, MediaRef, Summary, UploadedMedia};
pub use creds::Credentials;
pub use groups::{GroupAction, GroupChange, GroupInfo, GroupParticipant, ParticipantAction};
pub use mediaconn::{MediaConn, UploadResponse};
pub use receipt::{IncomingReceipt, ReceiptKind, ServerAck};
pub use receive::{EncKind, EncPart, IncomingMessage, MessageInfo};
pub use send::{MessageStanza, StanzaKind};
pub use stanza::StanzaError;
pub use usync::UserDevices;
