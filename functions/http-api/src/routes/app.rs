//! `/health`, `/app/*`: GOWA's single-device routes (login, logout, status),
//! which act on the selected device.

use bytes::Bytes;
use serde::Serialize;

use super::Call;
use super::devices::{self, state_name};
use crate::bindings::wa::gateway::types::{AppInfo, ConnectionState, QrLogin};
use crate::envelope::{self, ApiResponse};
use crate::error::ApiResult;
use crate::qr;

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// Liveness: the component answers (no connector call).
pub fn health() -> ApiResult<ApiResponse> {
    Ok(envelope::success("ok", Health { status: "ok" }))
}

/// Version, contract and backends.
pub async fn info(call: &Call) -> ApiResult<ApiResponse> {
    // Without a reachable connector the component still says what it is, and
    // leaves the backends it cannot know empty rather than guessing.
    let mut info: AppInfo = match call.connector.call("accounts", "info", ()).await {
        Ok(info) => info,
        Err(_) => AppInfo {
            name: "wa-gateway".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            api: "gowa-v9".into(),
            contract: "wa:gateway@0.1.0".into(),
            host: "unknown".into(),
            store: None,
            media: None,
        },
    };
    // The component knows which host runs it better than the connector does.
    if let Some(host) = crate::settings::get("WA_HOST") {
        info.host = host;
    }
    Ok(envelope::success("gateway information", info))
}

#[derive(Serialize)]
struct Status {
    device_id: String,
    is_connected: bool,
    is_logged_in: bool,
    state: &'static str,
}

/// Whether the selected device is connected and logged in.
pub async fn status(call: &Call) -> ApiResult<ApiResponse> {
    let id = call.device().await?;
    let account = devices::get_account(&call.connector, &id).await?;
    Ok(envelope::success(
        "connection status",
        Status {
            device_id: account.id.clone(),
            is_connected: account.state == ConnectionState::Connected,
            is_logged_in: account.jid.is_some() && account.state != ConnectionState::LoggedOut,
            state: state_name(account.state),
        },
    ))
}

#[derive(Serialize)]
struct Login {
    qr_link: String,
    qr_code: String,
    qr_duration: u32,
    device_id: String,
}

/// Starts linking by QR: the raw QR string, a link to its PNG, and how long it lives.
pub async fn login(call: &Call) -> ApiResult<ApiResponse> {
    let id = login_device(call).await?;
    qr_login(call, id).await
}

/// The QR login answer for account `id`.
pub(super) async fn qr_login(call: &Call, id: String) -> ApiResult<ApiResponse> {
    let qr = login_qr(call, &id).await?;
    Ok(envelope::success(
        "Login success",
        Login {
            qr_link: format!(
                "{}/app/login/qr.png?device_id={}",
                call.base_url(),
                encode(&id)
            ),
            qr_code: qr.code,
            qr_duration: qr.expires_in_secs,
            device_id: id,
        },
    ))
}

/// The current QR code as a PNG (redrawn from the current ref on every call).
pub async fn qr_png(call: &Call) -> ApiResult<ApiResponse> {
    let id = login_device(call).await?;
    let qr = login_qr(call, &id).await?;
    let mut response = envelope::bytes("image/png", qr::png(&qr.code)?);
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub(super) async fn login_qr(call: &Call, id: &str) -> ApiResult<QrLogin> {
    call.connector.try_call("accounts", "login-qr", (id,)).await
}

#[derive(Serialize)]
struct PairCode {
    pair_code: String,
    device_id: String,
}

/// Starts linking by pairing code for `?phone=`.
pub async fn login_with_code(call: &Call) -> ApiResult<ApiResponse> {
    let phone = call.query().required("phone")?;
    let id = login_device(call).await?;
    pair_code(call, id, &phone).await
}

/// The pairing-code answer for account `id` and the phone that will type it.
pub(super) async fn pair_code(call: &Call, id: String, phone: &str) -> ApiResult<ApiResponse> {
    let code: String = call
        .connector
        .try_call("accounts", "login-code", (&id, digits(phone)))
        .await?;
    Ok(envelope::success(
        "Login with code success",
        PairCode {
            pair_code: dashed(&code),
            device_id: id,
        },
    ))
}

/// Unlinks the selected device.
pub async fn logout(call: &Call) -> ApiResult<ApiResponse> {
    let id = call.device().await?;
    call.connector
        .try_call::<()>("accounts", "logout", (&id,))
        .await?;
    Ok(envelope::done("Success logout"))
}

/// Drops and re-opens the selected device's connection.
pub async fn reconnect(call: &Call) -> ApiResult<ApiResponse> {
    let id = call.device().await?;
    devices::reconnect_account(&call.connector, &id).await?;
    Ok(envelope::done("Reconnect success"))
}

#[derive(Serialize)]
struct DeviceEntry {
    name: String,
    device: String,
}

/// GOWA's `/app/devices`: linked devices as `{name, device}`.
pub async fn devices(call: &Call) -> ApiResult<ApiResponse> {
    let accounts = devices::list(&call.connector).await?;
    let entries: Vec<DeviceEntry> = accounts
        .into_iter()
        .filter_map(|a| {
            let jid = a.jid.clone()?;
            Some(DeviceEntry {
                name: a.push_name.clone().unwrap_or_else(|| a.id.clone()),
                device: jid,
            })
        })
        .collect();
    Ok(envelope::success("Fetch device success", entries))
}

/// The OpenAPI document of this API.
pub fn openapi() -> ApiResponse {
    envelope::bytes(
        "application/json",
        Bytes::from_static(include_bytes!("../../openapi.json")),
    )
}

/// The device a login is for: the named one (created if new), else the only
/// one, else a new one when none exists yet.
async fn login_device(call: &Call) -> ApiResult<String> {
    if let Some(id) = call.named_device() {
        let account = devices::create_account(&call.connector, Some(&id)).await?;
        return Ok(account.id);
    }
    let accounts = devices::list(&call.connector).await?;
    if accounts.is_empty() {
        return Ok(devices::create_account(&call.connector, None).await?.id);
    }
    call.device().await
}

/// `ABCD1234` as `ABCD-1234`, the way WhatsApp shows codes (and GOWA returns them).
fn dashed(code: &str) -> String {
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
