//! One invocation: every message of the batch gets its attempt, a bounded
//! number at a time, and the batch answer names the messages to receive again.

use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, stream};
use tracing::Instrument as _;
use webhook_core::Outcome;

use crate::report::{Reported, Reporter};
use crate::request::DeliveryRequest;
use crate::secret::Secret;
use crate::send::{send, unix_now};
use crate::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

/// Time kept back before the invocation's deadline to report and answer; an
/// invocation that overruns loses the whole batch to redelivery.
const RESERVE: Duration = Duration::from_secs(2);
/// The shortest attempt worth starting.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);
/// The longest a report may take.
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything an invocation needs, built once per execution environment.
#[derive(Debug)]
pub struct Fanout {
    client: reqwest::Client,
    secret: Secret,
    reporter: Option<Reporter>,
    concurrency: usize,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Disposition {
    /// Done with: delivered, rejected, or not a delivery at all.
    Settled,
    /// Receive it again (its redrive policy dead-letters it in the end).
    Again,
}

impl Fanout {
    /// A fan-out sending with `client`, signing with `secret` where a request
    /// has no key of its own, reporting to `reporter` when there is one, and
    /// making at most `concurrency` attempts at once.
    pub fn new(
        client: reqwest::Client,
        secret: Secret,
        reporter: Option<Reporter>,
        concurrency: usize,
    ) -> Self {
        Self {
            client,
            secret,
            reporter,
            concurrency: concurrency.max(1),
        }
    }

    /// Handles one batch, finishing before `deadline`.
    pub async fn handle(&self, event: SqsEvent, deadline: SystemTime) -> SqsBatchResponse {
        let results: Vec<(String, Disposition)> = stream::iter(event.records)
            .map(|message| async move {
                let disposition = self.process(&message, deadline).await;
                (message.message_id, disposition)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut failures: Vec<BatchItemFailure> = results
            .into_iter()
            .filter(|(_, disposition)| *disposition == Disposition::Again)
            .map(|(item_identifier, _)| BatchItemFailure { item_identifier })
            .collect();
        failures.sort_by(|a, b| a.item_identifier.cmp(&b.item_identifier));
        SqsBatchResponse {
            batch_item_failures: failures,
        }
    }

    async fn process(&self, message: &SqsMessage, deadline: SystemTime) -> Disposition {
        let message_id = message.message_id.as_str();
        let request: DeliveryRequest = match serde_json::from_str(&message.body) {
            Ok(request) => request,
            Err(error) => {
                // It would fail the same way on every receive: drop it, loudly.
                tracing::error!(message_id, %error, "the message is not a delivery-request; dropped");
                return Disposition::Settled;
            }
        };
        // With a connector, it keeps the schedule: each attempt is its own
        // message, and a redelivery (a report that did not land) re-makes the
        // same attempt. Without one, the queue's redeliveries are the retries.
        let number = match self.reporter {
            Some(_) => request.attempt,
            None => request.attempt_number(message.receive_count()),
        };
        let span =
            tracing::info_span!("delivery", message_id, delivery = %request.id, attempt = number);
        self.deliver(&request, number, deadline)
            .instrument(span)
            .await
    }

    /// Attempt `number` of `request`, reported when there is a connector.
    async fn deliver(
        &self,
        request: &DeliveryRequest,
        number: u32,
        deadline: SystemTime,
    ) -> Disposition {
        let secret = match &request.secret {
            Some(own) => Some(own.clone()),
            None => match self.secret.get(&self.client).await {
                Ok(key) => key.map(str::to_owned),
                Err(error) => {
                    // Sending unsigned would let receivers accept forgeries.
                    tracing::error!(%error, "the gateway's webhook secret cannot be read; not sent");
                    return Disposition::Again;
                }
            },
        };
        if let Some(reporter) = &self.reporter
            && let Err(error) = reporter.ready(&self.client).await
        {
            // The outcome could not be reported: the attempt would be made
            // again when the message comes back, so it is not made now.
            tracing::error!(%error, "the connector token cannot be read; not sent");
            return Disposition::Again;
        }
        let left = time_left(deadline);
        let timeout = request.timeout().min(left);
        if timeout < MIN_ATTEMPT {
            tracing::warn!(?left, "too little time left in this invocation; not sent");
            return Disposition::Again;
        }

        let attempt = request.to_attempt(number, secret, unix_now());
        let outcome = send(&self.client, &attempt, timeout).await;
        let disposition = match &outcome {
            Outcome::Delivered(status) => {
                tracing::info!(url = %request.url, status, "delivered");
                Disposition::Settled
            }
            Outcome::Retry(failure) => {
                tracing::warn!(url = %request.url, status = failure.status, reason = %failure.reason, "failed; will be received again");
                Disposition::Again
            }
            Outcome::Reject(failure) => {
                tracing::warn!(url = %request.url, status = failure.status, reason = %failure.reason, "rejected; not retried");
                Disposition::Settled
            }
        };
        let Some(reporter) = &self.reporter else {
            return disposition;
        };
        let report_timeout = REPORT_TIMEOUT.min(time_left(deadline) + RESERVE / 2);
        match reporter
            .report(&self.client, &request.id, number, &outcome, report_timeout)
            .await
        {
            // The connector settles it, a retry included: it queues the next
            // attempt itself after its back-off.
            Ok(Reported::Recorded) => Disposition::Settled,
            Ok(Reported::Refused(error)) => {
                tracing::error!(%error, "the connector refused the outcome for good");
                Disposition::Settled
            }
            Err(error) => {
                // Received again, the attempt is made and reported again; the
                // receiver dedupes on X-Webhook-Delivery.
                tracing::error!(%error, "the outcome could not be reported; will be received again");
                Disposition::Again
            }
        }
    }
}

/// Time left before `deadline`, less what answering needs.
fn time_left(deadline: SystemTime) -> Duration {
    deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(RESERVE)
}
