//! The connector's interfaces (WIT world `wa:gateway/connector`), called over
//! `wasi:http`: `POST <CONNECTOR_URL>/internal/v1/<interface>/<function>` with
//! the arguments as a JSON array, answered with the return value as JSON.
//!
//! Inside the connector the host answers these in-process; on a Spin host they
//! go to the connector's internal endpoint with `CONNECTOR_TOKEN` as a bearer
//! token. Argument and result types are the ones generated from `wit/`.

use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::http::body::IncomingBodyExt;

use crate::bindings::wa::gateway::types::{GatewayError, MediaRef};
use crate::error::{ApiError, ApiResult};

/// Where the connector is when the environment does not say (the name the
/// connector's own host answers in-process).
const DEFAULT_URL: &str = "http://connector.internal";

/// A client of the connector's interfaces.
#[derive(Debug, Clone)]
pub struct Connector {
    base: String,
    token: Option<String>,
}

impl Connector {
    /// The connector named by `CONNECTOR_URL` (and `CONNECTOR_TOKEN`).
    pub fn from_env() -> Self {
        let base =
            crate::settings::non_empty("CONNECTOR_URL").unwrap_or_else(|| DEFAULT_URL.to_owned());
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: crate::settings::non_empty("CONNECTOR_TOKEN"),
        }
    }

    /// Calls a function that cannot fail (its WIT result is a plain value).
    pub async fn call<T: DeserializeOwned>(
        &self,
        interface: &str,
        function: &str,
        args: impl Serialize,
    ) -> ApiResult<T> {
        let body = serde_json::to_vec(&args)
            .map_err(|e| ApiError::internal(format!("cannot encode the call: {e}")))?;
        let answer = self
            .post(interface, function, "", body.into(), "application/json")
            .await?;
        decode(&answer)
    }

    /// Calls a function returning `result<T, gateway-error>`; its error becomes
    /// the API's.
    pub async fn try_call<T: DeserializeOwned>(
        &self,
        interface: &str,
        function: &str,
        args: impl Serialize,
    ) -> ApiResult<T> {
        let result: Result<T, GatewayError> = self.call(interface, function, args).await?;
        result.map_err(ApiError::from)
    }

    /// `media.put-media`: the bytes travel as the raw body.
    pub async fn put_media(&self, mime: &str, bytes: Bytes) -> ApiResult<MediaRef> {
        let query = format!("?mime={}", percent_encode(mime));
        let answer = self
            .post(
                "media",
                "put-media",
                &query,
                bytes,
                "application/octet-stream",
            )
            .await?;
        let result: Result<MediaRef, GatewayError> = decode(&answer)?;
        result.map_err(ApiError::from)
    }

    /// `media.read-media`: the file comes back as the raw body.
    pub async fn read_media(&self, key: &str) -> ApiResult<Bytes> {
        let body = serde_json::to_vec(&(key,)).unwrap_or_default();
        let answer = self
            .post("media", "read-media", "", body.into(), "application/json")
            .await?;
        if answer.json {
            let result: Result<(), GatewayError> = decode(&answer)?;
            return Err(match result {
                Err(error) => ApiError::from(error),
                Ok(()) => ApiError::internal("the connector answered without the file"),
            });
        }
        Ok(answer.body)
    }

    async fn post(
        &self,
        interface: &str,
        function: &str,
        query: &str,
        body: Bytes,
        content_type: &str,
    ) -> ApiResult<Answer> {
        let url = format!("{}/internal/v1/{interface}/{function}{query}", self.base);
        let mut request = http::Request::builder()
            .method(Method::POST)
            .uri(&url)
            .header(header::CONTENT_TYPE, content_type);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ApiError::internal(format!("bad connector URL {url}: {e}")))?;
        let response = spin_sdk::http::send(request)
            .await
            .map_err(|e| unreachable_connector(&format!("{e:?}")))?;
        let status = response.status();
        let json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| unreachable_connector(&format!("{e:?}")))?;
        if status != StatusCode::OK {
            // A failure of the call itself (bad arguments, auth): the contract
            // and this build disagree, or the deployment is misconfigured.
            let detail = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(ApiError::internal(format!(
                "the connector refused {interface}/{function} ({status}): {detail}"
            )));
        }
        Ok(Answer { json, body })
    }
}

struct Answer {
    json: bool,
    body: Bytes,
}

fn decode<T: DeserializeOwned>(answer: &Answer) -> ApiResult<T> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        ApiError::internal(format!(
            "the connector's answer does not match the contract: {e}"
        ))
    })
}

fn unreachable_connector(detail: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        format!("the connector cannot be reached: {detail}"),
    )
}

/// Percent-encodes a query value (MIME types carry `/`, `;`, `=` and spaces).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
