//! `wa:gateway/webhooks`: the event log, webhook settings and deliveries.

use std::time::SystemTime;

use wa_store::{
    Delivery as StoredDelivery, DeliveryQuery as StoredQuery, DeliveryState as StoredState,
    WebhookSettings,
};

use super::bindings::wa::gateway::delivery::DeliveryOutcome;
use super::bindings::wa::gateway::types::{
    Delivery, DeliveryQuery, DeliveryState, Event, WebhookConfig, WebhookPatch,
};
use super::bindings::wa::gateway::webhooks::Host;
use super::{Gateway, GatewayError, GatewayResult, account_id, millis, store_error};
use crate::webhooks::sender;

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

    async fn get_webhook(&mut self, account: String) -> GatewayResult<WebhookConfig> {
        let id = account_id(&account)?;
        self.store.get_account(&id).await.map_err(store_error)?;
        let settings = self
            .store
            .get_webhook_settings(&id)
            .await
            .map_err(store_error)?
            .unwrap_or_default();
        Ok(config(&settings))
    }

    async fn set_webhook(
        &mut self,
        account: String,
        patch: WebhookPatch,
    ) -> GatewayResult<WebhookConfig> {
        let id = account_id(&account)?;
        self.store.get_account(&id).await.map_err(store_error)?;
        let mut settings = self
            .store
            .get_webhook_settings(&id)
            .await
            .map_err(store_error)?
            .unwrap_or_default();
        if let Some(urls) = patch.urls {
            settings.urls = urls.into_iter().map(|u| u.trim().to_owned()).collect();
        }
        if let Some(events) = patch.events {
            settings.events = events;
        }
        if let Some(headers) = patch.headers {
            settings.headers = headers;
        }
        if let Some(secret) = patch.secret {
            // Empty: back to the gateway-wide secret.
            settings.secret = Some(secret).filter(|s| !s.is_empty());
        }
        self.store
            .set_webhook_settings(&id, &settings)
            .await
            .map_err(store_error)?;
        Ok(config(&settings))
    }

    async fn list_deliveries(&mut self, query: DeliveryQuery) -> GatewayResult<Vec<Delivery>> {
        let deliveries = self
            .store
            .list_deliveries(&StoredQuery {
                account: query.account.as_deref().map(account_id).transpose()?,
                state: query.state.map(|s| match s {
                    DeliveryState::Pending => StoredState::Pending,
                    DeliveryState::Delivered => StoredState::Delivered,
                    DeliveryState::Dead => StoredState::Dead,
                }),
                limit: query.limit,
                offset: query.offset,
            })
            .await
            .map_err(store_error)?;
        Ok(deliveries.into_iter().map(describe).collect())
    }

    async fn replay_delivery(&mut self, id: String) -> GatewayResult<Delivery> {
        self.store
            .replay_delivery(&id, SystemTime::now())
            .await
            .map_err(store_error)?
            .map(describe)
            .ok_or_else(|| GatewayError::NotFound(format!("delivery `{id}` not found")))
    }

    async fn report_outcome(
        &mut self,
        id: String,
        attempt: u32,
        outcome: DeliveryOutcome,
    ) -> GatewayResult<Delivery> {
        if attempt == 0 {
            return Err(GatewayError::InvalidInput(
                "attempts are numbered from 1".into(),
            ));
        }
        let delivery = self.delivery(&id).await?;
        // The store records only the delivery's next attempt; so is it counted.
        let next = delivery.state == StoredState::Pending && attempt == delivery.attempts + 1;
        let record = sender::settle(
            &delivery,
            attempt,
            outcome,
            SystemTime::now(),
            self.webhook_retry_window,
        );
        self.store
            .record_delivery_attempts(std::slice::from_ref(&record))
            .await
            .map_err(store_error)?;
        if next {
            self.metrics
                .webhook_attempt(sender::outcome_of(&record.outcome), None);
        }
        Ok(describe(self.delivery(&id).await?))
    }
}

impl Gateway {
    async fn delivery(&self, id: &str) -> GatewayResult<StoredDelivery> {
        self.store
            .get_delivery(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| GatewayError::NotFound(format!("delivery `{id}` not found")))
    }
}

/// Settings as the API shows them: the secret only as "is one set".
fn config(settings: &WebhookSettings) -> WebhookConfig {
    WebhookConfig {
        urls: settings.urls.clone(),
        events: settings.events.clone(),
        headers: settings.headers.clone(),
        has_secret: settings.secret.is_some(),
    }
}

fn describe(d: StoredDelivery) -> Delivery {
    Delivery {
        id: d.id,
        event_seq: d.event_seq as u64,
        event_name: d.event_name,
        account: d.account.to_string(),
        url: d.url,
        state: match d.state {
            StoredState::Pending => DeliveryState::Pending,
            StoredState::Delivered => DeliveryState::Delivered,
            StoredState::Dead => DeliveryState::Dead,
        },
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        next_attempt_at: d.next_attempt_at.map(millis),
        created_at: millis(d.created_at),
        updated_at: millis(d.updated_at),
    }
}
