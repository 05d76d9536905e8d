//! Webhook delivery from durable storage: per-account receiver settings, the
//! planner's cursor over the event log, and one row per (event, receiver URL)
//! that lives from `pending` to `delivered`, or to `dead` (the dead-letter list,
//! replayable) when its retry window runs out.
//!
//! The connector's dispatcher plans deliveries (inserting them and moving the
//! cursor in one transaction, so a crash never skips an event), claims due ones
//! with a lease (an attempt lost with its process is made again when the lease
//! ends) and records every attempt's outcome.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::account::{AccountId, MAX_TEXT_LEN};
use crate::error::{Result, StoreError};
use crate::time::from_millis;
use crate::validate;

/// The most receiver URLs one account may have.
pub const MAX_WEBHOOK_URLS: usize = 10;
/// The longest receiver URL, in bytes.
pub const MAX_WEBHOOK_URL_LEN: usize = 2048;
/// The most custom headers one receiver may get.
pub const MAX_WEBHOOK_HEADERS: usize = 32;
/// The most event names in a filter.
pub const MAX_WEBHOOK_EVENTS: usize = 64;
/// The largest page of deliveries listed at once.
pub const MAX_DELIVERIES_PAGE: u32 = 1000;

/// Where an account's events go, besides the gateway-wide receivers.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Receiver URLs (http or https).
    pub urls: Vec<String>,
    /// Event names delivered (empty: all; `prefix.*` matches a family).
    pub events: Vec<String>,
    /// Extra headers sent with every delivery.
    pub headers: Vec<(String, String)>,
    /// The signing secret (none: the gateway-wide one). Never logged.
    pub secret: Option<String>,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("urls", &self.urls)
            .field("events", &self.events)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl WebhookSettings {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.urls.len() > MAX_WEBHOOK_URLS {
            return Err(invalid(format!(
                "at most {MAX_WEBHOOK_URLS} webhook URLs, got {}",
                self.urls.len()
            )));
        }
        for url in &self.urls {
            validate_url(url)?;
        }
        if self.events.len() > MAX_WEBHOOK_EVENTS {
            return Err(invalid(format!("at most {MAX_WEBHOOK_EVENTS} event names")));
        }
        for event in &self.events {
            validate::required(
                "webhook event name",
                event,
                crate::events::MAX_EVENT_KIND_LEN,
            )?;
        }
        validate_headers(&self.headers)?;
        validate::optional("webhook secret", self.secret.as_deref(), 512)
    }
}

/// A delivery to create when planning.
#[derive(Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Stable per (event, URL), so planning the same events twice adds nothing.
    pub id: String,
    /// The event delivered.
    pub event_seq: i64,
    /// The account it happened on.
    pub account: AccountId,
    /// The receiver.
    pub url: String,
    /// Headers, as configured when planned.
    pub headers: Vec<(String, String)>,
    /// The signing secret, as configured when planned. Never logged.
    pub secret: Option<String>,
    /// When the first attempt is due.
    pub next_attempt_at: SystemTime,
}

impl fmt::Debug for NewDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewDelivery")
            .field("id", &self.id)
            .field("event_seq", &self.event_seq)
            .field("account", &self.account)
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl NewDelivery {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::required("delivery id", &self.id, 128)?;
        validate_url(&self.url)?;
        validate_headers(&self.headers)?;
        validate::optional("webhook secret", self.secret.as_deref(), 512)
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for an attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up; in the dead-letter list until replayed.
    Dead,
}

impl DeliveryState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }
}

impl FromStr for DeliveryState {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "dead" => Ok(DeliveryState::Dead),
            other => Err(StoreError::Corrupt(format!(
                "unknown delivery state {other:?}"
            ))),
        }
    }
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id (sent as `X-Webhook-Delivery`).
    pub id: String,
    /// The event delivered.
    pub event_seq: i64,
    /// The event's name.
    pub event_name: String,
    /// The account it happened on.
    pub account: AccountId,
    /// The receiver.
    pub url: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// The receiver's last HTTP status.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<SystemTime>,
    /// Start of the current retry window (creation, or the last replay).
    pub retry_from: SystemTime,
    /// When it was planned.
    pub created_at: SystemTime,
    /// When it last changed.
    pub updated_at: SystemTime,
}

/// A claimed delivery with what its attempt needs.
#[derive(Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// The event's JSON payload.
    pub payload: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The signing secret. Never logged.
    pub secret: Option<String>,
}

impl fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DueDelivery")
            .field("delivery", &self.delivery)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver took it.
    Delivered,
    /// Try again at `next_attempt_at`.
    Retry {
        /// Why this attempt failed.
        error: String,
        /// When to try again.
        next_attempt_at: SystemTime,
    },
    /// Give up: the delivery moves to the dead-letter list.
    Dead {
        /// Why.
        error: String,
    },
}

/// One attempt's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The delivery.
    pub id: String,
    /// Which attempt this was (1 for the first). Recorded only while the
    /// delivery has made exactly `number - 1` attempts, so a report that
    /// arrives twice (a redelivered queue message) counts once.
    pub number: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What it came to.
    pub outcome: AttemptOutcome,
}

/// Which deliveries to list (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only this account's.
    pub account: Option<AccountId>,
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// Page size (1 to [`MAX_DELIVERIES_PAGE`]).
    pub limit: u32,
    /// Rows skipped.
    pub offset: u32,
}

impl DeliveryQuery {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_DELIVERIES_PAGE {
            return Err(invalid(format!(
                "limit must be 1 to {MAX_DELIVERIES_PAGE}, got {}",
                self.limit
            )));
        }
        Ok(())
    }
}

/// Webhook settings and deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// An account's own webhook settings, if it has any.
    async fn get_webhook_settings(&self, account: &AccountId) -> Result<Option<WebhookSettings>>;

    /// Replaces an account's webhook settings.
    async fn set_webhook_settings(
        &self,
        account: &AccountId,
        settings: &WebhookSettings,
    ) -> Result<()>;

    /// The last event sequence number planned (0 before any).
    async fn webhook_cursor(&self) -> Result<i64>;

    /// Inserts `deliveries` (ids already present are skipped) and moves the cursor
    /// from `from_seq` to `to_seq`, in one transaction; `false`, writing nothing,
    /// when the cursor is no longer at `from_seq`.
    async fn plan_deliveries(
        &self,
        from_seq: i64,
        to_seq: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool>;

    /// Pending deliveries due at `now`, oldest due first, at most `limit`; their
    /// next attempt moves to `lease_until` in the same transaction.
    async fn claim_due_deliveries(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: u32,
    ) -> Result<Vec<DueDelivery>>;

    /// Records attempts (unknown ids are ignored), in one transaction.
    async fn record_delivery_attempts(&self, attempts: &[DeliveryAttempt]) -> Result<()>;

    /// Deliveries matching `query`, newest first.
    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>>;

    /// One delivery.
    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>>;

    /// Puts a dead delivery back in the queue, due `now`, with a fresh retry
    /// window; `Ok(None)` for an unknown id, `InvalidInput` for one not dead.
    async fn replay_delivery(&self, id: &str, now: SystemTime) -> Result<Option<Delivery>>;

    /// How many deliveries are in `state`.
    async fn count_deliveries(&self, state: DeliveryState) -> Result<u64>;
}

fn invalid(why: String) -> StoreError {
    StoreError::InvalidInput(why)
}

fn validate_url(url: &str) -> Result<()> {
    validate::required("webhook URL", url, MAX_WEBHOOK_URL_LEN)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or_else(|| invalid(format!("webhook URL `{url}` must be http or https")))?;
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return Err(invalid(format!("webhook URL `{url}` has no host")));
    }
    Ok(())
}

fn validate_headers(headers: &[(String, String)]) -> Result<()> {
    if headers.len() > MAX_WEBHOOK_HEADERS {
        return Err(invalid(format!(
            "at most {MAX_WEBHOOK_HEADERS} webhook headers"
        )));
    }
    for (name, value) in headers {
        validate::required("webhook header name", name, 256)?;
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(invalid(format!("`{name}` is not a header name")));
        }
        if value.len() > 4096 || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(invalid(format!(
                "the value of header `{name}` is not allowed"
            )));
        }
    }
    Ok(())
}

/// Encodes a header list for a text column.
pub(crate) fn headers_to_db(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())
}

/// Decodes [`headers_to_db`].
pub(crate) fn headers_from_db(text: &str) -> Result<Vec<(String, String)>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("webhook headers: {e}")))
}

/// Encodes a string list for a text column.
pub(crate) fn list_to_db(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Decodes [`list_to_db`].
pub(crate) fn list_from_db(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("webhook list: {e}")))
}

/// The columns every delivery read selects, in this order (with the event's
/// name from `events e`).
pub(crate) const DELIVERY_COLUMNS: &str = "d.id, d.event_seq, e.kind, d.account_id, d.url, d.state, \
     d.attempts, d.last_status, d.last_error, d.next_attempt_at, d.retry_from, d.created_at, \
     d.updated_at";

/// A delivery row's values, as both backends read them.
pub(crate) struct DeliveryRow {
    pub id: String,
    pub event_seq: i64,
    pub event_name: String,
    pub account: String,
    pub url: String,
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub retry_from: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DeliveryRow {
    pub(crate) fn into_delivery(self) -> Result<Delivery> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("delivery {}: {what}", self.id));
        Ok(Delivery {
            account: AccountId::new(self.account.clone()).map_err(|_| corrupt("account"))?,
            state: self.state.parse()?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            last_status: self
                .last_status
                .map(u16::try_from)
                .transpose()
                .map_err(|_| corrupt("status"))?,
            next_attempt_at: self.next_attempt_at.map(from_millis),
            retry_from: from_millis(self.retry_from),
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
            last_error: self.last_error,
            id: self.id,
            event_seq: self.event_seq,
            event_name: self.event_name,
            url: self.url,
        })
    }
}

/// How an attempt changes its row: state, next attempt, error.
pub(crate) fn attempt_columns(
    outcome: &AttemptOutcome,
) -> (&'static str, Option<i64>, Option<String>) {
    match outcome {
        AttemptOutcome::Delivered => (DeliveryState::Delivered.as_str(), None, None),
        AttemptOutcome::Retry {
            error,
            next_attempt_at,
        } => (
            DeliveryState::Pending.as_str(),
            Some(crate::time::to_millis(*next_attempt_at)),
            Some(validate::clip(error, MAX_TEXT_LEN)),
        ),
        AttemptOutcome::Dead { error } => (
            DeliveryState::Dead.as_str(),
            None,
            Some(validate::clip(error, MAX_TEXT_LEN)),
        ),
    }
}
