//! How components are run: limits and the environment they see.

use std::path::PathBuf;
use std::time::Duration;

use crate::{InternalRoute, OutboundHttp};

/// Limits and settings shared by every component a host runs.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// How long one request may run inside a component before it is stopped.
    pub request_timeout: Duration,
    /// The most linear memory one request's instance may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// How many requests may be inside components at once; more wait their turn.
    pub max_concurrent_requests: u32,
    /// Where compiled components are cached between runs (`None`: compile every start).
    pub cache_dir: Option<PathBuf>,
    /// Environment variables every instance sees (never secrets: components may log them).
    pub env: Vec<(String, String)>,
    /// `wasi:config/store` variables every instance sees (Spin's component
    /// variables, `wasmtime serve -Sconfig-var`): keys in lower case.
    pub config_vars: Vec<(String, String)>,
    /// Requests to this authority are answered in-process instead of over the network.
    pub internal: Option<InternalRoute>,
    /// How requests to anywhere else are sent (connection reuse, timeout).
    pub outbound: OutboundHttp,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_memory_bytes: 64 * 1024 * 1024,
            max_concurrent_requests: 64,
            cache_dir: None,
            env: Vec::new(),
            config_vars: Vec::new(),
            internal: None,
            outbound: OutboundHttp::default(),
        }
    }
}
