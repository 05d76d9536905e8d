//! The connector's HTTP front: accepts connections, applies basic auth and the
//! per-client rate limit, and hands each request to the REST API component (or
//! to the connector's own monitoring endpoints), counting it in the metrics.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use subtle::ConstantTimeEq;
use wa_host::{HostError, HttpComponent, HttpResponse};

use api_auth::Credentials;
use tokio_rustls::TlsAcceptor;

use crate::config::Secret;
use crate::gateway::Gateway;
use crate::internal_api;
use crate::monitoring::Monitoring;
use crate::profiling;
use crate::rate_limit::KeyedLimiter;

/// Who may call the API and how often.
#[derive(Debug)]
pub struct Access {
    /// The accepted credentials (empty: the API is open).
    pub credentials: Credentials,
    /// Requests per client (API key, basic-auth user, or remote address when
    /// the API is open); `None`: unlimited.
    pub rate_limit: Option<KeyedLimiter>,
    /// Serve CPU profiles at [`profiling::PROFILE_PATH`] (to authenticated
    /// callers); off: that path is an unknown route like any other.
    pub pprof: bool,
}

/// How long in-flight requests may take to finish once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then lets in-flight requests
/// finish (up to a bound) before returning.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    component: Arc<HttpComponent>,
    auth: Arc<Access>,
    internal: Option<Arc<InternalEndpoint>>,
    monitoring: Arc<Monitoring>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Running out of file descriptors and the like is passing:
                    // keep serving the connections we have.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A streamed answer goes out as headers, then body: with Nagle's
        // algorithm on, the body waits for the client's delayed ACK (~40 ms).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let component = component.clone();
        let auth = auth.clone();
        let internal = internal.clone();
        let monitoring = monitoring.clone();
        let service = service_fn(move |request| {
            let component = component.clone();
            let auth = auth.clone();
            let internal = internal.clone();
            let monitoring = monitoring.clone();
            async move {
                let observed = Observed::start(&monitoring, &request);
                let response = if request.uri().path().starts_with(internal_api::PREFIX) {
                    answer_internal(internal.as_deref(), request).await
                } else {
                    answer(&component, &auth, &monitoring, peer.ip(), request).await
                };
                observed.finish(&monitoring, response.status());
                Ok::<_, Infallible>(response)
            }
        });
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let served = match tls {
                None => serve_connection(stream, service, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => serve_connection(stream, service, watcher).await,
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down: draining in-flight requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running after {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP/1.1 on one accepted connection (plain TCP or TLS), letting a
/// shutdown drain it.
async fn serve_connection<I, S>(
    io: I,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
) -> hyper::Result<()>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as http_body::Body>::Data: Send,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(io), service);
    watcher.watch(connection).await
}

/// The internal endpoint on the network (cloud mode): bearer token only.
pub struct InternalEndpoint {
    /// Serves the calls.
    pub gateway: Gateway,
    /// The token callers must present.
    pub token: Secret,
}

async fn answer_internal(
    internal: Option<&InternalEndpoint>,
    request: http::Request<hyper::body::Incoming>,
) -> HttpResponse {
    let Some(endpoint) = internal else {
        // Not enabled: indistinguishable from any other unknown path.
        return envelope_response(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route");
    };
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(
        presented
            .as_bytes()
            .ct_eq(endpoint.token.expose().as_bytes()),
    ) {
        return envelope_response(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "a valid internal API token is required",
        );
    }
    internal_api::handle(&endpoint.gateway, request)
        .await
        .map(|body| {
            body.map_err(|never: Infallible| match never {})
                .boxed_unsync()
        })
}

/// A request being answered, for the metrics: its route pattern, method and
/// arrival time.
struct Observed {
    route: String,
    method: http::Method,
    started: std::time::Instant,
}

impl Observed {
    fn start<B>(monitoring: &Monitoring, request: &http::Request<B>) -> Self {
        Self {
            route: monitoring.metrics().route(request.uri().path()),
            method: request.method().clone(),
            started: std::time::Instant::now(),
        }
    }

    /// Counts the request once its answer's head is ready (a streamed body
    /// may still be on its way).
    fn finish(self, monitoring: &Monitoring, status: StatusCode) {
        monitoring.metrics().observe_request(
            &self.route,
            &self.method,
            status,
            self.started.elapsed(),
        );
    }
}

async fn answer(
    component: &HttpComponent,
    access: &Access,
    monitoring: &Monitoring,
    peer: IpAddr,
    request: http::Request<hyper::body::Incoming>,
) -> HttpResponse {
    let auth = &access.credentials;
    let own = monitoring.endpoint(request.uri().path());
    // Liveness and readiness probes carry no credentials (and `/metrics`
    // with METRICS_PUBLIC); everything else is the API.
    let public = request.uri().path() == "/health" || own.is_some_and(|e| monitoring.is_public(e));
    if !public {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        let principal = match auth.authenticate(
            header(http::header::AUTHORIZATION.as_str()),
            header(API_KEY_HEADER),
        ) {
            Some(principal) => principal,
            None => return unauthorized(auth),
        };
        tracing::trace!(?principal, "authenticated");
        // The monitoring endpoints stay reachable however busy a client is:
        // a scraper sharing the API's credentials must not be starved.
        if own.is_none()
            && request.uri().path() != profiling::PROFILE_PATH
            && let Some(limiter) = &access.rate_limit
            && let Err(wait) = limiter.check(&client_key(&principal, peer))
        {
            return too_many_requests(wait);
        }
    }
    if access.pprof && request.uri().path() == profiling::PROFILE_PATH {
        return profile_response(request.uri().query()).await;
    }
    if let Some(endpoint) = own {
        return monitoring
            .answer(endpoint, request.method())
            .await
            .map(|body| {
                Full::new(body)
                    .map_err(|never: Infallible| match never {})
                    .boxed_unsync()
            });
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request = with_absolute_uri(request);
    match component.handle(request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%method, %path, error = %error, "request failed inside the component");
            host_error_response(&error)
        }
    }
}

/// Gives the request an absolute URI (`http://host/path?query`) from its `Host`
/// header: wasi:http hands the authority to components in the URI, and the
/// component builds links (the QR PNG's) from it.
fn with_absolute_uri<B>(mut request: http::Request<B>) -> http::Request<B> {
    if request.uri().authority().is_some() {
        return request;
    }
    let Some(host) = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok())
    else {
        return request;
    };
    let mut parts = request.uri().clone().into_parts();
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(host);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

/// The host's own answers use the API's envelope too, so clients parse one shape.
fn host_error_response(error: &HostError) -> HttpResponse {
    match error {
        HostError::Timeout(limit) => envelope_response(
            StatusCode::GATEWAY_TIMEOUT,
            "TIMEOUT",
            &format!("the request took longer than {limit:?}"),
        ),
        _ => envelope_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "the request failed inside the gateway",
        ),
    }
}

/// The bucket a request is counted in: its API key's or user's name, or its
/// remote address when the API is open.
fn client_key(principal: &api_auth::Principal<'_>, peer: IpAddr) -> String {
    match principal {
        api_auth::Principal::Key(name) => format!("key:{name}"),
        api_auth::Principal::User(name) => format!("user:{name}"),
        api_auth::Principal::Anyone => format!("ip:{peer}"),
    }
}

/// A 429 in the envelope, with `Retry-After` in whole seconds (rounded up, so
/// a client that waits that long finds a token).
fn too_many_requests(wait: Duration) -> HttpResponse {
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut response = envelope_response(
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_REQUESTS",
        &format!("rate limit exceeded: retry in {seconds} s"),
    );
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A CPU profile of the process over the requested seconds, as pprof protobuf.
async fn profile_response(query: Option<&str>) -> HttpResponse {
    match profiling::cpu_profile(profiling::requested_seconds(query)).await {
        Ok(bytes) => {
            let mut response = http::Response::new(
                Full::new(Bytes::from(bytes))
                    .map_err(|never: Infallible| match never {})
                    .boxed_unsync(),
            );
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            response.headers_mut().insert(
                http::header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"profile.pb\""),
            );
            response
        }
        Err(profiling::ProfileError::Busy) => envelope_response(
            StatusCode::CONFLICT,
            "CONFLICT",
            "a profile is already being taken; try again when it is done",
        ),
        Err(error) => {
            tracing::error!(%error, "CPU profile failed");
            envelope_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                &error.to_string(),
            )
        }
    }
}

/// The header API keys may come in (else `Authorization: Bearer`).
const API_KEY_HEADER: &str = "x-api-key";

/// A 401 in the envelope, with the basic-auth challenge when accounts exist
/// (browsers then ask for them, which the dashboard relies on).
fn unauthorized(auth: &Credentials) -> HttpResponse {
    let mut response = envelope_response(
        StatusCode::UNAUTHORIZED,
        "AUTHENTICATION_ERROR",
        "valid credentials are required: basic auth, or an API key in X-Api-Key or Authorization: Bearer",
    );
    if auth.has_accounts() {
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(api_auth::CHALLENGE),
        );
    }
    response
}

/// An answer in the API's envelope, made by the connector itself.
fn envelope_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "code": code, "message": message, "results": null }).to_string();
    let mut response = http::Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
