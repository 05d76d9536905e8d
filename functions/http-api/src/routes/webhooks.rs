//! Webhook settings per device, the event log, and webhook deliveries (with
//! the dead-letter list and replay).

use super::Call;
use crate::bindings::wa::gateway::types::{
    Delivery, DeliveryQuery, DeliveryState, Event, WebhookConfig, WebhookPatch,
};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};

const BODY_LIMIT: usize = 64 * 1024;

/// `GET /devices/{id}/webhook`.
pub async fn get(call: &Call) -> ApiResult<ApiResponse> {
    let id = super::devices::existing(&call.connector, &call.param).await?;
    let config: WebhookConfig = call
        .connector
        .try_call("webhooks", "get-webhook", (&id,))
        .await?;
    Ok(envelope::success("Fetch webhook success", config))
}

/// `PATCH /devices/{id}/webhook`: `urls`, `events`, `headers` (object), `secret`.
pub async fn patch(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let id = super::devices::existing(&call.connector, &call.param).await?;
    let present = |name: &str| input.has_field(name);
    let patch = WebhookPatch {
        urls: present("urls").then(|| input.list("urls")).transpose()?,
        events: present("events")
            .then(|| input.list("events"))
            .transpose()?,
        headers: present("headers")
            .then(|| input.pairs("headers"))
            .transpose()?,
        secret: input.text("secret"),
    };
    let config: WebhookConfig = call
        .connector
        .try_call("webhooks", "set-webhook", (&id, patch))
        .await?;
    Ok(envelope::success("Update webhook success", config))
}

/// `GET /events?after=&limit=` (optionally for one device): the event log.
pub async fn events(call: &Call) -> ApiResult<ApiResponse> {
    let query = call.query();
    let device = match query.optional("device_id") {
        Some(id) => Some(super::devices::existing(&call.connector, &id).await?),
        None => None,
    };
    let after = query.number::<u64>("after")?.unwrap_or(0);
    let limit = query.number::<u32>("limit")?.unwrap_or(100);
    let events: Vec<Event> = call
        .connector
        .try_call("webhooks", "events", (device, after, limit))
        .await?;
    Ok(envelope::success("Success get events", events))
}

/// `GET /webhook/deliveries?state=pending|delivered|dead&device_id&limit&offset`.
pub async fn deliveries(call: &Call) -> ApiResult<ApiResponse> {
    let query = call.query();
    // Lower case as documented; the capitalized spelling the results use works too.
    let state = match query
        .optional("state")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        None => None,
        Some("pending") => Some(DeliveryState::Pending),
        Some("delivered") => Some(DeliveryState::Delivered),
        Some("dead") => Some(DeliveryState::Dead),
        Some(other) => {
            return Err(ApiError::validation(format!(
                "state: `{other}` is not pending, delivered or dead"
            )));
        }
    };
    let account = match query.optional("device_id") {
        Some(id) => Some(super::devices::existing(&call.connector, &id).await?),
        None => None,
    };
    let deliveries: Vec<Delivery> = call
        .connector
        .try_call(
            "webhooks",
            "list-deliveries",
            (DeliveryQuery {
                account,
                state,
                limit: query.number::<u32>("limit")?.unwrap_or(50),
                offset: query.number::<u32>("offset")?.unwrap_or(0),
            },),
        )
        .await?;
    Ok(envelope::success("Success get deliveries", deliveries))
}

/// `POST /webhook/deliveries/{id}/replay`: a dead delivery goes back in the queue.
pub async fn replay(call: &Call) -> ApiResult<ApiResponse> {
    let delivery: Delivery = call
        .connector
        .try_call("webhooks", "replay-delivery", (&call.param,))
        .await?;
    Ok(envelope::success("Delivery queued again", delivery))
}
