//! What each request's [`wasmtime::Store`] carries: WASI contexts and limits.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::InternalRoute;
use crate::outbound::{BodyDone, OutboundClient};

/// Per-request state: a fresh one for every request, dropped with its store.
pub(crate) struct StoreData {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: Hooks,
    config_vars: Arc<WasiConfigVariables>,
    pub(crate) limits: StoreLimits,
}

impl StoreData {
    pub(crate) fn new(
        env: &[(String, String)],
        config_vars: Arc<WasiConfigVariables>,
        max_memory_bytes: usize,
        internal: Option<InternalRoute>,
        outbound: OutboundClient,
    ) -> Self {
        let wasi = WasiCtx::builder().envs(env).inherit_stderr().build();
        Self {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            hooks: Hooks { internal, outbound },
            config_vars,
            limits: StoreLimitsBuilder::new()
                .memory_size(max_memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
        }
    }
}

impl StoreData {
    /// The `wasi:config/store` view of this instance's variables.
    pub(crate) fn config(&mut self) -> WasiConfig<'_> {
        WasiConfig::from(&*self.config_vars)
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outgoing requests: internal ones answered in-process, the rest sent out
/// through the component's pooled client.
struct Hooks {
    internal: Option<InternalRoute>,
    outbound: OutboundClient,
}

type SendFuture = Box<
    dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, BodyDone)>> + Send,
>;

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        match &self.internal {
            Some(route) if route.matches(request.uri()) => {
                let service = route.service.clone();
                drop(fut);
                Box::new(async move {
                    let response = service(request).await;
                    let done: Box<dyn Future<Output = _> + Send> = Box::new(async { Ok(()) });
                    Ok((response, done))
                })
            }
            _ => {
                drop(fut);
                let outbound = self.outbound.clone();
                Box::new(async move { outbound.send(request, options).await })
            }
        }
    }
}
