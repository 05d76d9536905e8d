//! One webhook POST over the network, read the way the `webhook-fanout`
//! component reads it: `webhook-core` signs and classifies, this module only
//! moves the bytes.

use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use webhook_core::{Attempt, MAX_ANSWER_EXCERPT, Outcome};

/// Makes `attempt`, waiting at most `timeout` for the whole answer, and says
/// what came of it. Never fails: every problem is an [`Outcome`] (a bad URL or
/// header is a reject, a timeout or network error a retry).
pub async fn send(client: &reqwest::Client, attempt: &Attempt, timeout: Duration) -> Outcome {
    let headers = match webhook_core::signed_headers(attempt).map(|h| header_map(&h)) {
        Ok(Ok(headers)) => headers,
        Ok(Err(reason)) => return Outcome::reject(reason),
        Err(error) => return Outcome::reject(error.to_string()),
    };
    let url = match reqwest::Url::parse(&attempt.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => url,
        Ok(_) => return Outcome::reject(format!("{} is not an http(s) URL", attempt.url)),
        Err(error) => return Outcome::reject(format!("invalid URL {}: {error}", attempt.url)),
    };
    let sent = client
        .post(url)
        .headers(headers)
        // A declared length, not chunked encoding: many receivers read exactly
        // Content-Length bytes.
        .header(CONTENT_LENGTH, attempt.body.len())
        .body(attempt.body.clone())
        .timeout(timeout)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) if error.is_timeout() => {
            return Outcome::retry(format!("the receiver did not answer within {timeout:?}"));
        }
        Err(error) => {
            return Outcome::retry(format!(
                "the receiver cannot be reached: {}",
                error_chain(&error)
            ));
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // Only the start of the answer, to quote it; a receiver that keeps
    // streaming is cut off by the same timeout, and what came counts.
    let mut excerpt = Vec::new();
    while excerpt.len() < MAX_ANSWER_EXCERPT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(MAX_ANSWER_EXCERPT - excerpt.len());
                excerpt.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    webhook_core::classify_status(status, retry_after.as_deref(), unix_now()).quoting(&excerpt)
}

/// `webhook-core`'s checked headers as reqwest's map.
fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header `{name}` cannot be sent"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// The error and its causes on one line (reqwest's own message is terse).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// The HTTP client attempts share: no redirects (a 3xx is the receiver's
/// answer, rejected as the component does), no cookies, pooled connections.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .build()
}
