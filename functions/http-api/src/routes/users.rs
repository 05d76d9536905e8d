//! `/user/*`: other WhatsApp users — whether a number is on WhatsApp, which
//! devices a user has linked — and this account's groups and contacts.

use serde::Serialize;

use super::Call;
use super::groups::{GroupView, view};
use crate::bindings::wa::gateway::types::{ChatQuery, GroupInfo, UserCheck, UserDevices};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::phone;

/// The phone number of a user JID (`628…@s.whatsapp.net` → `628…`).
fn digits(jid: &str) -> &str {
    jid.split('@').next().unwrap_or(jid)
}

/// Whether `user` (a user JID) is on WhatsApp, asked as `device`.
async fn registration(call: &Call, device: &str, user: &str) -> ApiResult<UserCheck> {
    let checks: Vec<UserCheck> = call
        .connector
        .try_call("contacts", "check-users", (device, [digits(user)]))
        .await?;
    checks
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("WhatsApp did not answer for the number"))
}

/// `GET /user/check?phone=`: `{is_on_whatsapp}`.
pub async fn check(call: &Call) -> ApiResult<ApiResponse> {
    let user = phone::user(&call.query().required("phone")?)?;
    let device = call.device().await?;
    #[derive(Serialize)]
    struct Check {
        is_on_whatsapp: bool,
        jid: String,
    }
    let check = registration(call, &device, &user).await?;
    Ok(envelope::success(
        "Success check user",
        Check {
            is_on_whatsapp: check.on_whatsapp,
            jid: check.jid,
        },
    ))
}

/// One device in GOWA's shape (its keys are Go field names).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeviceView {
    user: String,
    agent: u8,
    device: String,
    server: String,
    #[serde(rename = "AD")]
    ad: bool,
    /// The device number (0 is the phone); beyond GOWA.
    #[serde(rename = "id")]
    id: u16,
}

/// `GET /user/info?phone=`: `{data: [{name, verified_name, status,
/// picture_id, devices}]}`. Only the device list is known to the gateway yet:
/// the profile fields are `null`.
pub async fn info(call: &Call) -> ApiResult<ApiResponse> {
    let user = phone::user(&call.query().required("phone")?)?;
    let device = call.device().await?;
    let not_found = || {
        ApiError::new(
            http::StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{user} is not on WhatsApp"),
        )
    };
    if !registration(call, &device, &user).await?.on_whatsapp {
        return Err(not_found());
    }
    let lists: Vec<UserDevices> = call
        .connector
        .try_call("contacts", "get-devices", (&device, [&user]))
        .await?;
    let list = lists.into_iter().next().ok_or_else(not_found)?;
    #[derive(Serialize)]
    struct Info {
        jid: String,
        name: Option<String>,
        verified_name: Option<String>,
        status: Option<String>,
        picture_id: Option<String>,
        devices: Vec<DeviceView>,
    }
    #[derive(Serialize)]
    struct Data {
        data: Vec<Info>,
    }
    let number = digits(&list.jid).to_owned();
    let devices = list
        .devices
        .iter()
        .map(|&id| DeviceView {
            user: number.clone(),
            agent: 0,
            // WhatsApp does not say which platform a device is.
            device: if id == 0 { "PHONE" } else { "UNKNOWN" }.into(),
            server: "s.whatsapp.net".into(),
            ad: id != 0,
            id,
        })
        .collect();
    Ok(envelope::success(
        "Success get user info",
        Data {
            data: vec![Info {
                jid: list.jid,
                name: None,
                verified_name: None,
                status: None,
                picture_id: None,
                devices,
            }],
        },
    ))
}

/// `{data: [...]}`, GOWA's list wrapper for `/user/my/*`.
#[derive(Serialize)]
struct Data<T> {
    data: Vec<T>,
}

/// `GET /user/my/groups`: every group the account is in, as WhatsApp has them now.
pub async fn my_groups(call: &Call) -> ApiResult<ApiResponse> {
    let device = call.device().await?;
    let groups: Vec<GroupInfo> = call
        .connector
        .try_call("groups", "list-groups", (&device,))
        .await?;
    let data: Vec<GroupView> = groups.into_iter().map(view).collect();
    Ok(envelope::success("Success get list groups", Data { data }))
}

/// The most contacts `/user/my/contacts` lists.
const MAX_CONTACTS: u32 = 1000;

/// `GET /user/my/contacts`: the people this account has chatted with, by the
/// names WhatsApp told us (their push names), most recent first.
pub async fn my_contacts(call: &Call) -> ApiResult<ApiResponse> {
    let device = call.device().await?;
    let chats = super::chats::stored_chats(
        call,
        &device,
        ChatQuery {
            search: None,
            limit: MAX_CONTACTS,
            offset: 0,
        },
    )
    .await?;
    #[derive(Serialize)]
    struct Contact {
        jid: String,
        name: String,
    }
    let data: Vec<Contact> = chats
        .into_iter()
        .filter(|c| c.jid.ends_with("@s.whatsapp.net"))
        .map(|c| Contact {
            name: c.name.unwrap_or_default(),
            jid: c.jid,
        })
        .collect();
    Ok(envelope::success(
        "Success get list contacts",
        Data { data },
    ))
}

/// `GET /user/my/privacy`: `{group_add, last_seen, status, profile,
/// read_receipts}`, each as WhatsApp says it (`all`, `contacts`, `none`, …).
pub async fn my_privacy(call: &Call) -> ApiResult<ApiResponse> {
    let device = call.device().await?;
    let settings: Vec<(String, String)> = call
        .connector
        .try_call("accounts", "get-privacy", (&device,))
        .await?;
    let value = |category: &str| {
        settings
            .iter()
            .find(|(name, _)| name == category)
            .map(|(_, value)| value.clone())
    };
    #[derive(Serialize)]
    struct Privacy {
        group_add: Option<String>,
        last_seen: Option<String>,
        status: Option<String>,
        profile: Option<String>,
        read_receipts: Option<String>,
    }
    Ok(envelope::success(
        "Success get privacy",
        Privacy {
            group_add: value("groupadd"),
            last_seen: value("last"),
            status: value("status"),
            profile: value("profile"),
            read_receipts: value("readreceipts"),
        },
    ))
}
