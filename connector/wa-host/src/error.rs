//! What can go wrong while loading or running a component.

use std::path::PathBuf;

/// Errors of the component host.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The wasmtime engine could not be configured.
    #[error("cannot configure the WebAssembly engine")]
    Engine(#[source] wasmtime::Error),
    /// The component file could not be read.
    #[error("cannot read component {path}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid component, or it needs imports this host lacks.
    #[error("cannot load component {path}")]
    Load {
        /// The file that was asked for.
        path: PathBuf,
        /// What wasmtime reported.
        #[source]
        source: wasmtime::Error,
    },
    /// The component exports no `wasi:http` handler this host can call.
    #[error(
        "component {path} exports neither wasi:http/handler@0.3 nor wasi:http/incoming-handler@0.2: {source:#}"
    )]
    NotAnHttpComponent {
        /// The file that was asked for.
        path: PathBuf,
        /// What wasmtime reported for the last handler kind tried.
        #[source]
        source: wasmtime::Error,
    },
    /// A request could not be completed by the component.
    #[error("component failed to answer")]
    Request(#[source] wasmtime::Error),
    /// The client for components' outgoing requests could not be built.
    #[error("cannot build the outbound HTTP client")]
    OutboundClient(#[source] reqwest::Error),
    /// The request ran past its deadline.
    #[error("component did not answer within {0:?}")]
    Timeout(std::time::Duration),
}
