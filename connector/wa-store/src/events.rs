//! The inbox of events for delivery: an append-only log per connector, with one
//! global, strictly increasing sequence number, so a deliverer keeps one cursor.
//!
//! Events are JSON documents written by the connector (their schema is the gateway's
//! event contract, not the store's); incoming messages and receipts append theirs in
//! the same transaction as the state they describe.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::account::AccountId;
use crate::error::{Result, StoreError};
use crate::validate;

/// Largest accepted event payload (JSON text), in bytes.
pub const MAX_EVENT_PAYLOAD_LEN: usize = 1024 * 1024;
/// Longest accepted event name, in bytes.
pub const MAX_EVENT_KIND_LEN: usize = 64;
/// Most events one [`EventStore::events_after`] call returns.
pub const MAX_EVENTS_PAGE: u32 = 10_000;

/// An event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event name (`message`, `message.ack`, `connection`, …; up to 64 bytes).
    pub kind: String,
    /// The JSON payload, as text.
    pub payload: String,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the log: strictly increasing across all accounts, never reused.
    pub seq: i64,
    /// The account it happened on.
    pub account: AccountId,
    /// The event name.
    pub kind: String,
    /// The JSON payload.
    pub payload: String,
    /// When it was appended.
    pub created_at: SystemTime,
}

/// Appending and reading events.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends one event outside any other change (connection state, logout); returns
    /// its sequence number.
    async fn append_event(&self, account: &AccountId, event: &NewEvent) -> Result<i64>;

    /// Events with `seq > after`, in order, at most `limit` (up to 10,000); all
    /// accounts, or one.
    async fn events_after(
        &self,
        account: Option<&AccountId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;

    /// The highest sequence number appended so far (0 when the log is empty).
    async fn last_event_seq(&self) -> Result<i64>;
}

impl NewEvent {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::required("event kind", &self.kind, MAX_EVENT_KIND_LEN)?;
        validate::optional("event payload", Some(&self.payload), MAX_EVENT_PAYLOAD_LEN)
    }
}

/// Converts a stored event row.
pub(crate) fn event_from_db(
    seq: i64,
    account: String,
    kind: String,
    payload: String,
    created_at: i64,
) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq,
        account: AccountId::new(account).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind,
        payload,
        created_at: crate::time::from_millis(created_at),
    })
}
