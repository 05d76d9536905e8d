//! The fan-out component hosted in-process: each attempt is one
//! `POST /deliver` to `webhook_fanout.wasm`, in a fresh instance with the
//! attempt's time limit.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use wa_host::{HostError, HttpComponent};

use super::{Deliver, DeliveryFailure, DeliveryOutcome, DeliveryRequest, Handoff};

/// The largest answer the component is expected to give.
const MAX_ANSWER: usize = 64 * 1024;

/// Delivers through the `webhook-fanout` component.
#[derive(Debug, Clone)]
pub struct ComponentDeliverer {
    component: Arc<HttpComponent>,
    timeout: std::time::Duration,
}

impl ComponentDeliverer {
    /// Uses `component`, loaded with a request timeout a little above the
    /// webhook `timeout`: a receiver that stays silent ends its attempt there.
    pub fn new(component: Arc<HttpComponent>, timeout: std::time::Duration) -> Self {
        Self { component, timeout }
    }

    async fn attempt(&self, request: &DeliveryRequest) -> Result<DeliveryOutcome, String> {
        let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let http_request = http::Request::post("http://webhook-fanout.internal/deliver")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)).map_err(|never| match never {}))
            .map_err(|e| e.to_string())?;
        let response = self
            .component
            .handle(http_request)
            .await
            .map_err(|e| match e {
                HostError::Timeout(_) => {
                    format!("the receiver did not answer within {:?}", self.timeout)
                }
                other => format!("the fan-out component failed: {other}"),
            })?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("cannot read the fan-out's answer: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!(
                "the fan-out component refused the request ({status}): {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("the fan-out's answer does not match the contract: {e}"))
    }
}

#[async_trait]
impl Deliver for ComponentDeliverer {
    async fn deliver(&self, request: DeliveryRequest) -> Handoff {
        Handoff::Done(self.attempt(&request).await.unwrap_or_else(|reason| {
            DeliveryOutcome::Retry(DeliveryFailure {
                status: None,
                reason,
                retry_after_secs: None,
            })
        }))
    }
}
