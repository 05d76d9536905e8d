//! The connector's Prometheus metrics, in one registry: what `GET /metrics`
//! shows, and the handles the rest of the connector records into.
//!
//! Built on `prometheus-client` (the Prometheus project's own Rust client)
//! rather than the older `prometheus` crate: it has no global default
//! registry (the [`Metrics`] value is passed to whoever records, so tests and
//! several connectors in one process never share counters), label sets are
//! typed structs (the labels a metric may carry, and so its cardinality, are
//! visible in its type), it encodes the classic text format (0.0.4) directly,
//! and it brings no protobuf dependency. Process figures come from
//! `/proc/self` through our own small reader ([`process`]) instead of the
//! `prometheus` crate's `procfs`-based collector.
//!
//! Counters and histograms are recorded as things happen; gauges that describe
//! state held elsewhere (connection status, queue depths, dead letters) are
//! sampled when scraped, from the account handles and the store, so they can
//! never drift from what they describe. Names follow the `whatsapp_*` style of
//! GOWA's performance guide; every label's values are bounded (routes are
//! normalised and capped, see [`routes`]; accounts are the operator's own).

pub mod process;
pub mod routes;
pub mod storage;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds (seconds) of the request latency histogram: from a cached
/// answer (~ms) to a send that waits on a media upload.
const REQUEST_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds (seconds) of the webhook attempt histogram, up to the longest
/// sensible `WEBHOOK_TIMEOUT`.
const WEBHOOK_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Labels of one HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

/// Labels of a per-route histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Labels of a per-account metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    account: String,
}

/// Upper bounds (seconds) of the media processing histogram: a short voice
/// note (~0.1 s) to a long video at a slow preset.
const MEDIA_BUCKETS: [f64; 11] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Labels of a media conversion: what was made (`voice_note`, `video`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MediaLabels {
    kind: &'static str,
}

/// Labels of a webhook attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// What became of one webhook attempt, as counted in
/// `whatsapp_webhook_deliveries_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The receiver accepted it (2xx).
    Delivered,
    /// It failed and will be tried again.
    Retry,
    /// It was rejected or ran out of retry window: dead-lettered.
    Dead,
}

impl WebhookOutcome {
    fn label(self) -> &'static str {
        match self {
            WebhookOutcome::Delivered => "delivered",
            WebhookOutcome::Retry => "retry",
            WebhookOutcome::Dead => "dead",
        }
    }
}

/// State held elsewhere, read at scrape time (see [`Metrics::encode`]). A
/// `None` means it could not be read this time (the store failed): the
/// gauge is left out rather than reported as zero.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Every started account: its id, whether it is logged in, and how many
    /// sends wait in its outbox.
    pub accounts: Vec<AccountSample>,
    /// Deliveries waiting for an attempt.
    pub deliveries_pending: Option<u64>,
    /// Deliveries in the dead-letter list.
    pub dead_letters: Option<u64>,
    /// Whether the store answered the queries above.
    pub store_up: bool,
}

/// One account's part of a [`Sample`].
#[derive(Debug, Clone)]
pub struct AccountSample {
    /// The account id.
    pub account: String,
    /// Logged in and usable.
    pub connected: bool,
    /// Sends waiting in its outbox, when the store answered.
    pub outbox_pending: Option<u64>,
}

/// The registry and every metric in it. Cheap to clone (one `Arc`); the
/// default is a fresh, private registry, so code that is handed none (tests,
/// benches) records into one nobody reads.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    routes: routes::RouteTable,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    messages_sent: Family<AccountLabels, Counter>,
    messages_received: Family<AccountLabels, Counter>,
    messages_failed: Family<AccountLabels, Counter>,
    reconnects: Family<AccountLabels, Counter>,
    connection_status: Family<AccountLabels, Gauge>,
    outbox_pending: Family<AccountLabels, Gauge>,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhook_duration: Histogram,
    webhook_pending: Gauge,
    webhook_dead_letters: Gauge,
    store_up: Gauge,
    storage: storage::StorageMetrics,
    media_processing: Family<MediaLabels, Histogram, fn() -> Histogram>,
    /// One scrape at a time: sampled gauges are cleared and refilled.
    scrape: tokio::sync::Mutex<()>,
}

impl Default for Inner {
    fn default() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "whatsapp_http_requests",
            "HTTP requests answered, by route pattern, method and status",
            http_requests.clone(),
        );
        let http_duration: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS));
        registry.register(
            "whatsapp_http_request_duration_seconds",
            "Time from a request's arrival to its answer's status line, by route pattern",
            http_duration.clone(),
        );
        let messages_sent = Family::<AccountLabels, Counter>::default();
        registry.register(
            "whatsapp_messages_sent",
            "Messages the server acknowledged, by account",
            messages_sent.clone(),
        );
        let messages_received = Family::<AccountLabels, Counter>::default();
        registry.register(
            "whatsapp_messages_received",
            "Messages received from others and stored, by account",
            messages_received.clone(),
        );
        let messages_failed = Family::<AccountLabels, Counter>::default();
        registry.register(
            "whatsapp_messages_failed",
            "Sends failed for good (refused, or out of attempts), by account",
            messages_failed.clone(),
        );
        let reconnects = Family::<AccountLabels, Counter>::default();
        registry.register(
            "whatsapp_reconnects",
            "Logins after a lost connection, by account",
            reconnects.clone(),
        );
        let connection_status = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "whatsapp_connection_status",
            "1 while a started account is logged in, else 0",
            connection_status.clone(),
        );
        let outbox_pending = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "whatsapp_outbox_pending",
            "Sends waiting in an account's outbox",
            outbox_pending.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        for outcome in [
            WebhookOutcome::Delivered,
            WebhookOutcome::Retry,
            WebhookOutcome::Dead,
        ] {
            let _ = webhook_deliveries.get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            });
        }
        registry.register(
            "whatsapp_webhook_deliveries",
            "Webhook attempts by outcome (delivered, retry, dead)",
            webhook_deliveries.clone(),
        );
        let webhook_duration = Histogram::new(WEBHOOK_BUCKETS);
        registry.register(
            "whatsapp_webhook_delivery_duration_seconds",
            "Duration of webhook attempts made by this process",
            webhook_duration.clone(),
        );
        let webhook_pending = Gauge::default();
        registry.register(
            "whatsapp_webhook_deliveries_pending",
            "Webhook deliveries waiting for an attempt",
            webhook_pending.clone(),
        );
        let webhook_dead_letters = Gauge::default();
        registry.register(
            "whatsapp_webhook_dead_letters",
            "Webhook deliveries in the dead-letter list",
            webhook_dead_letters.clone(),
        );
        let store_up = Gauge::default();
        registry.register(
            "whatsapp_store_up",
            "1 when the store answered this scrape's queries, else 0",
            store_up.clone(),
        );
        let media_processing: Family<MediaLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(MEDIA_BUCKETS));
        registry.register(
            "whatsapp_media_processing_duration_seconds",
            "Time spent converting media with ffmpeg (successful or not), by kind",
            media_processing.clone(),
        );
        let storage = storage::StorageMetrics::register(&mut registry);
        registry.register_collector(Box::new(process::ProcessCollector));
        Self {
            registry,
            routes: routes::RouteTable::default(),
            http_requests,
            http_duration,
            messages_sent,
            messages_received,
            messages_failed,
            reconnects,
            connection_status,
            outbox_pending,
            webhook_deliveries,
            webhook_duration,
            webhook_pending,
            webhook_dead_letters,
            store_up,
            storage,
            media_processing,
            scrape: tokio::sync::Mutex::new(()),
        }
    }
}

impl Metrics {
    /// The route label for a request path: its pattern, bounded (see [`routes`]).
    pub fn route(&self, path: &str) -> String {
        self.inner.routes.label(path)
    }

    /// Counts one answered request and its latency.
    pub fn observe_request(
        &self,
        route: &str,
        method: &http::Method,
        status: http::StatusCode,
        elapsed: Duration,
    ) {
        let i = &self.inner;
        i.http_requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method_label(method),
                status: status.as_u16(),
            })
            .inc();
        i.http_duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a message the server acknowledged.
    pub fn message_sent(&self, account: &str) {
        self.inner
            .messages_sent
            .get_or_create(&labels(account))
            .inc();
    }

    /// Counts `n` received messages, once they are stored.
    pub fn messages_received(&self, account: &str, n: u64) {
        if n > 0 {
            self.inner
                .messages_received
                .get_or_create(&labels(account))
                .inc_by(n);
        }
    }

    /// Counts a send that failed for good.
    pub fn message_failed(&self, account: &str) {
        self.inner
            .messages_failed
            .get_or_create(&labels(account))
            .inc();
    }

    /// Counts a login that followed a lost connection.
    pub fn reconnected(&self, account: &str) {
        self.inner.reconnects.get_or_create(&labels(account)).inc();
    }

    /// Counts one webhook attempt; `elapsed` when it was made here (an
    /// outcome reported by the fan-out Lambda has no duration we measured).
    pub fn webhook_attempt(&self, outcome: WebhookOutcome, elapsed: Option<Duration>) {
        let i = &self.inner;
        i.webhook_deliveries
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            })
            .inc();
        if let Some(elapsed) = elapsed {
            i.webhook_duration.observe(elapsed.as_secs_f64());
        }
    }

    /// Records how long one media conversion of `kind` took.
    pub fn media_processed(&self, kind: &'static str, elapsed: Duration) {
        self.inner
            .media_processing
            .get_or_create(&MediaLabels { kind })
            .observe(elapsed.as_secs_f64());
    }

    /// The storage metrics (store operation times, retention).
    pub fn storage(&self) -> &storage::StorageMetrics {
        &self.inner.storage
    }

    /// The exposition text: `sample` applied to the sampled gauges, then
    /// every metric and the process figures.
    pub async fn encode(&self, sample: &Sample) -> String {
        let i = &self.inner;
        let _one_scrape = i.scrape.lock().await;
        i.connection_status.clear();
        i.outbox_pending.clear();
        for account in &sample.accounts {
            let key = labels(&account.account);
            i.connection_status
                .get_or_create(&key)
                .set(i64::from(account.connected));
            if let Some(pending) = account.outbox_pending {
                i.outbox_pending.get_or_create(&key).set(gauge(pending));
            }
        }
        // Started accounts show every counter, at zero until something
        // happens, so a dashboard's rates see them from the start.
        for account in &sample.accounts {
            let key = labels(&account.account);
            for counter in [
                &i.messages_sent,
                &i.messages_received,
                &i.messages_failed,
                &i.reconnects,
            ] {
                let _ = counter.get_or_create(&key);
            }
        }
        i.webhook_pending
            .set(sample.deliveries_pending.map_or(0, gauge));
        i.webhook_dead_letters
            .set(sample.dead_letters.map_or(0, gauge));
        i.store_up.set(i64::from(sample.store_up));
        let mut text = String::new();
        if let Err(error) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &i.registry)
        {
            // Writing to a String cannot fail; a metric's own encoder could.
            tracing::error!(%error, "cannot encode the metrics");
        }
        text
    }
}

fn labels(account: &str) -> AccountLabels {
    AccountLabels {
        account: account.to_owned(),
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The method label: the standard methods by name, anything else `other`
/// (extension methods are unbounded).
fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_show_in_the_text_format() {
        let m = Metrics::default();
        let route = m.route("/devices/ann/status");
        m.observe_request(
            &route,
            &http::Method::GET,
            http::StatusCode::OK,
            Duration::from_millis(3),
        );
        m.message_sent("ann");
        m.messages_received("bob", 2);
        m.webhook_attempt(WebhookOutcome::Retry, Some(Duration::from_millis(20)));
        let text = m
            .encode(&Sample {
                accounts: vec![AccountSample {
                    account: "ann".into(),
                    connected: true,
                    outbox_pending: Some(4),
                }],
                deliveries_pending: Some(1),
                dead_letters: Some(2),
                store_up: true,
            })
            .await;
        for line in [
            "whatsapp_http_requests_total{route=\"/devices/{id}/status\",method=\"GET\",status=\"200\"} 1",
            "whatsapp_http_request_duration_seconds_bucket{route=\"/devices/{id}/status\",le=\"0.005\"} 1",
            "whatsapp_http_request_duration_seconds_count{route=\"/devices/{id}/status\"} 1",
            "whatsapp_messages_sent_total{account=\"ann\"} 1",
            "whatsapp_messages_received_total{account=\"bob\"} 2",
            "whatsapp_connection_status{account=\"ann\"} 1",
            "whatsapp_outbox_pending{account=\"ann\"} 4",
            "whatsapp_reconnects_total{account=\"ann\"} 0",
            "whatsapp_messages_failed_total{account=\"ann\"} 0",
            "whatsapp_webhook_deliveries_total{outcome=\"dead\"} 0",
            "whatsapp_webhook_deliveries_total{outcome=\"retry\"} 1",
            "whatsapp_webhook_delivery_duration_seconds_count 1",
            "whatsapp_webhook_dead_letters 2",
            "whatsapp_webhook_deliveries_pending 1",
            "whatsapp_store_up 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
        assert!(text.contains("\nprocess_cpu_seconds_total "), "{text}");
        // A started account that went away leaves no stale status.
        let text = m.encode(&Sample::default()).await;
        assert!(!text.contains("whatsapp_connection_status{"), "{text}");
    }
}
