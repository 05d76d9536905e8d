//! Due deliveries → signed attempts → recorded outcomes.
//!
//! Deliveries are claimed with a lease (their next attempt moved past the
//! attempt's longest duration), so one that was in flight when the process died
//! is attempted again once the lease ends. Receivers dedupe on the delivery id
//! (`X-Webhook-Delivery`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::HashMap;

use futures_util::StreamExt;
use rand_core::{OsRng, RngCore};
use tokio::sync::Notify;
use tracing::{debug, info, warn};
use wa_store::{AccountId, AttemptOutcome, Delivery, DeliveryAttempt, DueDelivery, DynStore};

use super::{Deliver, DeliveryOutcome, DeliveryRequest, Handoff, WebhookOptions};
use crate::metrics::{Metrics, WebhookOutcome};

/// How often due deliveries are looked for when nothing woke the sender.
const POLL: Duration = Duration::from_millis(250);

/// Sends deliveries until the task is dropped.
pub async fn run(
    store: DynStore,
    deliverer: Arc<dyn Deliver>,
    options: Arc<WebhookOptions>,
    wake: Arc<Notify>,
    metrics: Metrics,
) {
    loop {
        match send_due(&store, deliverer.as_ref(), &options, &metrics).await {
            Ok(0) => {
                let _ = tokio::time::timeout(POLL, wake.notified()).await;
            }
            Ok(n) => debug!(attempts = n, "webhook attempts made"),
            Err(error) => {
                warn!(%error, "cannot claim webhook deliveries; retrying");
                tokio::time::sleep(POLL * 4).await;
            }
        }
    }
}

/// Claims and attempts what is due now; returns how many attempts were made.
/// Each recorded attempt is counted in `metrics` with its duration.
pub async fn send_due(
    store: &DynStore,
    deliverer: &dyn Deliver,
    options: &WebhookOptions,
    metrics: &Metrics,
) -> wa_store::Result<usize> {
    let now = SystemTime::now();
    let lease = now + options.timeout * 2 + deliverer.lease_margin();
    let batch = u32::try_from(options.concurrency.max(1) * 4).unwrap_or(u32::MAX);
    let due = store.claim_due_deliveries(now, lease, batch).await?;
    let count = due.len();
    // GOWA names the account by its phone JID in `device_id`.
    let mut jids: HashMap<AccountId, Option<String>> = HashMap::new();
    for delivery in &due {
        let account = &delivery.delivery.account;
        if !jids.contains_key(account) {
            let jid = match store.get_account(account).await {
                Ok(found) => found.jid.map(|j| user_jid(&j)),
                Err(_) => None,
            };
            jids.insert(account.clone(), jid);
        }
    }
    let mut attempts = futures_util::stream::iter(due)
        .map(|delivery| {
            let jid = jids.get(&delivery.delivery.account).cloned().flatten();
            attempt(deliverer, options, delivery, jid)
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some(done) = attempts.next().await {
        // Recorded one by one: an attempt made is never forgotten because a
        // slower one of the same batch is still running. Queued attempts are
        // recorded when their outcome is reported.
        if let Some((done, elapsed)) = done {
            store
                .record_delivery_attempts(std::slice::from_ref(&done))
                .await?;
            metrics.webhook_attempt(outcome_of(&done.outcome), Some(elapsed));
        }
    }
    Ok(count)
}

async fn attempt(
    deliverer: &dyn Deliver,
    options: &WebhookOptions,
    due: DueDelivery,
    jid: Option<String>,
) -> Option<(DeliveryAttempt, Duration)> {
    let number = due.delivery.attempts + 1;
    let now = SystemTime::now();
    let request = DeliveryRequest {
        id: due.delivery.id.clone(),
        url: due.delivery.url.clone(),
        body: body(&due, jid.as_deref()),
        event: due.delivery.event_name.clone(),
        secret: due.secret.clone(),
        headers: due.headers.clone(),
        timestamp: now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        timeout_ms: u32::try_from(options.timeout.as_millis()).unwrap_or(u32::MAX),
        attempt: number,
    };
    let started = std::time::Instant::now();
    match deliverer.deliver(request).await {
        Handoff::Done(outcome) => Some((
            settle(
                &due.delivery,
                number,
                outcome,
                SystemTime::now(),
                options.retry_window,
            ),
            started.elapsed(),
        )),
        Handoff::Queued => {
            debug!(delivery = %due.delivery.id, attempt = number, "webhook attempt queued");
            None
        }
    }
}

/// What attempt `number` of `delivery` comes to, as the store records it:
/// delivered, dead (rejected, or out of retry window), or retried after a
/// jittered back-off that honours the receiver's `Retry-After`. Shared by the
/// in-process sender and the outcomes the fan-out Lambda reports.
pub fn settle(
    delivery: &Delivery,
    number: u32,
    outcome: DeliveryOutcome,
    finished: SystemTime,
    retry_window: Duration,
) -> DeliveryAttempt {
    let (status, outcome) = match outcome {
        DeliveryOutcome::Delivered(status) => (Some(status), AttemptOutcome::Delivered),
        DeliveryOutcome::Reject(failure) => (
            failure.status,
            AttemptOutcome::Dead {
                error: failure.reason,
            },
        ),
        DeliveryOutcome::Retry(failure) => {
            if webhook_core::should_give_up(delivery.retry_from, finished, retry_window) {
                (
                    failure.status,
                    AttemptOutcome::Dead {
                        error: format!("gave up after {number} attempts: {}", failure.reason),
                    },
                )
            } else {
                let delay = webhook_core::next_attempt_delay(
                    number,
                    OsRng.next_u64(),
                    failure
                        .retry_after_secs
                        .map(|s| Duration::from_secs(s.into())),
                );
                (
                    failure.status,
                    AttemptOutcome::Retry {
                        error: failure.reason,
                        next_attempt_at: finished + delay,
                    },
                )
            }
        }
    };
    match &outcome {
        AttemptOutcome::Delivered => {
            debug!(delivery = %delivery.id, url = %delivery.url, "webhook delivered")
        }
        AttemptOutcome::Retry { error, .. } => {
            info!(delivery = %delivery.id, url = %delivery.url, attempt = number, %error, "webhook attempt failed; will retry")
        }
        AttemptOutcome::Dead { error } => {
            warn!(delivery = %delivery.id, url = %delivery.url, attempt = number, %error, "webhook dead-lettered")
        }
    }
    DeliveryAttempt {
        id: delivery.id.clone(),
        number,
        status,
        outcome,
    }
}

/// How an attempt's outcome is counted in the metrics.
pub fn outcome_of(outcome: &AttemptOutcome) -> WebhookOutcome {
    match outcome {
        AttemptOutcome::Delivered => WebhookOutcome::Delivered,
        AttemptOutcome::Retry { .. } => WebhookOutcome::Retry,
        AttemptOutcome::Dead { .. } => WebhookOutcome::Dead,
    }
}

/// GOWA's body: `{"event", "device_id", "session_id", "payload"}` — `device_id`
/// the account's phone JID (its id until it is linked), `session_id` the
/// gateway's account id, the payload as stored.
fn body(due: &DueDelivery, jid: Option<&str>) -> String {
    let payload: serde_json::Value = serde_json::from_str(&due.payload)
        .unwrap_or_else(|_| serde_json::Value::String(due.payload.clone()));
    let account = due.delivery.account.to_string();
    serde_json::json!({
        "event": due.delivery.event_name,
        "device_id": jid.unwrap_or(&account),
        "session_id": account,
        "payload": payload,
    })
    .to_string()
}

/// `15550001111:3@s.whatsapp.net` → `15550001111@s.whatsapp.net`.
fn user_jid(device_jid: &str) -> String {
    match device_jid.split_once('@') {
        Some((user, server)) => {
            let user = user.split(':').next().unwrap_or(user);
            format!("{user}@{server}")
        }
        None => device_jid.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::user_jid;

    #[test]
    fn device_part_is_dropped() {
        assert_eq!(
            user_jid("15550001111:3@s.whatsapp.net"),
            "15550001111@s.whatsapp.net"
        );
        assert_eq!(
            user_jid("15550001111@s.whatsapp.net"),
            "15550001111@s.whatsapp.net"
        );
    }
}
