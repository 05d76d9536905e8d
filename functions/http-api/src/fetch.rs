//! Downloads the API makes on a client's behalf (media URLs, linked pages and
//! their pictures), all behind one guard.
//!
//! Only http(s) URLs to public addresses are fetched (unless the operator
//! sets `WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS=true`), so a client cannot make
//! the gateway probe its own network; every body is read up to a cap. A
//! redirect is followed only when the caller allows it, and its target passes
//! the same guard. [`within`] bounds a download (or several) in time.

use std::future::Future;
use std::net::IpAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty};

/// Why a URL was not downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not an http(s) URL to a public address; the text says why.
    Refused(String),
    /// The request failed before an answer (connection, TLS, timeout).
    Unreachable(String),
    /// The server answered with a status other than success.
    Status(StatusCode),
    /// The body is larger than the cap.
    TooLarge,
    /// The body broke off.
    Read(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Refused(why) => f.write_str(why),
            FetchError::Unreachable(why) => write!(f, "unreachable: {why}"),
            FetchError::Status(status) => write!(f, "answered {status}"),
            FetchError::TooLarge => f.write_str("larger than the limit"),
            FetchError::Read(why) => write!(f, "the answer broke off: {why}"),
        }
    }
}

/// What to do with a body larger than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Fail with [`FetchError::TooLarge`] (a file must be whole).
    Refuse,
    /// Keep the first bytes up to the cap (a page's head is at its start).
    Truncate,
}

/// How to download: the request's `Accept`, the cap and redirects.
#[derive(Debug, Clone, Copy)]
pub struct Fetch<'a> {
    /// The `Accept` header sent.
    pub accept: &'a str,
    /// The most body bytes read.
    pub max_bytes: usize,
    /// Beyond `max_bytes`: fail or cut.
    pub overflow: Overflow,
    /// How many redirects may be followed (0: a redirect is a failure).
    pub redirects: u8,
}

/// A successful answer.
#[derive(Debug)]
pub struct Downloaded {
    /// Where the body came from (after redirects).
    pub url: String,
    /// The declared `Content-Type`.
    pub content_type: Option<String>,
    /// The body, at most the cap.
    pub bytes: Bytes,
}

/// The product token sent as `User-Agent`.
const USER_AGENT: &str = concat!("wa-gateway/", env!("CARGO_PKG_VERSION"));

/// Downloads `url` as `how` says.
pub async fn download(url: &str, how: Fetch<'_>) -> Result<Downloaded, FetchError> {
    let mut url = url.to_owned();
    let mut redirects_left = how.redirects;
    loop {
        let uri = checked(&url)?;
        let request = http::Request::get(uri)
            .header(header::ACCEPT, how.accept)
            .header(header::USER_AGENT, USER_AGENT)
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Refused(format!("bad URL: {e}")))?;
        let response = spin_sdk::http::send(request)
            .await
            .map_err(|e| FetchError::Unreachable(format!("{e:?}")))?;
        let status = response.status();
        if status.is_redirection() && redirects_left > 0 {
            let target = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| link_preview::url::resolve(&url, location))
                .ok_or(FetchError::Status(status))?;
            redirects_left -= 1;
            url = target;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status(status));
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_body(response.into_body(), how.max_bytes, how.overflow).await?;
        return Ok(Downloaded {
            url,
            content_type,
            bytes,
        });
    }
}

/// Reads at most `max` bytes of `body`, as `overflow` says beyond them.
async fn read_body<B>(body: B, max: usize, overflow: Overflow) -> Result<Bytes, FetchError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let mut body = pin!(body);
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| FetchError::Read(format!("{e:?}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if out.len() + data.len() > max {
            return match overflow {
                Overflow::Refuse => Err(FetchError::TooLarge),
                Overflow::Truncate => {
                    out.extend_from_slice(&data[..max - out.len()]);
                    Ok(out.freeze())
                }
            };
        }
        out.extend_from_slice(&data);
    }
    Ok(out.freeze())
}

/// `url` parsed, if it is http(s) to a host the guard lets through.
fn checked(url: &str) -> Result<Uri, FetchError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| FetchError::Refused(format!("`{url}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(FetchError::Refused(
                "only http and https URLs are fetched".into(),
            ));
        }
    }
    let host = uri
        .host()
        .ok_or_else(|| FetchError::Refused(format!("`{url}` has no host")))?;
    if !allow_private() && is_private_host(host) {
        return Err(FetchError::Refused(format!(
            "`{host}` is a local or private address; only public addresses are fetched"
        )));
    }
    Ok(uri)
}

/// `future`'s output, or `None` when `limit` passes first (the future is
/// dropped, which cancels its requests).
pub async fn within<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut timer = pin!(spin_sdk::time::sleep(limit));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

fn allow_private() -> bool {
    crate::settings::get("WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS").is_some_and(|v| v.trim() == "true")
}

/// Loopback, private, link-local and unspecified addresses, and local names.
/// (Names that resolve to private addresses are the host's to refuse.)
fn is_private_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost")
        || host.ends_with(".localhost")
        || host.ends_with(".local")
    {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (64..128).contains(&ip.octets()[1])
        }
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
        }
        Err(_) => false,
    }
}
