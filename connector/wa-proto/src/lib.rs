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
pub mod server;
pub mod signal;

pub use connection::{CloseReason, Config, Connection, Event, ProtocolError, SendError};
pub use creds::Credentials;
