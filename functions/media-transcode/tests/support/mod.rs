//! Test support shared by this crate's integration tests (the Lambda Runtime
//! API emulator is `wa_testkit::lambda_runtime_api`).
// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

pub mod media;
