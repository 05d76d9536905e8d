//! Test support shared by this crate's integration tests (and meant to be
//! reused by later Lambda functions' tests).
// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

pub mod media;
pub mod runtime_api;
