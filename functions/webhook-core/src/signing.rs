//! The headers of one attempt, signed the way GOWA signs:
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// The signature header (GOWA's, and GitHub's before it).
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Headers the gateway sets itself; configured headers may not replace them,
/// nor the ones HTTP itself owns.
const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "host",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "user-agent",
    "x-hub-signature-256",
    "x-webhook-delivery",
    "x-webhook-event",
    "x-webhook-timestamp",
    "x-webhook-attempt",
];

/// Everything one attempt sends.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attempt {
    /// The delivery id (`X-Webhook-Delivery`): receivers dedupe on it.
    pub id: String,
    /// The receiver.
    pub url: String,
    /// The exact body to sign and send.
    pub body: String,
    /// The event name (`X-Webhook-Event`).
    pub event: String,
    /// The HMAC key; unsigned without one. Never logged.
    pub secret: Option<String>,
    /// Configured extra headers.
    pub headers: Vec<(String, String)>,
    /// Unix seconds (`X-Webhook-Timestamp`).
    pub timestamp: u64,
    /// Which attempt this is, from 1 (`X-Webhook-Attempt`).
    pub attempt: u32,
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("event", &self.event)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// A configured header that cannot be sent.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HeaderError {
    /// The name is not an HTTP token.
    #[error("`{0}` is not a valid header name")]
    InvalidName(String),
    /// The value has control characters (a header injection).
    #[error("the value of header `{0}` has control characters")]
    InvalidValue(String),
    /// The gateway or HTTP owns this header.
    #[error("header `{0}` is set by the gateway and cannot be configured")]
    Reserved(String),
}

/// `sha256=<lowercase hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The headers of `attempt`, in a stable order: the gateway's own first, then
/// the configured ones (refused when they would replace ours or break HTTP).
pub fn signed_headers(attempt: &Attempt) -> Result<Vec<(String, String)>, HeaderError> {
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        (
            "User-Agent".to_owned(),
            concat!("wa-gateway/", env!("CARGO_PKG_VERSION")).to_owned(),
        ),
        ("X-Webhook-Delivery".to_owned(), attempt.id.clone()),
        ("X-Webhook-Event".to_owned(), attempt.event.clone()),
        (
            "X-Webhook-Timestamp".to_owned(),
            attempt.timestamp.to_string(),
        ),
        ("X-Webhook-Attempt".to_owned(), attempt.attempt.to_string()),
    ];
    if let Some(secret) = attempt.secret.as_deref().filter(|s| !s.is_empty()) {
        headers.push((
            SIGNATURE_HEADER.to_owned(),
            signature(secret, attempt.body.as_bytes()),
        ));
    }
    for (name, value) in &attempt.headers {
        check_header(name, value)?;
        headers.push((name.clone(), value.clone()));
    }
    for (_, value) in &headers[..6] {
        // Ids and event names come from our own store, but a header must never
        // carry a line break whatever produced it.
        if value.bytes().any(|b| b.is_ascii_control()) {
            return Err(HeaderError::InvalidValue("X-Webhook-*".into()));
        }
    }
    Ok(headers)
}

fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(HeaderError::InvalidName(name.to_owned()));
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(HeaderError::Reserved(name.to_owned()));
    }
    if value
        .bytes()
        .any(|b| (b.is_ascii_control() && b != b'\t') || b == 0x7f)
    {
        return Err(HeaderError::InvalidValue(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 (key "Jefe"), as the `sha256=` header value.
    #[test]
    fn signature_matches_rfc_4231() {
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn attempt() -> Attempt {
        Attempt {
            id: "000000000042-abcdef012345".into(),
            url: "https://example.com/hook".into(),
            body: r#"{"event":"message","device_id":"main","payload":{}}"#.into(),
            event: "message".into(),
            secret: Some("secret".into()),
            headers: vec![("X-Api-Key".into(), "k1".into())],
            timestamp: 1_700_000_000,
            attempt: 3,
        }
    }

    #[test]
    fn headers_carry_id_event_time_attempt_signature_then_custom() {
        let headers = signed_headers(&attempt()).unwrap();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("X-Webhook-Delivery"), Some("000000000042-abcdef012345"));
        assert_eq!(get("X-Webhook-Event"), Some("message"));
        assert_eq!(get("X-Webhook-Timestamp"), Some("1700000000"));
        assert_eq!(get("X-Webhook-Attempt"), Some("3"));
        assert_eq!(get("X-Api-Key"), Some("k1"));
        let expected = signature("secret", attempt().body.as_bytes());
        assert_eq!(get(SIGNATURE_HEADER), Some(expected.as_str()));
        assert_eq!(headers.last().unwrap().0, "X-Api-Key");
    }

    #[test]
    fn no_secret_no_signature() {
        let unsigned = Attempt {
            secret: None,
            ..attempt()
        };
        let headers = signed_headers(&unsigned).unwrap();
        assert!(headers.iter().all(|(k, _)| k != SIGNATURE_HEADER));
    }

    #[test]
    fn configured_headers_cannot_override_or_inject() {
        for (name, value, expected) in [
            (
                "Content-Length",
                "1",
                HeaderError::Reserved("Content-Length".into()),
            ),
            (
                "x-hub-signature-256",
                "forged",
                HeaderError::Reserved("x-hub-signature-256".into()),
            ),
            ("Host", "evil", HeaderError::Reserved("Host".into())),
            ("Bad Name", "v", HeaderError::InvalidName("Bad Name".into())),
            (
                "X-Ok",
                "a\r\nX-Evil: 1",
                HeaderError::InvalidValue("X-Ok".into()),
            ),
        ] {
            let a = Attempt {
                headers: vec![(name.into(), value.into())],
                ..attempt()
            };
            assert_eq!(signed_headers(&a).unwrap_err(), expected);
        }
    }

    #[test]
    fn the_secret_stays_out_of_debug() {
        assert!(!format!("{:?}", attempt()).contains("secret\""));
        assert!(format!("{:?}", attempt()).contains("<redacted>"));
    }
}
