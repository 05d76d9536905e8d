#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod binary;
pub mod cert;
pub mod connection;
pub mod creds;
pub mod frame;
pub mod handshake;
pub mod keepalive;
pub mod keys;
pub mod noise;
pub mod pair;
pub mod pair_code;
pub mod payload;
pub mod prekeys;
pub mod proto;
pub mod server;

pub use connection::{CloseReason, Config, Connection, Event, ProtocolError, SendError};
pub use creds::Credentials;
