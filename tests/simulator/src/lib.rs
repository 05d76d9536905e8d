#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod app_state;
mod app_state_blobs;
mod business;
mod calls;
mod config;
mod connection;
mod error;
mod group_requests;
mod groups;
mod handle;
mod keepalive;
mod login;
mod media;
mod newsletters;
mod pair_code;
mod pairing;
mod pictures;
mod prekeys;
mod presence;
mod privacy;
mod receipts;
mod router;
mod routing;
mod state;
mod usync;

pub use app_state_blobs::AppStateServed;
pub use config::SimulatorConfig;
pub use error::{ApiError, StanzaError, StartError};
pub use handle::{ROOT_SERIAL, Simulator, SimulatorHandle};
pub use presence::ChatStateSent;
