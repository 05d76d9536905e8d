//! Telling the connector what came of an attempt: `webhooks/report-outcome`
//! on its internal endpoint (`docs/internal-api.md`), so the delivery log,
//! dead letters and replay work as they do for attempts the connector makes
//! itself.

use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;
use webhook_core::Outcome;

use crate::secret::{Secret, SecretError, SecretSource};

/// The internal endpoint's path for the call, below `CONNECTOR_URL`.
pub const REPORT_PATH: &str = "/internal/v1/webhooks/report-outcome";

/// Why a report did not land; the message is received again and re-reported.
#[derive(Debug, Error)]
pub enum ReportError {
    /// No answer (connection refused, timeout).
    #[error("the connector cannot be reached: {0}")]
    Unreachable(String),
    /// An HTTP error (401 for a wrong token, 404 when the endpoint is off).
    #[error("the connector answered {status}: {body}")]
    Status {
        /// The connector's status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
    /// 200, but neither `{"Ok": delivery}` nor `{"Err": gateway-error}`.
    #[error("the connector's answer is not a report-outcome result: {0}")]
    Malformed(String),
    /// `{"Err": …}` that may pass (`Unavailable`, `NotReady`).
    #[error("the connector could not record the outcome: {0}")]
    Failed(String),
    /// The bearer token could not be read (the secrets extension).
    #[error("the connector token cannot be read: {0}")]
    Token(#[from] SecretError),
}

/// `CONNECTOR_URL` is not an http(s) URL.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0:?} is not an http(s) URL")]
pub struct InvalidConnectorUrl(pub String);

/// What the connector did with a report that landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// Recorded, or already recorded (a duplicate or stale report).
    Recorded,
    /// The connector refused it for good (`NotFound`: the delivery is gone;
    /// `InvalidInput`): re-reporting would only resend the webhook.
    Refused(String),
}

/// Sends reports to one connector.
#[derive(Debug)]
pub struct Reporter {
    endpoint: reqwest::Url,
    token: Secret,
}

/// The fields of the answered `delivery` this module looks at.
#[derive(Deserialize)]
struct DeliveryView {
    attempts: u32,
    state: String,
}

#[derive(Deserialize)]
enum Answer {
    Ok(DeliveryView),
    Err(serde_json::Value),
}

impl Reporter {
    /// Reports to the connector at `connector_url`, presenting `token` as a
    /// bearer token (`INTERNAL_API_TOKEN` on the connector's side; none when
    /// the secret is absent or empty).
    pub fn new(connector_url: &str, token: Secret) -> Result<Self, InvalidConnectorUrl> {
        let base = connector_url.trim_end_matches('/');
        match reqwest::Url::parse(&format!("{base}{REPORT_PATH}")) {
            Ok(endpoint)
                if matches!(endpoint.scheme(), "http" | "https") && endpoint.has_host() =>
            {
                Ok(Self { endpoint, token })
            }
            _ => Err(InvalidConnectorUrl(connector_url.to_owned())),
        }
    }

    /// Where the bearer token comes from.
    pub fn token_source(&self) -> &SecretSource {
        self.token.source()
    }

    /// Reads the token if it has not been read yet. Called before an attempt
    /// is made: an attempt whose outcome cannot be reported would only be made
    /// again when the message comes back.
    pub async fn ready(&self, client: &reqwest::Client) -> Result<(), SecretError> {
        self.token.get(client).await.map(|_| ())
    }

    /// Reports attempt `number` of delivery `id`. When the answer shows the
    /// connector is behind — earlier reports were lost, so this one was not
    /// its next attempt and was ignored — the outcome is reported once more as
    /// the next attempt it expects, so the delivery still settles.
    pub async fn report(
        &self,
        client: &reqwest::Client,
        id: &str,
        number: u32,
        outcome: &Outcome,
        timeout: Duration,
    ) -> Result<Reported, ReportError> {
        match self.send(client, id, number, outcome, timeout).await? {
            Answer::Ok(delivery)
                if delivery.state == "Pending" && delivery.attempts + 1 < number =>
            {
                tracing::warn!(
                    delivery = id,
                    attempt = number,
                    recorded = delivery.attempts,
                    "the connector missed earlier reports; reporting as its next attempt"
                );
                let next = delivery.attempts + 1;
                match self.send(client, id, next, outcome, timeout).await? {
                    Answer::Ok(_) => Ok(Reported::Recorded),
                    Answer::Err(error) => refused(error),
                }
            }
            Answer::Ok(_) => Ok(Reported::Recorded),
            Answer::Err(error) => refused(error),
        }
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        id: &str,
        number: u32,
        outcome: &Outcome,
        timeout: Duration,
    ) -> Result<Answer, ReportError> {
        let mut request = client
            .post(self.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&(id, number, outcome)).expect("plain data serializes"))
            .timeout(timeout);
        if let Some(token) = self.token.get(client).await? {
            request = request.bearer_auth(token);
        }
        let unreachable = |error: reqwest::Error| ReportError::Unreachable(error.to_string());
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        let text = || String::from_utf8_lossy(&body).chars().take(300).collect();
        if !status.is_success() {
            return Err(ReportError::Status {
                status: status.as_u16(),
                body: text(),
            });
        }
        serde_json::from_slice(&body).map_err(|_| ReportError::Malformed(text()))
    }
}

/// A gateway error: final for `NotFound` / `InvalidInput`, passing otherwise.
fn refused(error: serde_json::Value) -> Result<Reported, ReportError> {
    let text = error.to_string();
    match error.as_object().and_then(|variant| variant.keys().next()) {
        Some(kind) if kind == "NotFound" || kind == "InvalidInput" => Ok(Reported::Refused(text)),
        _ => Err(ReportError::Failed(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_below_the_connector_url() {
        for base in ["http://connector:3000", "http://connector:3000/"] {
            let reporter = Reporter::new(base, Secret::new(SecretSource::Absent)).unwrap();
            assert_eq!(
                reporter.endpoint.as_str(),
                "http://connector:3000/internal/v1/webhooks/report-outcome"
            );
        }
        for bad in ["not a url", "ftp://connector", "::"] {
            assert!(
                Reporter::new(bad, Secret::new(SecretSource::Absent)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn gateway_errors_are_final_or_passing_by_kind() {
        let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert!(matches!(
            refused(json(r#"{"NotFound":"delivery `x` not found"}"#)),
            Ok(Reported::Refused(_))
        ));
        assert!(matches!(
            refused(json(r#"{"Unavailable":"database"}"#)),
            Err(ReportError::Failed(_))
        ));
    }

    #[test]
    fn the_body_is_the_wit_arguments_in_order() {
        let outcome = Outcome::Retry(webhook_core::Failure {
            status: Some(503),
            reason: "busy".into(),
            retry_after_secs: Some(5),
        });
        assert_eq!(
            serde_json::to_value(("d1", 2u32, &outcome)).unwrap(),
            serde_json::json!(["d1", 2, {"Retry": {"status": 503, "reason": "busy", "retry_after_secs": 5}}])
        );
        assert_eq!(
            serde_json::to_value(("d1", 1u32, &Outcome::Delivered(200))).unwrap(),
            serde_json::json!(["d1", 1, {"Delivered": 200}])
        );
    }
}
