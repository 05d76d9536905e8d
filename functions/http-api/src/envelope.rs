//! GOWA's response envelope: `{"code":"SUCCESS","message":"...","results":{...}}`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::Full;
use serde::Serialize;

/// What the handlers return: a complete answer with its body.
pub type ApiResponse = Response<Full<Bytes>>;

/// One answer of the API, success or failure, in the envelope clients parse.
#[derive(Debug, Serialize)]
pub struct Envelope<T: Serialize> {
    /// `SUCCESS`, or an error code such as `VALIDATION_ERROR` or `NOT_FOUND`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The payload; `null` on errors.
    pub results: Option<T>,
}

/// A `200 OK` with `results` in the envelope.
pub fn success<T: Serialize>(message: impl Into<String>, results: T) -> ApiResponse {
    respond(
        StatusCode::OK,
        &Envelope {
            code: "SUCCESS",
            message: message.into(),
            results: Some(results),
        },
    )
}

/// A `200 OK` whose envelope carries no results (GOWA's answer to actions).
pub fn done(message: impl Into<String>) -> ApiResponse {
    respond(
        StatusCode::OK,
        &Envelope::<()> {
            code: "SUCCESS",
            message: message.into(),
            results: None,
        },
    )
}

/// An error answer: the HTTP status and GOWA's error code travel together.
pub fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiResponse {
    respond(
        status,
        &Envelope::<()> {
            code,
            message: message.into(),
            results: None,
        },
    )
}

/// A non-JSON answer (a PNG, a downloaded file, the dashboard).
pub fn bytes(content_type: &str, body: Bytes) -> ApiResponse {
    let mut response = Response::new(Full::new(body));
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

fn respond<T: Serialize>(status: StatusCode, body: &Envelope<T>) -> ApiResponse {
    // Serializing plain data structures cannot fail; an empty body would be a bug.
    let body = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
