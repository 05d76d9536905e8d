//! Serves an [`HttpComponent`] over HTTP/1.1 on a TCP listener.

use std::convert::Infallible;
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

use crate::{HostError, HttpComponent, HttpResponse};

/// How long in-flight requests may take to finish once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then lets in-flight requests
/// finish (up to a bound) before returning.
pub async fn serve(
    listener: TcpListener,
    component: Arc<HttpComponent>,
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
        let component = component.clone();
        let service = service_fn(move |request| {
            let component = component.clone();
            async move { Ok::<_, Infallible>(answer(&component, request).await) }
        });
        let connection = http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(Duration::from_secs(30))
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
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

async fn answer(
    component: &HttpComponent,
    request: http::Request<hyper::body::Incoming>,
) -> HttpResponse {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match component.handle(request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%method, %path, error = %error, "request failed inside the component");
            host_error_response(&error)
        }
    }
}

/// The host's own answers use the API's envelope too, so clients parse one shape.
fn host_error_response(error: &HostError) -> HttpResponse {
    let (status, code) = match error {
        HostError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "TIMEOUT"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR"),
    };
    let message = match error {
        HostError::Timeout(limit) => format!("the request took longer than {limit:?}"),
        _ => "the request failed inside the gateway".to_owned(),
    };
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
