//! Webhook fan-out from durable storage: every event of the log reaches every
//! receiver configured for it, signed, retried with back-off and jitter across
//! restarts, and dead-lettered (inspectable, replayable) after the retry window.
//! Nothing is dropped silently.
//!
//! Two loops share the store: the [`planner`] turns new events of the log into
//! one delivery per receiver URL (advancing a cursor in the same transaction),
//! and the [`sender`] claims due deliveries with a lease, hands each attempt to
//! a [`Deliver`] implementation (the `webhook-fanout` component in-process, or
//! a queue for the Lambda in the cloud mode) and records the outcome.

pub mod component;
pub mod planner;
pub mod queue;
pub mod sender;

use std::time::Duration;

use async_trait::async_trait;

pub use bindings::wa::gateway::delivery::{DeliveryFailure, DeliveryOutcome, DeliveryRequest};
pub use component::ComponentDeliverer;
pub use queue::QueueDeliverer;

use crate::config::Secret;

/// The fan-out's request and outcome types, generated from `wit/` (world
/// `webhook-fanout`), serialized as the component reads and writes them.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "wa:gateway/webhook-fanout",
        // The same Rust types as the connector world's, so that an outcome the
        // Lambda reports and one the hosted component returns are one type.
        with: { "wa:gateway/delivery": crate::gateway::bindings::wa::gateway::delivery },
    });
}

/// What came of handing one attempt to a [`Deliver`].
#[derive(Debug, Clone)]
pub enum Handoff {
    /// The attempt was made here; this is its outcome.
    Done(DeliveryOutcome),
    /// The attempt went to a queue for the fan-out Lambda, which reports its
    /// outcome later (`webhooks.report-outcome`). Until then the claim's lease
    /// holds the delivery; if no report comes, it is claimed and queued again.
    Queued,
}

/// Makes one signed attempt (the fan-out function's job), here or through a queue.
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Hands over one delivery; failures of the runner itself count as a retry.
    async fn deliver(&self, request: DeliveryRequest) -> Handoff;

    /// How long a claimed delivery stays leased beyond twice the attempt
    /// timeout: long enough for the attempt (and its report) to come back.
    fn lease_margin(&self) -> std::time::Duration {
        std::time::Duration::from_secs(30)
    }
}

/// Gateway-wide webhook settings (per-account ones live in the store).
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Receivers of every account's events (`WHATSAPP_WEBHOOK`).
    pub urls: Vec<String>,
    /// Signing secret for them, and for accounts without their own.
    pub secret: Secret,
    /// Event names to deliver to the gateway-wide URLs (empty: all).
    pub events: Vec<String>,
    /// How long one attempt may wait for the receiver (`WEBHOOK_TIMEOUT`).
    pub timeout: Duration,
    /// Attempts in flight at once (`WEBHOOK_CONCURRENT_DELIVERIES`).
    pub concurrency: usize,
    /// How long a delivery is retried before it is dead-lettered.
    pub retry_window: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            secret: Secret::from(String::new()),
            events: Vec::new(),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            retry_window: Duration::from_secs(24 * 3600),
        }
    }
}

/// Whether `event` passes a filter (empty: everything passes). A filter entry
/// `message.*` matches every `message.…` event.
pub fn wanted(filter: &[String], event: &str) -> bool {
    filter.is_empty()
        || filter.iter().any(|f| {
            f == event
                || f.strip_suffix(".*").is_some_and(|prefix| {
                    event == prefix
                        || event
                            .strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with('.'))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn filters() {
        let none: Vec<String> = vec![];
        assert!(wanted(&none, "message"));
        let f = vec!["message".to_owned(), "connection.*".to_owned()];
        assert!(wanted(&f, "message"));
        assert!(!wanted(&f, "message.ack"));
        assert!(wanted(&f, "connection.connected"));
        assert!(!wanted(&f, "connectionx"));
    }
}
