//! The connector's own monitoring endpoints on its listener: `GET /metrics`
//! (Prometheus text format) and `GET /ready` (readiness, see
//! [`crate::readiness`]). They are answered here, before the REST component,
//! because what they report (accounts, queues, the process) lives in the
//! connector; the HTTP front only asks [`Monitoring::endpoint`] and hands
//! the request over.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use wa_store::{DeliveryState, DynStore};

use crate::accounts::{AccountManager, AccountState};
use crate::metrics::{AccountSample, Metrics, Sample};
use crate::readiness;

/// An endpoint answered by the connector itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/metrics`.
    Metrics,
    /// `/ready`.
    Ready,
}

/// What the monitoring endpoints read, and whether `/metrics` is public.
#[derive(Clone)]
pub struct Monitoring {
    metrics: Metrics,
    accounts: Arc<AccountManager>,
    store: DynStore,
    metrics_public: bool,
}

impl std::fmt::Debug for Monitoring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitoring")
            .field("metrics_public", &self.metrics_public)
            .finish_non_exhaustive()
    }
}

impl Monitoring {
    /// Monitoring of `accounts` and `store`, into `metrics`; `metrics_public`
    /// lets `/metrics` be scraped without the API's credentials.
    pub fn new(
        metrics: Metrics,
        accounts: Arc<AccountManager>,
        store: DynStore,
        metrics_public: bool,
    ) -> Self {
        Self {
            metrics,
            accounts,
            store,
            metrics_public,
        }
    }

    /// The registry requests are recorded into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The endpoint `path` names, if it is one of ours.
    pub fn endpoint(&self, path: &str) -> Option<Endpoint> {
        match path {
            "/metrics" => Some(Endpoint::Metrics),
            "/ready" => Some(Endpoint::Ready),
            _ => None,
        }
    }

    /// Whether `endpoint` is answered without credentials: `/ready` always
    /// (probes carry none, and it tells nothing secret), `/metrics` only with
    /// `METRICS_PUBLIC=true` (it names accounts and volumes).
    pub fn is_public(&self, endpoint: Endpoint) -> bool {
        match endpoint {
            Endpoint::Ready => true,
            Endpoint::Metrics => self.metrics_public,
        }
    }

    /// Answers `endpoint` (GET and HEAD; anything else is 405).
    pub async fn answer(&self, endpoint: Endpoint, method: &Method) -> http::Response<Bytes> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = envelope(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "only GET is allowed here",
                serde_json::Value::Null,
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let mut response = match endpoint {
            Endpoint::Metrics => self.scrape().await,
            Endpoint::Ready => self.ready().await,
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if method == Method::HEAD {
            *response.body_mut() = Bytes::new();
        }
        response
    }

    async fn scrape(&self) -> http::Response<Bytes> {
        let text = self.metrics.encode(&self.sample().await).await;
        let mut response = http::Response::new(Bytes::from(text));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        );
        response
    }

    async fn ready(&self) -> http::Response<Bytes> {
        let readiness = readiness::check(&self.accounts, &self.store).await;
        let (status, code, message) = if readiness.ready {
            (StatusCode::OK, "SUCCESS", "ready".to_owned())
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "NOT_READY",
                format!("not ready: {}", readiness.not_ready.join("; ")),
            )
        };
        let results = serde_json::to_value(&readiness).unwrap_or_default();
        envelope(status, code, &message, results)
    }

    /// Reads the sampled gauges' sources. The store is asked with a bound
    /// on each query; after one failure the rest is skipped (and reported
    /// as missing, `whatsapp_store_up 0`) so a hung database cannot hang
    /// the scrape.
    async fn sample(&self) -> Sample {
        let mut store_up = true;
        let mut accounts = Vec::new();
        for handle in self.accounts.handles() {
            let state = handle.state();
            if readiness::has_ended(state) {
                continue;
            }
            let outbox_pending = if store_up {
                bounded(self.store.count_outbox(handle.id())).await
            } else {
                None
            };
            store_up &= outbox_pending.is_some();
            accounts.push(AccountSample {
                account: handle.id().to_string(),
                connected: state == AccountState::LoggedIn,
                outbox_pending,
            });
        }
        let (deliveries_pending, dead_letters) = if store_up {
            (
                bounded(self.store.count_deliveries(DeliveryState::Pending)).await,
                bounded(self.store.count_deliveries(DeliveryState::Dead)).await,
            )
        } else {
            (None, None)
        };
        store_up &= deliveries_pending.is_some() && dead_letters.is_some();
        Sample {
            accounts,
            deliveries_pending,
            dead_letters,
            store_up,
        }
    }
}

/// Longest wait for one store query during a scrape.
const SCRAPE_QUERY_TIMEOUT: Duration = readiness::STORE_TIMEOUT;

async fn bounded(query: impl Future<Output = wa_store::Result<u64>>) -> Option<u64> {
    match tokio::time::timeout(SCRAPE_QUERY_TIMEOUT, query).await {
        Ok(Ok(n)) => Some(n),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: a store query failed");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: a store query timed out");
            None
        }
    }
}

/// An answer in the API's envelope.
fn envelope(
    status: StatusCode,
    code: &str,
    message: &str,
    results: serde_json::Value,
) -> http::Response<Bytes> {
    let body = serde_json::json!({ "code": code, "message": message, "results": results });
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
