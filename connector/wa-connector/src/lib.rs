#![doc = include_str!("../README.md")]
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
