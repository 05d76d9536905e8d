//! The connector's side of the WIT contract (world `wa:gateway/connector`).
//!
//! Functions (the REST component, the dashboard, fan-out) reach the connector
//! only through these interfaces. [`Gateway`] implements the host traits that
//! `wasmtime::component::bindgen!` generates from `wit/`, so a change to the
//! contract that the connector does not follow fails to compile here; the
//! internal endpoint ([`crate::internal_api`]) exposes the same calls as JSON
//! over HTTP, in-process for hosted components and on the network in the cloud
//! mode.

mod accounts;
mod chat_actions;
mod contacts;
mod forward;
mod groups;
mod history;
mod link_preview;
pub mod media;
mod messaging;
mod newsletters;
mod webhooks;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wa_media::DynMediaStore;
use wa_store::{AccountId, DynStore, StoreError};

use crate::accounts::{AccountError, AccountHandle, AccountManager};
use crate::requests::RequestError;
use crate::webhooks::WebhookOptions;

/// Bindings generated from `wit/` for the world the connector serves.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "wa:gateway/connector",
        imports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

pub use bindings::wa::gateway::types::GatewayError;

/// What the gateway reports about its deployment in `info`.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Which host runs the components (`wa-connector`).
    pub host: String,
}

/// The connector's implementation of the contract: cheap to clone (all shared).
#[derive(Clone)]
pub struct Gateway {
    accounts: Arc<AccountManager>,
    store: DynStore,
    media: Option<DynMediaStore>,
    deployment: Arc<Deployment>,
    webhook_retry_window: Duration,
    metrics: crate::metrics::Metrics,
    conversion: crate::transcode::MediaConversion,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("store", &self.store.kind())
            .finish_non_exhaustive()
    }
}

/// Short for the results every contract function returns.
pub type GatewayResult<T> = Result<T, GatewayError>;

impl Gateway {
    /// A gateway over the running accounts, their store and the media store.
    pub fn new(
        accounts: Arc<AccountManager>,
        store: DynStore,
        media: Option<DynMediaStore>,
        deployment: Deployment,
    ) -> Self {
        Self {
            accounts,
            store,
            media,
            deployment: Arc::new(deployment),
            webhook_retry_window: WebhookOptions::default().retry_window,
            metrics: crate::metrics::Metrics::default(),
            conversion: crate::transcode::MediaConversion::default(),
        }
    }

    /// Counts the webhook outcomes reported from outside (the fan-out
    /// Lambda) in `metrics`, like the attempts made in this process.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// How media sent through the API is converted (the encoder flags).
    pub fn with_media_conversion(mut self, conversion: crate::transcode::MediaConversion) -> Self {
        self.conversion = conversion;
        self
    }

    /// How long deliveries whose attempts are reported from outside (the
    /// fan-out Lambda) are retried before they are dead-lettered.
    pub fn with_webhook_retry_window(mut self, window: Duration) -> Self {
        self.webhook_retry_window = window;
        self
    }

    /// The store (for the internal endpoint's own checks).
    pub fn store(&self) -> &DynStore {
        &self.store
    }

    fn media_store(&self) -> GatewayResult<&DynMediaStore> {
        self.media
            .as_ref()
            .ok_or_else(|| GatewayError::Unavailable("no media store is configured".into()))
    }

    /// A running account's handle: `not-found` when the store does not know the
    /// id, `not-ready` when it exists but is not running.
    async fn running(&self, id: &str) -> GatewayResult<AccountHandle> {
        let id = account_id(id)?;
        if let Some(handle) = self.accounts.handle(&id) {
            return Ok(handle);
        }
        self.store.get_account(&id).await.map_err(store_error)?;
        Err(GatewayError::NotReady(format!(
            "account `{id}` is not running; log it in first"
        )))
    }
}

/// Parses an account id, as the store validates them.
fn account_id(id: &str) -> GatewayResult<AccountId> {
    AccountId::new(id).map_err(|e| GatewayError::InvalidInput(format!("device id: {e}")))
}

/// The contract's view of a request WhatsApp refused or never answered.
fn request_error(error: RequestError) -> GatewayError {
    match error {
        RequestError::NotConnected => GatewayError::NotReady(error.to_string()),
        RequestError::Refused { ref code } if code == "404" => {
            GatewayError::NotFound(error.to_string())
        }
        RequestError::Refused { ref code } if code == "403" || code == "401" => {
            GatewayError::InvalidInput(format!("WhatsApp refused: not allowed ({code})"))
        }
        RequestError::Refused { ref code } if code == "409" => GatewayError::InvalidInput(
            "WhatsApp refused: the group changed meanwhile (409); try again".into(),
        ),
        other => GatewayError::Unavailable(other.to_string()),
    }
}

/// The contract's view of a store failure.
fn store_error(error: StoreError) -> GatewayError {
    match error {
        StoreError::InvalidInput(why) => GatewayError::InvalidInput(why),
        StoreError::NotFound { entity, key } => {
            GatewayError::NotFound(format!("{entity} `{key}` not found"))
        }
        StoreError::Conflict { entity, key } => {
            GatewayError::InvalidInput(format!("{entity} `{key}` already exists"))
        }
        other => {
            tracing::error!(error = %other, "store failure behind a gateway call");
            GatewayError::Unavailable("the database failed; try again".into())
        }
    }
}

/// The contract's view of an account failure.
fn account_error(error: AccountError) -> GatewayError {
    match error {
        AccountError::Store(e) => store_error(e),
        AccountError::InvalidPhone => GatewayError::InvalidInput(error.to_string()),
        AccountError::AlreadyLinked
        | AccountError::NotRunning
        | AccountError::PairingInProgress => GatewayError::NotReady(error.to_string()),
        AccountError::Timeout(_)
        | AccountError::Connection(_)
        | AccountError::PairingRefused(_)
        | AccountError::Credentials(_) => GatewayError::Unavailable(error.to_string()),
    }
}

/// Milliseconds since the epoch, as the contract counts time.
fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The inverse of [`millis`].
fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}
