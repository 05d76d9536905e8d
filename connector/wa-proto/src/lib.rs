//! The WhatsApp Web multi-device protocol as a sans-I/O state machine.
//!
//! No sockets, no tasks, no clock: the caller feeds received bytes and the current
//! time in, and takes bytes to send, deadlines and typed events out. Randomness comes
//! from an injected [`rand_core`] RNG, so every test is deterministic.
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
