//! `/devices/*`: the accounts ("devices" in GOWA) of a multi-account gateway.

use http::StatusCode;
use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{Account, ConnectionState};
use crate::connector::Connector;
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};

/// A device as the API shows it.
#[derive(Serialize)]
pub struct DeviceView {
    id: String,
    device_id: String,
    jid: Option<String>,
    display_name: Option<String>,
    state: &'static str,
    is_connected: bool,
    is_logged_in: bool,
    created_at: u64,
}

/// The API's view of an account.
pub fn describe(account: Account) -> DeviceView {
    DeviceView {
        device_id: account.id.clone(),
        is_connected: account.state == ConnectionState::Connected,
        is_logged_in: account.jid.is_some() && account.state != ConnectionState::LoggedOut,
        state: state_name(account.state),
        id: account.id,
        jid: account.jid,
        display_name: account.push_name,
        created_at: account.created_at,
    }
}

/// The state's API spelling.
pub fn state_name(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::WaitingForPairing => "waiting_for_pairing",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Connected => "connected",
        ConnectionState::Disconnected => "disconnected",
        ConnectionState::LoggedOut => "logged_out",
    }
}

/// Every account.
pub async fn list(connector: &Connector) -> ApiResult<Vec<Account>> {
    connector.call("accounts", "list-accounts", ()).await
}

/// One account; `DEVICE_NOT_FOUND` when it does not exist.
pub async fn get_account(connector: &Connector, id: &str) -> ApiResult<Account> {
    connector
        .try_call("accounts", "get-account", (id,))
        .await
        .map_err(|e| device_not_found(e, id))
}

/// The id of an existing account.
pub async fn existing(connector: &Connector, id: &str) -> ApiResult<String> {
    get_account(connector, id).await.map(|a| a.id)
}

/// Creates (or returns) an account and starts linking it.
pub async fn create_account(connector: &Connector, id: Option<&str>) -> ApiResult<Account> {
    connector
        .try_call("accounts", "create-account", (id,))
        .await
}

/// Drops and re-opens an account's connection.
pub async fn reconnect_account(connector: &Connector, id: &str) -> ApiResult<Account> {
    connector
        .try_call("accounts", "reconnect", (id,))
        .await
        .map_err(|e| device_not_found(e, id))
}

fn device_not_found(error: ApiError, id: &str) -> ApiError {
    if error.status == StatusCode::NOT_FOUND {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "DEVICE_NOT_FOUND",
            format!("device `{id}` not found"),
        )
    } else {
        error
    }
}

/// `GET /devices`.
pub async fn list_route(call: &Call) -> ApiResult<ApiResponse> {
    let accounts = list(&call.connector).await?;
    let views: Vec<DeviceView> = accounts.into_iter().map(describe).collect();
    Ok(envelope::success("Fetch devices success", views))
}

/// `POST /devices` (`device_id` optional): a new account, waiting to be linked.
pub async fn create(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(64 * 1024).await?;
    let id = input.optional("device_id").or_else(|| input.optional("id"));
    let account = create_account(&call.connector, id.as_deref()).await?;
    Ok(envelope::success("Device created", describe(account)))
}

/// `GET /devices/{id}`.
pub async fn get(call: &Call) -> ApiResult<ApiResponse> {
    let account = get_account(&call.connector, &call.param).await?;
    Ok(envelope::success("Fetch device success", describe(account)))
}

/// `DELETE /devices/{id}`: logs out (when linked) and forgets the account.
pub async fn delete(call: &Call) -> ApiResult<ApiResponse> {
    let id = existing(&call.connector, &call.param).await?;
    call.connector
        .try_call::<()>("accounts", "delete-account", (&id,))
        .await?;
    Ok(envelope::done("Device deleted"))
}

/// `GET /devices/{id}/login`: the QR login for that account.
pub async fn login(call: &Call) -> ApiResult<ApiResponse> {
    let id = create_account(&call.connector, Some(&call.param)).await?.id;
    super::app::qr_login(call, id).await
}

/// `POST /devices/{id}/login/code` (`phone`): the pairing code for that account.
pub async fn login_code(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(64 * 1024).await?;
    let phone = input
        .optional("phone")
        .or_else(|| call.query().optional("phone"))
        .ok_or_else(|| ApiError::validation("phone: cannot be blank"))?;
    let id = create_account(&call.connector, Some(&call.param)).await?.id;
    super::app::pair_code(call, id, &phone).await
}

/// `POST /devices/{id}/logout`.
pub async fn logout(call: &Call) -> ApiResult<ApiResponse> {
    let id = existing(&call.connector, &call.param).await?;
    call.connector
        .try_call::<()>("accounts", "logout", (&id,))
        .await?;
    Ok(envelope::done("Success logout"))
}

/// `POST /devices/{id}/reconnect`.
pub async fn reconnect(call: &Call) -> ApiResult<ApiResponse> {
    reconnect_account(&call.connector, &call.param).await?;
    Ok(envelope::done("Reconnect success"))
}

/// `GET /devices/{id}/status`.
pub async fn status(call: &Call) -> ApiResult<ApiResponse> {
    let account = get_account(&call.connector, &call.param).await?;
    Ok(envelope::success("connection status", describe(account)))
}
