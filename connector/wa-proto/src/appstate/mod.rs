//! App-state crypto.
