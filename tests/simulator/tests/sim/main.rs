//! The simulator driven by the protocol crate's client state machine over real
//! WebSockets on loopback.

mod app_state;
mod driver;
mod faults;
mod flows;
mod groups;
mod media;
mod messaging;
mod newsletters;
mod pairing;

use wa_simulator::{Simulator, SimulatorConfig, SimulatorHandle};

/// A fresh simulator on free loopback ports.
pub async fn sim() -> SimulatorHandle {
    Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator starts")
}
