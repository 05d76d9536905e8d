//! Events of the log → deliveries, one per receiver URL that wants the event.
//!
//! The planner reads the log after its cursor and, in one transaction, inserts
//! the deliveries and moves the cursor past the events it read. A crash between
//! reading and committing plans the same events again; delivery ids are derived
//! from the event and the URL, so the second plan inserts nothing twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tracing::{debug, warn};
use wa_store::{AccountId, DynStore, NewDelivery, StoredEvent, WebhookSettings};

use super::{WebhookOptions, wanted};

/// Events read per planning round.
const PAGE: u32 = 500;
/// How often the log is checked when nothing woke the planner.
const POLL: Duration = Duration::from_millis(250);

/// Plans deliveries until the task is dropped.
pub async fn run(
    store: DynStore,
    options: Arc<WebhookOptions>,
    wake: Arc<Notify>,
    planned: Arc<Notify>,
) {
    loop {
        match plan_once(&store, &options).await {
            Ok(0) => {
                let _ = tokio::time::timeout(POLL, wake.notified()).await;
            }
            Ok(n) => {
                debug!(events = n, "webhook deliveries planned");
                planned.notify_one();
            }
            Err(error) => {
                warn!(%error, "cannot plan webhook deliveries; retrying");
                tokio::time::sleep(POLL * 4).await;
            }
        }
    }
}

/// Plans the next page of events; returns how many events it consumed.
pub async fn plan_once(store: &DynStore, options: &WebhookOptions) -> wa_store::Result<usize> {
    let cursor = store.webhook_cursor().await?;
    let events = store.events_after(None, cursor, PAGE).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(0);
    };
    let mut settings: HashMap<AccountId, Option<WebhookSettings>> = HashMap::new();
    let mut deliveries = Vec::new();
    let now = SystemTime::now();
    for event in &events {
        if !settings.contains_key(&event.account) {
            let found = store.get_webhook_settings(&event.account).await?;
            settings.insert(event.account.clone(), found);
        }
        let account = settings[&event.account].as_ref();
        deliveries.extend(targets(options, account, event, now));
    }
    if !store.plan_deliveries(cursor, last, &deliveries).await? {
        // Another planner (another connector on the same database) got there first.
        debug!(cursor, "webhook cursor moved under us; re-reading");
    }
    Ok(events.len())
}

/// The deliveries one event needs: the gateway-wide URLs and the account's own.
fn targets(
    options: &WebhookOptions,
    account: Option<&WebhookSettings>,
    event: &StoredEvent,
    now: SystemTime,
) -> Vec<NewDelivery> {
    let global_secret =
        Some(options.secret.expose().to_owned()).filter(|secret| !secret.is_empty());
    let mut out = Vec::new();
    if wanted(&options.events, &event.kind) {
        for url in &options.urls {
            out.push(delivery(event, url, Vec::new(), global_secret.clone(), now));
        }
    }
    if let Some(settings) = account.filter(|s| wanted(&s.events, &event.kind)) {
        let secret = settings.secret.clone().or_else(|| global_secret.clone());
        for url in &settings.urls {
            out.push(delivery(
                event,
                url,
                settings.headers.clone(),
                secret.clone(),
                now,
            ));
        }
    }
    // The same URL configured twice gets the event once.
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    out
}

fn delivery(
    event: &StoredEvent,
    url: &str,
    headers: Vec<(String, String)>,
    secret: Option<String>,
    now: SystemTime,
) -> NewDelivery {
    NewDelivery {
        id: delivery_id(event.seq, url),
        event_seq: event.seq,
        account: event.account.clone(),
        url: url.to_owned(),
        headers,
        secret,
        next_attempt_at: now,
    }
}

/// `<event seq>-<url hash>`: stable across re-planning, unique per receiver.
fn delivery_id(seq: i64, url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    format!("{seq:012}-{}", hex::encode(&digest[..6]))
}
