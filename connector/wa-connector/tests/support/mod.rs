//! Helpers shared by the connector's integration tests.
#![allow(dead_code)]

pub mod gateway;
pub mod receiver;
pub mod site;
