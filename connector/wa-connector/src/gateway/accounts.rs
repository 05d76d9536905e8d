//! `wa:gateway/accounts`: create, link (QR or pairing code), log out, reconnect.

use std::time::Duration;

use rand_core::{OsRng, RngCore};
use wa_store::{Account, AccountStatus as StoredStatus};

use super::bindings::wa::gateway::accounts::Host;
use super::bindings::wa::gateway::types::{
    Account as ApiAccount, AppInfo, ConnectionState, QrLogin,
};
use super::{Gateway, GatewayError, GatewayResult, account_error, account_id, millis, store_error};
use crate::accounts::{AccountHandle, AccountState};

/// How long `login-qr` waits for the first QR code of a freshly started account.
const QR_WAIT: Duration = Duration::from_secs(20);
/// How long WhatsApp shows one QR reference before rotating it (later refs).
const QR_REF_TTL_SECS: u32 = 20;

/// The REST dialect reported by `info`.
const API_DIALECT: &str = "gowa-v9";
/// The contract this build implements.
const CONTRACT: &str = "wa:gateway@0.1.0";

impl Host for Gateway {
    async fn info(&mut self) -> AppInfo {
        AppInfo {
            name: "wa-gateway".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            api: API_DIALECT.into(),
            contract: CONTRACT.into(),
            host: self.deployment.host.clone(),
            store: Some(self.store.kind().into()),
            media: self.media.as_ref().map(|m| m.kind().into()),
        }
    }

    async fn list_accounts(&mut self) -> Vec<ApiAccount> {
        match self.store.list_accounts().await {
            Ok(accounts) => accounts.iter().map(|a| self.describe(a)).collect(),
            Err(error) => {
                // The WIT signature has no error: an unreadable store lists nothing,
                // loudly in the logs.
                tracing::error!(%error, "cannot list accounts");
                Vec::new()
            }
        }
    }

    async fn get_account(&mut self, id: String) -> GatewayResult<ApiAccount> {
        let account = self
            .store
            .get_account(&account_id(&id)?)
            .await
            .map_err(store_error)?;
        Ok(self.describe(&account))
    }

    async fn create_account(&mut self, id: Option<String>) -> GatewayResult<ApiAccount> {
        let id = match id {
            Some(id) => account_id(&id)?,
            None => account_id(&generated_id())?,
        };
        self.accounts.start(&id).await.map_err(account_error)?;
        let account = self.store.get_account(&id).await.map_err(store_error)?;
        Ok(self.describe(&account))
    }

    async fn delete_account(&mut self, id: String) -> GatewayResult<()> {
        let id = account_id(&id)?;
        self.store.get_account(&id).await.map_err(store_error)?;
        if let Some(handle) = self.accounts.handle(&id)
            && handle.status().jid.is_some()
            && handle.state() != AccountState::LoggedOut
        {
            // Unlink from the phone first; a dead connection must not keep the
            // account alive, so a failure here is logged, not returned.
            if let Err(error) = handle.logout().await {
                tracing::warn!(account = %id, %error, "logout before delete failed");
            }
        }
        self.accounts.stop(&id).await;
        self.store.delete_account(&id).await.map_err(store_error)
    }

    async fn login_qr(&mut self, id: String) -> GatewayResult<QrLogin> {
        let id = account_id(&id)?;
        let handle = self.accounts.start(&id).await.map_err(account_error)?;
        let status = handle
            .wait_for(QR_WAIT, |s| s.qr_code.is_some() || s.jid.is_some())
            .await
            .map_err(account_error)?;
        match status.qr_code {
            Some(code) if status.jid.is_none() => Ok(QrLogin {
                account: id.to_string(),
                code,
                expires_in_secs: QR_REF_TTL_SECS,
            }),
            _ => Err(GatewayError::NotReady(format!(
                "account `{id}` is already logged in"
            ))),
        }
    }

    async fn login_code(&mut self, id: String, phone: String) -> GatewayResult<String> {
        let id = account_id(&id)?;
        let handle = self.accounts.start(&id).await.map_err(account_error)?;
        handle
            .request_pairing_code(&phone)
            .await
            .map_err(account_error)
    }

    async fn logout(&mut self, id: String) -> GatewayResult<()> {
        let handle = self.running(&id).await?;
        handle.logout().await.map_err(account_error)
    }

    async fn reconnect(&mut self, id: String) -> GatewayResult<ApiAccount> {
        let id = account_id(&id)?;
        let account = self.store.get_account(&id).await.map_err(store_error)?;
        self.accounts.stop(&id).await;
        self.accounts.start(&id).await.map_err(account_error)?;
        Ok(self.describe(&account))
    }

    async fn get_privacy(&mut self, id: String) -> GatewayResult<Vec<(String, String)>> {
        let handle = self.running(&id).await?;
        handle
            .privacy_settings()
            .await
            .map_err(super::request_error)
    }
}

impl Gateway {
    /// The contract's view of an account: the live state when it runs, else what
    /// the store last recorded.
    fn describe(&self, account: &Account) -> ApiAccount {
        let handle = self.accounts.handle(&account.id);
        let state = match &handle {
            Some(handle) => live_state(handle),
            None => match account.status {
                StoredStatus::Pending => ConnectionState::WaitingForPairing,
                StoredStatus::Active | StoredStatus::Disconnected => ConnectionState::Disconnected,
                StoredStatus::LoggedOut => ConnectionState::LoggedOut,
            },
        };
        ApiAccount {
            id: account.id.to_string(),
            jid: handle
                .and_then(|h| h.status().jid)
                .or_else(|| account.jid.clone()),
            push_name: account.push_name.clone(),
            state,
            created_at: millis(account.created_at),
        }
    }
}

fn live_state(handle: &AccountHandle) -> ConnectionState {
    match handle.state() {
        AccountState::WaitingForPairing => ConnectionState::WaitingForPairing,
        AccountState::Connecting | AccountState::Connected => ConnectionState::Connecting,
        AccountState::LoggedIn => ConnectionState::Connected,
        AccountState::Disconnected | AccountState::Stopped => ConnectionState::Disconnected,
        AccountState::LoggedOut => ConnectionState::LoggedOut,
    }
}

/// A fresh device id for accounts created without one.
fn generated_id() -> String {
    format!("device-{:08x}", OsRng.next_u32())
}
