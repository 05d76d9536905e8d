//! The cloud mode's fan-out: each attempt is one SQS message (the
//! `delivery-request` as JSON) for the `webhook-fanout-lambda` function, which
//! makes the attempt and reports its outcome through the internal endpoint
//! (`webhooks/report-outcome`). The connector keeps the schedule: retries,
//! back-off and dead letters are decided when a report arrives, exactly as for
//! the hosted component; a delivery whose report never comes is queued again
//! when its lease ends.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use super::{Deliver, DeliveryFailure, DeliveryOutcome, DeliveryRequest, Handoff};

/// Lease beyond twice the attempt timeout: the queue's batching window, a
/// cold start and the report's round trip.
const QUEUE_LEASE_MARGIN: Duration = Duration::from_secs(300);

/// Queues attempts on an SQS queue.
#[derive(Debug, Clone)]
pub struct QueueDeliverer {
    client: Client,
    queue_url: String,
}

impl QueueDeliverer {
    /// A deliverer for `queue_url`, with credentials, region and endpoint from
    /// the standard AWS chain (`AWS_REGION`, `AWS_ENDPOINT_URL_SQS`, roles, …).
    pub async fn from_env(queue_url: String) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Self {
            client: Client::new(&config),
            queue_url,
        }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl Deliver for QueueDeliverer {
    async fn deliver(&self, request: DeliveryRequest) -> Handoff {
        let body = match serde_json::to_string(&request) {
            Ok(body) => body,
            Err(e) => return not_queued(format!("cannot encode the delivery: {e}")),
        };
        match self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
        {
            Ok(_) => Handoff::Queued,
            // The attempt was not made: it is due again after the back-off.
            Err(e) => not_queued(format!(
                "cannot queue the delivery: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )),
        }
    }

    fn lease_margin(&self) -> Duration {
        QUEUE_LEASE_MARGIN
    }
}

fn not_queued(reason: String) -> Handoff {
    Handoff::Done(DeliveryOutcome::Retry(DeliveryFailure {
        status: None,
        reason,
        retry_after_secs: None,
    }))
}
