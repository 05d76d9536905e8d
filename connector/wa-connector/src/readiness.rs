//! Readiness, as `GET /ready` reports it: may this connector be sent traffic?
//!
//! Ready when the store answers a trivial query and every started account is
//! logged in (or none is started). `/health` stays liveness only (the process
//! answers HTTP), so an orchestrator restarts a dead process but only stops
//! routing to one whose database or WhatsApp connections are down.
//!
//! Accounts whose task has ended (logged out, stopped) are listed but do not
//! hold readiness back: nothing the connector does by itself brings them
//! back, and taking the whole gateway out of rotation would not either. An
//! account waiting for its QR code to be scanned is started and not
//! connected: the gateway is not ready until it is linked.

use std::time::Duration;

use serde::Serialize;
use wa_store::DynStore;

use crate::accounts::{AccountManager, AccountState};

/// How long the store may take to answer before it counts as down.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The verdict and what it rests on (the body of `/ready`).
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// Whether traffic may be sent.
    pub ready: bool,
    /// The store's check.
    pub store: StoreCheck,
    /// Every account the connector has started, by id.
    pub accounts: Vec<AccountCheck>,
    /// What is not ready, one sentence each (empty when ready).
    pub not_ready: Vec<String>,
}

/// Whether the store answered.
#[derive(Debug, Clone, Serialize)]
pub struct StoreCheck {
    /// It answered in time.
    pub ok: bool,
    /// Why not, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One started account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountCheck {
    /// The account id.
    pub id: String,
    /// Its state (`logged_in`, `disconnected`, `waiting_for_pairing`, …).
    pub state: &'static str,
    /// Logged in and usable.
    pub connected: bool,
}

/// Whether an account's task has ended (see the module docs).
pub fn has_ended(state: AccountState) -> bool {
    matches!(state, AccountState::LoggedOut | AccountState::Stopped)
}

/// Runs the checks now.
pub async fn check(accounts: &AccountManager, store: &DynStore) -> Readiness {
    let mut not_ready = Vec::new();
    let store = match tokio::time::timeout(STORE_TIMEOUT, store.webhook_cursor()).await {
        Ok(Ok(_)) => StoreCheck {
            ok: true,
            error: None,
        },
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the store failed");
            StoreCheck {
                ok: false,
                error: Some(error.to_string()),
            }
        }
        Err(_) => StoreCheck {
            ok: false,
            error: Some(format!("no answer within {STORE_TIMEOUT:?}")),
        },
    };
    if let Some(error) = &store.error {
        not_ready.push(format!("the store does not answer: {error}"));
    }
    let mut checks = Vec::new();
    for handle in accounts.handles() {
        let state = handle.state();
        let connected = state == AccountState::LoggedIn;
        if !connected && !has_ended(state) {
            not_ready.push(format!("account `{}` is {state}", handle.id()));
        }
        checks.push(AccountCheck {
            id: handle.id().to_string(),
            state: state.as_str(),
            connected,
        });
    }
    Readiness {
        ready: not_ready.is_empty(),
        store,
        accounts: checks,
        not_ready,
    }
}
