//! `wa-connector`: the gateway's one long-lived process, as a library so tests can
//! run it in-process.
//!
//! It holds the WhatsApp connections ([`accounts`]: one task per account, each
//! driving a sans-I/O `wa_proto::Connection` over a WebSocket through [`driver`]),
//! owns the durable state (`wa-store`), and in the embedded mode serves the REST API
//! by hosting the `http-api` component ([`serve`]).
#![warn(missing_docs)]

pub mod accounts;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod driver;
mod http_server;
pub mod pairing;
pub mod prekeys;
pub mod reconnect;
pub mod serve;
pub mod socket;

pub use accounts::{
    AccountError, AccountHandle, AccountManager, AccountState, AccountStatus, ConnectorOptions,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use reconnect::Backoff;
