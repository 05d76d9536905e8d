//! Requests a component sends to the connector itself, answered in-process.
//!
//! The REST component reaches the connector's interfaces (WIT world
//! `connector`) over `wasi:http`, so the same `.wasm` file works under any
//! host. When the connector hosts it, requests addressed to the internal
//! authority never touch the network: the host hands them to the connector's
//! own handler, the same one that serves them over TCP in the cloud mode.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use wasmtime_wasi_http::WasiBody;

/// The future an [`InternalService`] returns.
pub type InternalFuture = Pin<Box<dyn Future<Output = http::Response<WasiBody>> + Send>>;

/// The connector's handler for internal requests.
pub type InternalService = Arc<dyn Fn(http::Request<WasiBody>) -> InternalFuture + Send + Sync>;

/// Which outgoing requests are internal (by URI authority) and who answers them.
#[derive(Clone)]
pub struct InternalRoute {
    /// The authority (`host[:port]`) components use for the connector, e.g.
    /// `connector.internal`.
    pub authority: String,
    /// Answers the requests sent there.
    pub service: InternalService,
}

impl fmt::Debug for InternalRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InternalRoute")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl InternalRoute {
    /// Whether `uri` is addressed to this route.
    pub(crate) fn matches(&self, uri: &http::Uri) -> bool {
        uri.authority()
            .is_some_and(|authority| authority.as_str().eq_ignore_ascii_case(&self.authority))
    }
}
