//! The queue message's body: one `delivery-request` (WIT `wa:gateway/delivery`),
//! the same JSON the `webhook-fanout` component takes on `POST /deliver`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long an attempt waits for the receiver when the request says 0.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One delivery to make, field for field the WIT record (snake case).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRequest {
    /// The delivery id (`X-Webhook-Delivery`): receivers dedupe on it.
    pub id: String,
    /// The receiver.
    pub url: String,
    /// The exact body to sign and send.
    pub body: String,
    /// The event name (`X-Webhook-Event`).
    pub event: String,
    /// The receiver's own HMAC key; `null` means the gateway-wide one.
    pub secret: Option<String>,
    /// Configured extra headers, as `[name, value]` pairs.
    pub headers: Vec<(String, String)>,
    /// Unix seconds when the delivery was queued (`X-Webhook-Timestamp` of
    /// the first receive).
    pub timestamp: u64,
    /// How long to wait for the receiver, in milliseconds.
    pub timeout_ms: u32,
    /// The connector's number for this attempt, from 1.
    pub attempt: u32,
}

impl std::fmt::Debug for DeliveryRequest {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryRequest")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("event", &self.event)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl DeliveryRequest {
    /// The attempt this receive makes when the queue's redeliveries are the
    /// retries (no connector keeping the schedule): the queue redelivers the
    /// same body, so the `n`th receive of a message is attempt
    /// `attempt + n - 1`, and the receiver's `X-Webhook-Attempt` counts real
    /// attempts.
    pub fn attempt_number(&self, receive_count: u32) -> u32 {
        self.attempt
            .saturating_add(receive_count.saturating_sub(1))
            .max(1)
    }

    /// How long this attempt may wait for the receiver.
    pub fn timeout(&self) -> Duration {
        match self.timeout_ms {
            0 => DEFAULT_TIMEOUT,
            ms => Duration::from_millis(ms.into()),
        }
    }

    /// The attempt as `webhook-core` signs it. `secret` is the key to sign
    /// with (the request's own, or the gateway-wide one); `now_unix` stamps
    /// redelivered attempts, whose queued timestamp is that of the first.
    pub fn to_attempt(
        &self,
        number: u32,
        secret: Option<String>,
        now_unix: u64,
    ) -> webhook_core::Attempt {
        webhook_core::Attempt {
            id: self.id.clone(),
            url: self.url.clone(),
            body: self.body.clone(),
            event: self.event.clone(),
            secret,
            headers: self.headers.clone(),
            timestamp: if number == self.attempt {
                self.timestamp
            } else {
                now_unix.max(self.timestamp)
            },
            attempt: number,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> DeliveryRequest {
        serde_json::from_str(
            r#"{"id":"000000000042-abc","url":"https://example.com/hook",
                "body":"{\"event\":\"message\"}","event":"message","secret":null,
                "headers":[["X-Api-Key","k"]],"timestamp":1700000000,
                "timeout_ms":0,"attempt":2}"#,
        )
        .unwrap()
    }

    #[test]
    fn reads_the_wit_record_as_json() {
        let request = request();
        assert_eq!(request.id, "000000000042-abc");
        assert_eq!(request.secret, None);
        assert_eq!(request.headers, vec![("X-Api-Key".into(), "k".into())]);
        assert_eq!(request.timeout(), DEFAULT_TIMEOUT);
        assert!(
            serde_json::from_str::<DeliveryRequest>(r#"{"id":"x","url":"u"}"#).is_err(),
            "required fields are required"
        );
    }

    #[test]
    fn redeliveries_are_later_attempts_stamped_now() {
        let request = request();
        assert_eq!(request.attempt_number(1), 2);
        assert_eq!(request.attempt_number(3), 4);
        assert_eq!(request.attempt_number(0), 2);
        let first = request.to_attempt(2, Some("k".into()), 1_800_000_000);
        assert_eq!((first.attempt, first.timestamp), (2, 1_700_000_000));
        let third = request.to_attempt(4, None, 1_800_000_000);
        assert_eq!((third.attempt, third.timestamp), (4, 1_800_000_000));
    }

    #[test]
    fn the_secret_stays_out_of_debug() {
        let request = DeliveryRequest {
            secret: Some("hunter2".into()),
            ..request()
        };
        assert!(!format!("{request:?}").contains("hunter2"));
    }
}
