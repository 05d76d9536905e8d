//! The ClientPayload sent inside the Noise client finish: registration on first link,
//! login afterwards.

use md5::{Digest, Md5};
use prost::Message;

use crate::binary::Jid;
use crate::creds::Credentials;
use crate::proto::payload::{ClientPayload, DeviceProps, client_payload as cp, device_props};

/// Identifies our client to WhatsApp; shown on the phone's linked-devices list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// WhatsApp Web version we claim (`[2, 3000, n]`).
    pub version: [u32; 3],
    /// Operating system name shown on the phone.
    pub os: String,
    /// Browser name (`Chrome`, `Firefox`, ..., `Desktop`), mapped to a platform type.
    pub browser: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// ISO 639-1 language.
    pub language: String,
    /// Ask the phone for the full history.
    pub full_history: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            version: [2, 3000, 1_023_223_821],
            os: "Ubuntu".into(),
            browser: "Chrome".into(),
            country: "US".into(),
            language: "en".into(),
            full_history: false,
        }
    }
}

impl ClientConfig {
    /// The DeviceProps platform type for [`ClientConfig::browser`] (Chrome when unknown).
    pub fn platform_type(&self) -> device_props::PlatformType {
        device_props::PlatformType::from_str_name(&self.browser.to_ascii_uppercase())
            .unwrap_or(device_props::PlatformType::Chrome)
    }

    fn base(&self) -> ClientPayload {
        ClientPayload {
            connect_type: Some(cp::ConnectType::WifiUnknown as i32),
            connect_reason: Some(cp::ConnectReason::UserActivated as i32),
            user_agent: Some(cp::UserAgent {
                platform: Some(cp::user_agent::Platform::Web as i32),
                app_version: Some(cp::user_agent::AppVersion {
                    primary: Some(self.version[0]),
                    secondary: Some(self.version[1]),
                    tertiary: Some(self.version[2]),
                    ..Default::default()
                }),
                mcc: Some("000".into()),
                mnc: Some("000".into()),
                os_version: Some("0.1".into()),
                device: Some("Desktop".into()),
                os_build_number: Some("0.1".into()),
                release_channel: Some(cp::user_agent::ReleaseChannel::Release as i32),
                locale_language_iso_639_1: Some(self.language.clone()),
                locale_country_iso_3166_1_alpha_2: Some(self.country.clone()),
                ..Default::default()
            }),
            web_info: Some(cp::WebInfo {
                web_sub_platform: Some(cp::web_info::WebSubPlatform::WebBrowser as i32),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// First-link payload: registers our identity and signed pre-key.
pub fn registration_payload(creds: &Credentials, cfg: &ClientConfig) -> ClientPayload {
    let version = format!("{}.{}.{}", cfg.version[0], cfg.version[1], cfg.version[2]);
    let props = DeviceProps {
        os: Some(cfg.os.clone()),
        platform_type: Some(cfg.platform_type() as i32),
        require_full_sync: Some(cfg.full_history),
        history_sync_config: Some(device_props::HistorySyncConfig {
            storage_quota_mb: Some(10240),
            inline_initial_payload_in_e2ee_msg: Some(true),
            support_call_log_history: Some(false),
            support_bot_user_agent_chat_history: Some(true),
            support_cag_reactions_and_polls: Some(true),
            support_biz_hosted_msg: Some(true),
            support_recent_sync_chunk_message_count_tuning: Some(true),
            support_hosted_group_msg: Some(true),
            support_fbid_bot_chat_history: Some(true),
            support_message_association: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let spk = &creds.signed_pre_key;
    ClientPayload {
        passive: Some(false),
        pull: Some(false),
        device_pairing_data: Some(cp::DevicePairingRegistrationData {
            e_regid: Some(creds.registration_id.to_be_bytes().to_vec()),
            e_keytype: Some(vec![crate::keys::DJB_TYPE]),
            e_ident: Some(creds.identity_key.public.to_vec()),
            e_skey_id: Some(spk.id.to_be_bytes()[1..].to_vec()),
            e_skey_val: Some(spk.key.public.to_vec()),
            e_skey_sig: Some(spk.signature.to_vec()),
            build_hash: Some(Md5::digest(version.as_bytes()).to_vec()),
            device_props: Some(props.encode_to_vec()),
        }),
        ..cfg.base()
    }
}

/// Why a login payload could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginPayloadError {
    /// The stored JID's user part is not a phone number.
    #[error("JID user {0:?} is not numeric")]
    NotNumeric(String),
}

/// Payload for every connection after pairing.
pub fn login_payload(me: &Jid, cfg: &ClientConfig) -> Result<ClientPayload, LoginPayloadError> {
    let username = me
        .user
        .parse::<u64>()
        .map_err(|_| LoginPayloadError::NotNumeric(me.user.clone()))?;
    Ok(ClientPayload {
        passive: Some(false),
        pull: Some(true),
        username: Some(username),
        device: Some(u32::from(me.device)),
        ..cfg.base()
    })
}
