//! What a component imports and exports, read from the component itself.

use std::path::Path;

use wasmtime::component::Component;

use crate::{HostEngine, HostError};

/// The names of a component's imports and exports (`wasi:http/handler@0.3.0`, ...).
///
/// Logged at startup and checked by tests, so that a component which came to
/// depend on something only one host provides is caught before deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentWorld {
    /// Interfaces the component needs from its host.
    pub imports: Vec<String>,
    /// Interfaces the component offers.
    pub exports: Vec<String>,
}

impl ComponentWorld {
    /// Reads the world of the component at `path`.
    pub fn read(engine: &HostEngine, path: &Path) -> Result<Self, HostError> {
        let component =
            Component::from_file(engine.engine(), path).map_err(|source| HostError::Load {
                path: path.to_owned(),
                source,
            })?;
        let ty = component.component_type();
        Ok(Self {
            imports: ty
                .imports(engine.engine())
                .map(|(name, _)| name.to_owned())
                .collect(),
            exports: ty
                .exports(engine.engine())
                .map(|(name, _)| name.to_owned())
                .collect(),
        })
    }
}
