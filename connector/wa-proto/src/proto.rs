//! Protobuf messages, generated at build time by prost from our own `proto/*.proto`.
#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]

/// Noise handshake messages and the certificate chain.
pub mod handshake {
    include!(concat!(env!("OUT_DIR"), "/wa.handshake.rs"));
}
/// The ClientPayload (registration and login).
pub mod payload {
    include!(concat!(env!("OUT_DIR"), "/wa.payload.rs"));
}
/// Pairing identity messages.
pub mod adv {
    include!(concat!(env!("OUT_DIR"), "/wa.adv.rs"));
}
/// The end-to-end message subset.
pub mod message {
    include!(concat!(env!("OUT_DIR"), "/wa.message.rs"));
}
/// Signal wire messages and our persisted session / sender-key records.
pub mod signal {
    include!(concat!(env!("OUT_DIR"), "/wa.signal.rs"));
}
/// App-state sync (syncd) patches, mutations and action data.
pub mod appstate {
    include!(concat!(env!("OUT_DIR"), "/wa.appstate.rs"));
}
