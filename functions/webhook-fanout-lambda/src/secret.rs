//! The function's secrets: the gateway-wide HMAC key, for deliveries whose
//! receiver has no secret of its own, and the connector's bearer token for
//! reports. Deployed, both are read from Secrets Manager through the AWS
//! Parameters and Secrets Lambda Extension (a local HTTP cache next to the
//! function), so neither ever sits in the function's configuration; locally
//! they can come from the environment. One type reads both, so the two follow
//! the same rules (read on first use, kept, retried after a failure).

use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;
use tokio::sync::OnceCell;

/// The extension's port when `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` is unset.
pub const DEFAULT_EXTENSION_PORT: u16 = 2773;
/// How long one read from the extension may take.
const EXTENSION_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a secret comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Secrets Manager through the extension on `127.0.0.1:port`, which
    /// wants the function's session token in `X-Aws-Parameters-Secrets-Token`.
    Extension {
        /// The extension's HTTP port.
        port: u16,
        /// The secret's ARN (or name).
        secret_id: String,
        /// `AWS_SESSION_TOKEN` of the execution environment.
        session_token: String,
    },
    /// A value given directly (`WHATSAPP_WEBHOOK_SECRET`, `CONNECTOR_TOKEN`:
    /// for local runs).
    Fixed(String),
    /// None configured: deliveries without their own key go out unsigned,
    /// reports carry no token.
    Absent,
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Extension {
                port, secret_id, ..
            } => f
                .debug_struct("Extension")
                .field("port", port)
                .field("secret_id", secret_id)
                .finish_non_exhaustive(),
            Self::Fixed(_) => f.write_str("Fixed(<redacted>)"),
            Self::Absent => f.write_str("Absent"),
        }
    }
}

/// Why a secret could not be read; the deliveries that need it are retried.
#[derive(Debug, Error)]
pub enum SecretError {
    /// The extension did not answer (not attached as a layer, not ready yet).
    #[error("the secrets extension on port {port} cannot be reached: {reason}")]
    Unreachable {
        /// The port asked.
        port: u16,
        /// The client's error.
        reason: String,
    },
    /// The extension answered with an error (no permission, no such secret).
    #[error("the secrets extension answered {status} for {secret_id}: {body}")]
    Refused {
        /// The secret asked for.
        secret_id: String,
        /// The extension's status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
    /// The answer had no `SecretString` (a binary secret, or not JSON).
    #[error("the secrets extension's answer for {0} has no SecretString")]
    NoString(String),
}

/// A secret, read once per execution environment (on first use, when the
/// extension is sure to be up) and then kept; a failed read is tried again by
/// the next batch.
pub struct Secret {
    source: SecretSource,
    value: OnceCell<Option<String>>,
}

/// Shows where the secret comes from, never its value: the fan-out and its
/// reporter are logged with `?`.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("source", &self.source)
            .field("read", &self.value.initialized())
            .finish()
    }
}

#[derive(Deserialize)]
struct ExtensionAnswer {
    #[serde(rename = "SecretString")]
    secret_string: Option<String>,
}

impl Secret {
    /// A secret to be read from `source`.
    pub fn new(source: SecretSource) -> Self {
        Self {
            source,
            value: OnceCell::new(),
        }
    }

    /// Where the value comes from.
    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// The value (`None`: none configured, or empty), reading it on first use.
    pub async fn get(&self, client: &reqwest::Client) -> Result<Option<&str>, SecretError> {
        let value = self
            .value
            .get_or_try_init(|| async {
                match &self.source {
                    SecretSource::Extension {
                        port,
                        secret_id,
                        session_token,
                    } => fetch(client, *port, secret_id, session_token)
                        .await
                        .map(Some),
                    SecretSource::Fixed(value) => Ok(Some(value.clone())),
                    SecretSource::Absent => Ok(None),
                }
            })
            .await?;
        Ok(value.as_deref().filter(|value| !value.is_empty()))
    }
}

async fn fetch(
    client: &reqwest::Client,
    port: u16,
    secret_id: &str,
    session_token: &str,
) -> Result<String, SecretError> {
    let mut url = reqwest::Url::parse(&format!("http://localhost:{port}/secretsmanager/get"))
        .expect("a fixed URL with a numeric port");
    url.query_pairs_mut().append_pair("secretId", secret_id);
    let unreachable = |error: reqwest::Error| SecretError::Unreachable {
        port,
        reason: error.to_string(),
    };
    let response = client
        .get(url)
        .header("X-Aws-Parameters-Secrets-Token", session_token)
        .timeout(EXTENSION_TIMEOUT)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(SecretError::Refused {
            secret_id: secret_id.to_owned(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).chars().take(200).collect(),
        });
    }
    serde_json::from_slice::<ExtensionAnswer>(&body)
        .ok()
        .and_then(|answer| answer.secret_string)
        .ok_or_else(|| SecretError::NoString(secret_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fixed_and_absent_keys_need_no_network() {
        let client = reqwest::Client::new();
        let fixed = Secret::new(SecretSource::Fixed("k".into()));
        assert_eq!(fixed.get(&client).await.unwrap(), Some("k"));
        let empty = Secret::new(SecretSource::Fixed(String::new()));
        assert_eq!(empty.get(&client).await.unwrap(), None);
        let none = Secret::new(SecretSource::Absent);
        assert_eq!(none.get(&client).await.unwrap(), None);
    }

    #[tokio::test]
    async fn debug_never_shows_keys_or_tokens() {
        let read = Secret::new(SecretSource::Fixed("s3cret-read".into()));
        read.get(&reqwest::Client::new()).await.unwrap();
        let text = format!(
            "{:?} {:?} {read:?}",
            SecretSource::Fixed("hunter2".into()),
            SecretSource::Extension {
                port: 1,
                secret_id: "arn".into(),
                session_token: "tok3n".into()
            }
        );
        for hidden in ["hunter2", "tok3n", "s3cret-read"] {
            assert!(!text.contains(hidden), "{text}");
        }
        assert!(text.contains("read: true"), "{text}");
    }
}
