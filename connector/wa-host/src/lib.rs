//! Hosts the gateway's WebAssembly components in-process with wasmtime.
//!
//! In the embedded mode the connector serves the REST API by running the
//! `functions/http-api` component itself: the component is compiled once
//! (and cached on disk), pre-instantiated at startup against a linker that
//! provides WASI 0.2/0.3 and `wasi:http`, and every request then gets a fresh
//! [`wasmtime::Store`] with a deadline and a memory cap. One misbehaving request
//! can therefore neither hang the server nor take memory from the next one.

#![warn(missing_docs)]

mod config;
mod engine;
mod error;
mod http_component;
mod internal;
mod outbound;
mod store_data;
mod world;

pub use config::HostConfig;
pub use engine::HostEngine;
pub use error::HostError;
pub use http_component::{HttpComponent, HttpResponse};
pub use internal::{InternalFuture, InternalRoute, InternalService};
pub use outbound::OutboundHttp;
pub use world::ComponentWorld;
