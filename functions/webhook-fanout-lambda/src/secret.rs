//! The gateway-wide HMAC key, for deliveries whose receiver has no secret of
//! its own. Deployed, it is read from Secrets Manager through the AWS
//! Parameters and Secrets Lambda Extension (a local HTTP cache next to the
//! function), so the key never sits in the function's configuration; locally
//! it can come from the environment.

use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;
use tokio::sync::OnceCell;

/// The extension's port when `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` is unset.
pub const DEFAULT_EXTENSION_PORT: u16 = 2773;
/// How long one read from the extension may take.
const EXTENSION_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the gateway-wide key comes from.
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
    /// A key given directly (`WHATSAPP_WEBHOOK_SECRET`, for local runs).
    Fixed(String),
    /// No gateway-wide key: such deliveries go out unsigned.
    Unsigned,
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
            Self::Unsigned => f.write_str("Unsigned"),
        }
    }
}

/// Why the key could not be read; the deliveries that need it are retried.
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

/// The key, read once per execution environment (on first use, when the
/// extension is sure to be up) and then kept; a failed read is tried again by
/// the next batch.
#[derive(Debug)]
pub struct GatewaySecret {
    source: SecretSource,
    value: OnceCell<Option<String>>,
}

#[derive(Deserialize)]
struct ExtensionAnswer {
    #[serde(rename = "SecretString")]
    secret_string: Option<String>,
}

impl GatewaySecret {
    /// A key to be read from `source`.
    pub fn new(source: SecretSource) -> Self {
        Self {
            source,
            value: OnceCell::new(),
        }
    }

    /// The key (`None`: sign nothing), reading it on first use.
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
                    SecretSource::Fixed(key) => Ok(Some(key.clone())),
                    SecretSource::Unsigned => Ok(None),
                }
            })
            .await?;
        Ok(value.as_deref().filter(|key| !key.is_empty()))
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
        let fixed = GatewaySecret::new(SecretSource::Fixed("k".into()));
        assert_eq!(fixed.get(&client).await.unwrap(), Some("k"));
        let empty = GatewaySecret::new(SecretSource::Fixed(String::new()));
        assert_eq!(empty.get(&client).await.unwrap(), None);
        let none = GatewaySecret::new(SecretSource::Unsigned);
        assert_eq!(none.get(&client).await.unwrap(), None);
    }

    #[test]
    fn debug_never_shows_keys_or_tokens() {
        let text = format!(
            "{:?} {:?}",
            SecretSource::Fixed("hunter2".into()),
            SecretSource::Extension {
                port: 1,
                secret_id: "arn".into(),
                session_token: "tok3n".into()
            }
        );
        assert!(
            !text.contains("hunter2") && !text.contains("tok3n"),
            "{text}"
        );
    }
}
