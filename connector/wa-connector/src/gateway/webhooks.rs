//! `wa:gateway/webhooks`: the event log, webhook settings and deliveries.

use super::bindings::wa::gateway::types::{
    Delivery, DeliveryQuery, Event, WebhookConfig, WebhookPatch,
};
use super::bindings::wa::gateway::webhooks::Host;
use super::{Gateway, GatewayError, GatewayResult, account_id, millis, store_error};

/// The most events one call returns.
const MAX_EVENTS_PAGE: u32 = 1000;

impl Host for Gateway {
    async fn events(
        &mut self,
        account: Option<String>,
        after_seq: u64,
        limit: u32,
    ) -> GatewayResult<Vec<Event>> {
        let account = account.as_deref().map(account_id).transpose()?;
        let after = i64::try_from(after_seq)
            .map_err(|_| GatewayError::InvalidInput("after-seq is out of range".into()))?;
        let events = self
            .store
            .events_after(account.as_ref(), after, limit.clamp(1, MAX_EVENTS_PAGE))
            .await
            .map_err(store_error)?;
        Ok(events
            .into_iter()
            .map(|e| Event {
                seq: e.seq as u64,
                account: e.account.to_string(),
                name: e.kind,
                payload: e.payload,
                timestamp: millis(e.created_at),
            })
            .collect())
    }

    async fn get_webhook(&mut self, _account: String) -> GatewayResult<WebhookConfig> {
        Err(pending_store())
    }

    async fn set_webhook(
        &mut self,
        _account: String,
        _patch: WebhookPatch,
    ) -> GatewayResult<WebhookConfig> {
        Err(pending_store())
    }

    async fn list_deliveries(&mut self, _query: DeliveryQuery) -> GatewayResult<Vec<Delivery>> {
        Err(pending_store())
    }

    async fn replay_delivery(&mut self, _id: String) -> GatewayResult<Delivery> {
        Err(pending_store())
    }
}

// TEMPORARY (this session): replaced once wa-store's WebhookStore lands.
fn pending_store() -> GatewayError {
    GatewayError::Unavailable("webhook storage is not wired yet".into())
}
