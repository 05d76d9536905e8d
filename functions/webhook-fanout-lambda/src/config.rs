//! The function's settings, read from its environment at cold start.

use thiserror::Error;

use crate::report::Reporter;
use crate::secret::{DEFAULT_EXTENSION_PORT, Secret, SecretSource};

/// Attempts in flight at once when `WEBHOOK_CONCURRENT_DELIVERIES` is unset
/// (the connector's default for the same setting).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Every variable the function reads, for documentation and checks.
pub const VARIABLES: &[&str] = &[
    "WHATSAPP_WEBHOOK_SECRET_ARN",
    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
    "WHATSAPP_WEBHOOK_SECRET",
    "CONNECTOR_URL",
    "CONNECTOR_TOKEN_ARN",
    "CONNECTOR_TOKEN",
    "WEBHOOK_CONCURRENT_DELIVERIES",
];

/// A setting that cannot be used; the function does not start.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Not a number in range.
    #[error("{name}={value:?} is not {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// The extension needs the session token Lambda provides.
    #[error("{0} is set but AWS_SESSION_TOKEN is not (the secrets extension needs it)")]
    NoSessionToken(
        /// The `…_ARN` variable that asks for the extension.
        &'static str,
    ),
}

/// What the environment says.
#[derive(Debug)]
pub struct Config {
    /// Where the gateway-wide key comes from.
    pub secret: SecretSource,
    /// The connector to report outcomes to, if any.
    pub reporter: Option<Reporter>,
    /// Attempts in flight at once.
    pub concurrency: usize,
}

impl Config {
    /// Reads the settings through `var` (the process environment in the
    /// binary, a map in tests). Empty values count as unset.
    ///
    /// - `WHATSAPP_WEBHOOK_SECRET_ARN`: the gateway-wide key's secret, read
    ///   through the Parameters and Secrets extension on
    ///   `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` (2773) with
    ///   `AWS_SESSION_TOKEN`; else `WHATSAPP_WEBHOOK_SECRET`; else unsigned.
    /// - `CONNECTOR_URL`: where outcomes are reported, with the bearer token
    ///   from `CONNECTOR_TOKEN_ARN` (through the extension, as the key) or
    ///   else `CONNECTOR_TOKEN`. Without a URL the token settings are unused.
    /// - `WEBHOOK_CONCURRENT_DELIVERIES`: attempts in flight at once (8).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let secret = secret_source(
            &var,
            "WHATSAPP_WEBHOOK_SECRET_ARN",
            "WHATSAPP_WEBHOOK_SECRET",
        )?;
        let reporter = match var("CONNECTOR_URL") {
            Some(url) => {
                let token = secret_source(&var, "CONNECTOR_TOKEN_ARN", "CONNECTOR_TOKEN")?;
                Some(
                    Reporter::new(&url, Secret::new(token)).map_err(|_| ConfigError::Invalid {
                        name: "CONNECTOR_URL",
                        value: url,
                        expected: "an http(s) URL",
                    })?,
                )
            }
            None => None,
        };
        let concurrency = match var("WEBHOOK_CONCURRENT_DELIVERIES") {
            Some(value) => {
                value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or(ConfigError::Invalid {
                        name: "WEBHOOK_CONCURRENT_DELIVERIES",
                        value,
                        expected: "a number of at least 1",
                    })?
            }
            None => DEFAULT_CONCURRENCY,
        };
        Ok(Self {
            secret,
            reporter,
            concurrency,
        })
    }
}

/// A secret named by `arn_var` (read through the extension: deployed, the
/// value never sits in the function's configuration), else given in clear by
/// `value_var` (local runs), else absent. Both secrets go through here, so
/// they take the extension's port and session token the same way.
fn secret_source(
    var: &impl Fn(&str) -> Option<String>,
    arn_var: &'static str,
    value_var: &str,
) -> Result<SecretSource, ConfigError> {
    let Some(secret_id) = var(arn_var) else {
        return Ok(var(value_var).map_or(SecretSource::Absent, SecretSource::Fixed));
    };
    let port = match var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") {
        Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
            name: "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
            value,
            expected: "a port number",
        })?,
        None => DEFAULT_EXTENSION_PORT,
    };
    Ok(SecretSource::Extension {
        port,
        secret_id,
        session_token: var("AWS_SESSION_TOKEN").ok_or(ConfigError::NoSessionToken(arn_var))?,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn the_arn_wins_over_a_plain_key() {
        let c = config(&[
            (
                "WHATSAPP_WEBHOOK_SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:1:secret:w",
            ),
            ("WHATSAPP_WEBHOOK_SECRET", "plain"),
            ("AWS_SESSION_TOKEN", "tok"),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2999"),
        ])
        .unwrap();
        assert_eq!(
            c.secret,
            SecretSource::Extension {
                port: 2999,
                secret_id: "arn:aws:secretsmanager:eu-west-1:1:secret:w".into(),
                session_token: "tok".into()
            }
        );
        let c = config(&[("WHATSAPP_WEBHOOK_SECRET", "plain")]).unwrap();
        assert_eq!(c.secret, SecretSource::Fixed("plain".into()));
        let c = config(&[("WHATSAPP_WEBHOOK_SECRET", "")]).unwrap();
        assert_eq!(c.secret, SecretSource::Absent);
        assert_eq!(
            (c.concurrency, c.reporter.is_none()),
            (DEFAULT_CONCURRENCY, true)
        );
    }

    /// The connector token is read like the gateway key: the ARN through the
    /// extension (same port, same session token), else the plain value.
    #[test]
    fn the_connector_token_comes_from_its_arn_or_the_environment() {
        let token = |pairs: &[(&str, &str)]| {
            let mut pairs = pairs.to_vec();
            pairs.push(("CONNECTOR_URL", "https://api.example/"));
            config(&pairs)
                .unwrap()
                .reporter
                .expect("a reporter")
                .token_source()
                .clone()
        };
        assert_eq!(
            token(&[
                (
                    "CONNECTOR_TOKEN_ARN",
                    "arn:aws:secretsmanager:eu-west-1:1:secret:t"
                ),
                ("CONNECTOR_TOKEN", "plain"),
                ("AWS_SESSION_TOKEN", "tok"),
                ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2999"),
            ]),
            SecretSource::Extension {
                port: 2999,
                secret_id: "arn:aws:secretsmanager:eu-west-1:1:secret:t".into(),
                session_token: "tok".into()
            }
        );
        assert_eq!(
            token(&[("CONNECTOR_TOKEN", "plain")]),
            SecretSource::Fixed("plain".into())
        );
        assert_eq!(token(&[("CONNECTOR_TOKEN_ARN", " ")]), SecretSource::Absent);
        // Nothing to report to: the token settings are not looked at.
        let c = config(&[("CONNECTOR_TOKEN_ARN", "arn")]).unwrap();
        assert!(c.reporter.is_none());
    }

    #[test]
    fn bad_values_are_named() {
        for arn in ["WHATSAPP_WEBHOOK_SECRET_ARN", "CONNECTOR_TOKEN_ARN"] {
            let error = config(&[(arn, "arn"), ("CONNECTOR_URL", "http://c")]).unwrap_err();
            assert_eq!(error, ConfigError::NoSessionToken(arn));
            assert!(error.to_string().starts_with(arn), "{error}");
        }
        for (name, value) in [
            ("WEBHOOK_CONCURRENT_DELIVERIES", "0"),
            ("CONNECTOR_URL", "::"),
        ] {
            let error = config(&[(name, value)]).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }
}
