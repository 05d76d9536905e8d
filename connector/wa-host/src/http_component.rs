//! One HTTP component, pre-instantiated once and called with a fresh store per request.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, GuestTaskId, Linker};
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_config::WasiConfigVariables;
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept,
    WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use crate::engine::EPOCH_TICK;
use crate::outbound::OutboundClient;
use crate::store_data::StoreData;
use crate::{HostConfig, HostEngine, HostError, InternalRoute};

/// A component's answer: status, headers and a body that streams out of the instance.
pub type HttpResponse = http::Response<WasiBody>;

/// How long an instance may linger after its request before it is dropped.
const IDLE_GRACE: Duration = Duration::from_secs(1);
/// How long a guest may keep working after it answered (`post-return` work).
const POST_RETURN_GRACE: Duration = Duration::from_secs(5);

/// A `wasi:http` component ready to serve requests (p3 `handler` or p2 `incoming-handler`).
pub struct HttpComponent {
    handler: ProxyHandler<Instantiator>,
    permits: Semaphore,
    timeout: Duration,
}

impl std::fmt::Debug for HttpComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpComponent")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpComponent {
    /// Compiles (or loads from the cache) and pre-instantiates the component at
    /// `path`, so that missing imports and a missing handler export are found at
    /// startup rather than on the first request.
    pub fn load(engine: &HostEngine, path: &Path, config: &HostConfig) -> Result<Self, HostError> {
        let bytes = std::fs::read(path).map_err(|source| HostError::Read {
            path: path.to_owned(),
            source,
        })?;
        let load_error = |source| HostError::Load {
            path: path.to_owned(),
            source,
        };
        let started = Instant::now();
        let component = Component::new(engine.engine(), &bytes).map_err(load_error)?;
        tracing::debug!(path = %path.display(), elapsed = ?started.elapsed(), "component compiled");

        let mut linker = Linker::<StoreData>::new(engine.engine());
        add_wasi_to_linker(&mut linker).map_err(load_error)?;
        let instance_pre = linker.instantiate_pre(&component).map_err(load_error)?;
        let pre = match wasmtime_wasi_http::p3::bindings::ServicePre::new(instance_pre.clone()) {
            Ok(pre) => ProxyPre::P3(pre),
            Err(_) => ProxyPre::P2(
                wasmtime_wasi_http::p2::bindings::ProxyPre::new(instance_pre).map_err(
                    |source| HostError::NotAnHttpComponent {
                        path: path.to_owned(),
                        source,
                    },
                )?,
            ),
        };

        let instantiator = Instantiator {
            engine: engine.clone(),
            pre,
            env: config.env.clone(),
            config_vars: Arc::new(config.config_vars.iter().cloned().collect()),
            max_memory_bytes: config.max_memory_bytes,
            timeout: config.request_timeout,
            internal: config.internal.clone(),
            outbound: OutboundClient::new(&config.outbound)?,
        };
        Ok(Self {
            handler: ProxyHandler::new(instantiator),
            permits: Semaphore::new(config.max_concurrent_requests.max(1) as usize),
            timeout: config.request_timeout,
        })
    }

    /// Runs one request through the component.
    ///
    /// At most `max_concurrent_requests` run at once; the rest wait here, which
    /// is the backpressure wasmtime's handler leaves to its embedder.
    pub async fn handle<B>(&self, request: http::Request<B>) -> Result<HttpResponse, HostError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let request = request.map(|body| body.map_err(body_error).boxed_unsync());
        // The epoch deadline stops guest code; this outer timer also covers time
        // spent waiting on host calls, so a request can never hang forever.
        let answer =
            tokio::time::timeout(self.timeout + IDLE_GRACE, self.handler.handle((), request));
        match answer.await {
            Err(_) => Err(HostError::Timeout(self.timeout)),
            Ok(Err(error)) if error.is::<ExpirationError>() => {
                Err(HostError::Timeout(self.timeout))
            }
            Ok(Err(error)) => Err(HostError::Request(error)),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

/// Keeps hyper's errors typed (wasi:http maps them to precise error codes).
fn body_error(
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> wasmtime_wasi_http::Error {
    match error.into().downcast::<hyper::Error>() {
        Ok(error) => wasmtime_wasi_http::Error::Hyper(*error),
        Err(other) => wasmtime_wasi_http::Error::InternalError(Some(other.to_string())),
    }
}

/// Adds WASI 0.2 and 0.3 (CLI, clocks, filesystem, random, sockets),
/// `wasi:http` of both versions, so Rust `std` components load as they are,
/// and `wasi:config/store`, where components read their settings on Spin.
fn add_wasi_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_config::add_to_linker(linker, StoreData::config)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wasmtime_wasi::p3::add_to_linker(linker)?;
    wasmtime_wasi_http::p3::add_to_linker(linker)?;
    Ok(())
}

/// Creates one store and instance per request.
struct Instantiator {
    engine: HostEngine,
    pre: ProxyPre<StoreData>,
    env: Vec<(String, String)>,
    config_vars: Arc<WasiConfigVariables>,
    max_memory_bytes: usize,
    timeout: Duration,
    internal: Option<InternalRoute>,
    outbound: OutboundClient,
}

impl HandlerState for Instantiator {
    type StoreData = StoreData;
    type WorkerExpiration = Expiration;
    type WorkerState = SingleRequest;

    async fn instantiate(
        &self,
    ) -> wasmtime::Result<Instance<StoreData, Expiration, SingleRequest>> {
        let mut store = Store::new(
            self.engine.engine(),
            StoreData::new(
                &self.env,
                Arc::clone(&self.config_vars),
                self.max_memory_bytes,
                self.internal.clone(),
                self.outbound.clone(),
            ),
        );
        store.limiter(|data| &mut data.limits);
        store.set_epoch_deadline(deadline_ticks(self.timeout));
        store.epoch_deadline_trap();
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance {
            store,
            proxy,
            view: |data: &mut StoreData| data.http(),
            expiration: Expiration::new(self.timeout),
            state: SingleRequest {
                timeout: self.timeout,
            },
        })
    }
}

fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Each instance serves exactly one request: no state leaks between clients.
struct SingleRequest {
    timeout: Duration,
}

impl WorkerState for SingleRequest {
    type StoreData = StoreData;
    type RequestData = ();

    fn should_accept_request(&self, _concurrent: usize, total: usize) -> ShouldAccept {
        if total == 0 {
            ShouldAccept::Yes
        } else {
            ShouldAccept::Never
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, StoreData>,
        (): (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        Box::pin(tokio::time::sleep(self.timeout))
    }

    fn drop(&self, _store: Store<StoreData>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            tracing::warn!(
                error = format!("{error:#}"),
                "component instance ended with an error"
            );
        }
    }
}

/// Ends an instance once it is idle, or once its request has overrun.
struct Expiration {
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Expiration {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            sleep: Box::pin(tokio::time::sleep(IDLE_GRACE)),
        }
    }
}

impl WorkerExpiration for Expiration {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        state: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let allowance = match state {
            WorkerStatus::Idle => IDLE_GRACE,
            // `on_request_start` enforces the request timeout; this is the
            // second line of defence for guests that block the event loop.
            WorkerStatus::Requests => self.timeout + IDLE_GRACE,
            WorkerStatus::PostReturn => POST_RETURN_GRACE,
        };
        let deadline = tokio::time::Instant::from_std(start + allowance);
        let this = self.get_mut();
        if this.sleep.deadline() != deadline {
            this.sleep.as_mut().reset(deadline);
        }
        this.sleep.as_mut().poll(cx)
    }
}
