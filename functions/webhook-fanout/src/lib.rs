//! The webhook fan-out as a WebAssembly HTTP component: `POST /deliver` with a
//! `delivery-request` (WIT `wa:gateway/delivery`) makes one signed attempt to
//! the receiver and answers the `delivery-outcome`.
//!
//! Signing, header rules and the reading of the receiver's answer are
//! `webhook-core`'s, shared with the Lambda. The attempt's time limit is the
//! host's (the connector stops an instance that overruns and counts the attempt
//! as a retry).

use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use spin_sdk::http::{IntoResponse, Request};

use bindings::wa::gateway::delivery::{DeliveryFailure, DeliveryOutcome, DeliveryRequest};

/// Bindings for the `wa:gateway` contract (`wit/`), generated, never hand-copied.
#[allow(missing_docs, clippy::all)]
mod bindings {
    spin_sdk::wit_bindgen::generate!({
        path: "../../wit",
        world: "wa:gateway/webhook-fanout",
        runtime_path: "spin_sdk::wit_bindgen::rt",
        generate_all,
        generate_unused_types: true,
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// The largest request this component accepts (a body of up to 1 MiB plus framing).
const MAX_REQUEST: usize = 2 * 1024 * 1024;
/// How much of a receiver's answer is read (only for the error reason).
const MAX_ANSWER: usize = 4 * 1024;

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    if request.method() != Method::POST || request.uri().path() != "/deliver" {
        return answer(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "POST /deliver"}),
        );
    }
    let body = match Limited::new(request.into_body(), MAX_REQUEST)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"error": format!("cannot read the request: {e}")}),
            );
        }
    };
    let delivery: DeliveryRequest = match serde_json::from_slice(&body) {
        Ok(delivery) => delivery,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"error": format!("not a delivery-request: {e}")}),
            );
        }
    };
    answer(StatusCode::OK, &deliver(delivery).await)
}

/// Makes the attempt and reads what came of it.
async fn deliver(delivery: DeliveryRequest) -> DeliveryOutcome {
    let attempt = webhook_core::Attempt {
        id: delivery.id,
        url: delivery.url,
        body: delivery.body,
        event: delivery.event,
        secret: delivery.secret,
        headers: delivery.headers,
        timestamp: delivery.timestamp,
        attempt: delivery.attempt,
    };
    let headers = match webhook_core::signed_headers(&attempt) {
        Ok(headers) => headers,
        Err(e) => return reject(None, e.to_string()),
    };
    let uri: http::Uri = match attempt.url.parse() {
        Ok(uri) => uri,
        Err(e) => return reject(None, format!("invalid URL {}: {e}", attempt.url)),
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return reject(None, format!("{} is not an http(s) URL", attempt.url));
    }
    // A declared length, not chunked encoding: many receivers (and GOWA's
    // examples) read exactly Content-Length bytes.
    let mut builder = http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_LENGTH, attempt.body.len());
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = match builder.body(Full::new(Bytes::from(attempt.body.clone()))) {
        Ok(request) => request,
        Err(e) => return reject(None, format!("cannot build the request: {e}")),
    };
    let response = match spin_sdk::http::send(request).await {
        Ok(response) => response,
        Err(code) => return retry(None, format!("the receiver cannot be reached: {code:?}")),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Read a little of the answer so error reasons can quote it; a receiver that
    // streams forever is cut off by the host's time limit.
    let excerpt = read_excerpt(response.into_body()).await;
    let outcome = webhook_core::classify_status(status, retry_after.as_deref(), attempt.timestamp);
    convert(outcome, &excerpt)
}

async fn read_excerpt<B: http_body::Body>(body: B) -> String
where
    B::Data: bytes::Buf,
{
    let mut body = std::pin::pin!(body);
    let mut excerpt = Vec::new();
    while excerpt.len() < MAX_ANSWER {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(mut data) = frame.into_data() {
                    use bytes::Buf;
                    while data.has_remaining() && excerpt.len() < MAX_ANSWER {
                        let chunk = data.chunk();
                        let take = chunk.len().min(MAX_ANSWER - excerpt.len());
                        excerpt.extend_from_slice(&chunk[..take]);
                        data.advance(take);
                    }
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&excerpt)
        .trim()
        .chars()
        .take(200)
        .collect()
}

fn convert(outcome: webhook_core::Outcome, excerpt: &str) -> DeliveryOutcome {
    let failure = |f: webhook_core::Failure| DeliveryFailure {
        status: f.status,
        reason: if excerpt.is_empty() {
            f.reason
        } else {
            format!("{}: {excerpt}", f.reason)
        },
        retry_after_secs: f.retry_after_secs,
    };
    match outcome {
        webhook_core::Outcome::Delivered(status) => DeliveryOutcome::Delivered(status),
        webhook_core::Outcome::Retry(f) => DeliveryOutcome::Retry(failure(f)),
        webhook_core::Outcome::Reject(f) => DeliveryOutcome::Reject(failure(f)),
    }
}

fn retry(status: Option<u16>, reason: String) -> DeliveryOutcome {
    DeliveryOutcome::Retry(DeliveryFailure {
        status,
        reason,
        retry_after_secs: None,
    })
}

fn reject(status: Option<u16>, reason: String) -> DeliveryOutcome {
    DeliveryOutcome::Reject(DeliveryFailure {
        status,
        reason,
        retry_after_secs: None,
    })
}

fn answer(status: StatusCode, body: &impl serde::Serialize) -> http::Response<Full<Bytes>> {
    let body = serde_json::to_vec(body).unwrap_or_default();
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
