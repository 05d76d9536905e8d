//! Requests components send to the network, over one pooled client.
//!
//! wasmtime's default `wasi:http` sender opens a fresh connection for every
//! request. Webhook deliveries and media-URL fetches go to the same few hosts
//! over and over, so each component gets one client whose idle connections
//! are kept (per host, for a while) and reused, and whose overall timeout caps
//! every transfer. The guest's own request options still apply on top.

use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::HostError;

/// The default for a guest timeout it did not set (wasmtime's own default).
const UNSET_GUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// How components' outgoing requests are sent: connection reuse and the
/// longest a transfer may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundHttp {
    /// Idle connections kept per host for reuse (0: connect anew every time).
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept before it is closed.
    pub idle_timeout: Duration,
    /// The longest one request may take, from connecting to the end of the
    /// response body; it caps whatever the guest asked for.
    pub timeout: Duration,
}

impl Default for OutboundHttp {
    fn default() -> Self {
        Self {
            max_idle_per_host: 8,
            idle_timeout: Duration::from_secs(90),
            timeout: Duration::from_secs(300),
        }
    }
}

/// The future telling the guest how sending its request body ended.
pub(crate) type BodyDone = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// One pooled client shared by every instance of a component.
#[derive(Debug, Clone)]
pub(crate) struct OutboundClient {
    client: reqwest::Client,
}

impl OutboundClient {
    /// A client built from `settings`: no redirects followed and no proxy
    /// taken from the environment, as with wasmtime's own sender.
    pub(crate) fn new(settings: &OutboundHttp) -> Result<Self, HostError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .http1_only()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(settings.max_idle_per_host)
            .pool_idle_timeout(settings.idle_timeout)
            .timeout(settings.timeout)
            .build()
            .map_err(HostError::OutboundClient)?;
        Ok(Self { client })
    }

    /// Sends `request`, honouring the guest's timeouts: the connect and
    /// first-byte ones together bound the wait for the response head (a
    /// pooled connection may need no connecting), the between-bytes one
    /// bounds every gap in the response body.
    pub(crate) async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<(http::Response<WasiBody>, BodyDone), Error> {
        let options = options.unwrap_or_default();
        let head_timeout = options.connect_timeout.unwrap_or(UNSET_GUEST_TIMEOUT)
            + options.first_byte_timeout.unwrap_or(UNSET_GUEST_TIMEOUT);
        let between_bytes = options
            .between_bytes_timeout
            .unwrap_or(UNSET_GUEST_TIMEOUT)
            .max(Duration::from_nanos(1));

        let (parts, body) = request.into_parts();
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        let mut outgoing = reqwest::Request::new(parts.method, url);
        *outgoing.headers_mut() = parts.headers;
        *outgoing.body_mut() = Some(reqwest::Body::wrap(SyncBody::new(body)));

        let response = tokio::time::timeout(head_timeout, self.client.execute(outgoing))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(to_wasi_error)?;
        let response = http::Response::from(response).map(|body| {
            let mut gap = tokio::time::interval(between_bytes);
            gap.reset();
            GuardedBody { inner: body, gap }.boxed_unsync()
        });
        // The client drives the connection itself; the request body was sent
        // (or failed, which `execute` reported) before the head arrived.
        let done: BodyDone = Box::new(async { Ok(()) });
        Ok((response, done))
    }
}

/// What the guest is told when the client fails.
fn to_wasi_error(error: reqwest::Error) -> Error {
    if error.is_timeout() {
        if error.is_connect() {
            Error::ConnectionTimeout
        } else {
            Error::HttpResponseTimeout
        }
    } else if error.is_connect() {
        Error::Connect(std::io::Error::other(error))
    } else {
        Error::InternalError(Some(format!("{:#}", anyhow::Error::new(error))))
    }
}

/// A guest's request body made `Sync` (the client asks for it) by owning it
/// behind a mutex that is only ever reached through `&mut`.
struct SyncBody {
    inner: Mutex<WasiBody>,
    end_at_start: bool,
    hint_at_start: SizeHint,
}

impl SyncBody {
    fn new(body: WasiBody) -> Self {
        Self {
            end_at_start: body.is_end_stream(),
            hint_at_start: body.size_hint(),
            inner: Mutex::new(body),
        }
    }
}

impl Body for SyncBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let body = self
            .get_mut()
            .inner
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        Pin::new(body).poll_frame(cx)
    }

    // Both are read once, before the body is sent (framing, content-length).
    fn is_end_stream(&self) -> bool {
        self.end_at_start
    }

    fn size_hint(&self) -> SizeHint {
        self.hint_at_start
    }
}

/// A response body that fails when the server goes quiet for longer than
/// the guest's between-bytes timeout.
struct GuardedBody {
    inner: reqwest::Body,
    gap: tokio::time::Interval,
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Ok(frame))) => {
                self.gap.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(to_wasi_error(error)))),
            Poll::Pending => {
                ready!(self.gap.poll_tick(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
