#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod accounts;
pub mod appstate;
pub mod business;
pub mod calls;
pub mod chat_presence;
pub mod clock;
pub mod config;
pub mod connection_events;
pub mod contacts;
pub mod credentials;
pub mod download;
pub mod driver;
pub mod events;
pub mod gateway;
pub mod group_events;
pub mod group_requests;
pub mod groups;
pub mod http_client;
mod http_server;
pub mod internal_api;
pub mod link_preview;
pub mod media_http;
pub mod messaging;
pub mod metrics;
pub mod monitoring;
pub mod newsletters;
pub mod pairing;
pub mod prekeys;
pub mod presence;
pub mod profiling;
pub mod rate_limit;
pub mod readiness;
pub mod receipts;
pub mod receive;
pub mod reconnect;
pub mod requests;
pub mod retention;
pub mod send;
pub mod serve;
pub mod signal_state;
pub mod socket;
pub mod storage;
pub mod tls;
pub mod transcode;
pub mod upload;
pub mod webhooks;

pub use accounts::{
    AccountError, AccountHandle, AccountManager, AccountState, AccountStatus, ConnectorOptions,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use reconnect::Backoff;
