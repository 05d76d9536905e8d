//! The component's settings, wherever its host keeps them.
//!
//! `wasi:config/store` comes first: Spin maps the manifest's variables there
//! (secrets included), `wasmtime serve` takes `-Sconfig-var`. Then the
//! environment: the connector hosts the component with its settings as
//! environment variables, and `wasmtime serve --env` works too. A setting is
//! named as an environment variable (`CONNECTOR_URL`); its config key is the
//! same in lower case (`connector_url`), the form Spin variables must take.

use crate::bindings::wasi::config::store;

/// The value of setting `name` (an environment-style name), if it is set.
pub fn get(name: &str) -> Option<String> {
    match store::get(&name.to_ascii_lowercase()) {
        Ok(Some(value)) => Some(value),
        // Not in the config store (or the store failed): the environment.
        Ok(None) | Err(_) => std::env::var(name).ok(),
    }
}

/// Setting `name`, trimmed, when it is set and not blank.
pub fn non_empty(name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
