//! `wa:gateway/contacts`: who is on WhatsApp, and with which devices.

use super::bindings::wa::gateway::contacts::Host;
use super::bindings::wa::gateway::types::{
    BusinessCategory, BusinessHours, BusinessProfile, MediaRef, PictureInfo, UserCheck, UserDevices,
};
use super::messaging::{parse_chat, parse_user};
use super::{Gateway, GatewayError, GatewayResult, request_error};

/// The largest profile picture accepted (WhatsApp's are small JPEGs).
const MAX_PICTURE_BYTES: u64 = 512 * 1024;

/// The most numbers or users one call asks about.
const MAX_USERS: usize = 50;

fn check_count(n: usize) -> GatewayResult<()> {
    match n {
        0 => Err(GatewayError::InvalidInput("name at least one user".into())),
        n if n > MAX_USERS => Err(GatewayError::InvalidInput(format!(
            "at most {MAX_USERS} users per call"
        ))),
        _ => Ok(()),
    }
}

impl Host for Gateway {
    async fn get_business_profile(
        &mut self,
        account: String,
        user: String,
    ) -> GatewayResult<Option<BusinessProfile>> {
        let user = parse_user(&user)?;
        let handle = self.running(&account).await?;
        let profile = crate::business::profile(handle.requester(), &user)
            .await
            .map_err(request_error)?;
        Ok(profile.map(|p| BusinessProfile {
            jid: p.jid.unwrap_or(user).to_string(),
            address: p.address,
            email: p.email,
            description: p.description,
            websites: p.websites,
            categories: p
                .categories
                .into_iter()
                .map(|c| BusinessCategory {
                    id: c.id,
                    name: c.name,
                })
                .collect(),
            profile_options: p.profile_options,
            hours_time_zone: p.hours_time_zone,
            hours: p
                .hours
                .into_iter()
                .map(|h| BusinessHours {
                    day_of_week: h.day_of_week,
                    mode: h.mode,
                    open_time: h.open_time,
                    close_time: h.close_time,
                })
                .collect(),
        }))
    }

    async fn check_users(
        &mut self,
        account: String,
        phones: Vec<String>,
    ) -> GatewayResult<Vec<UserCheck>> {
        check_count(phones.len())?;
        for phone in &phones {
            let digits = phone.len();
            if !(6..=15).contains(&digits) || !phone.bytes().all(|b| b.is_ascii_digit()) {
                return Err(GatewayError::InvalidInput(format!(
                    "`{phone}` is not a phone number (6 to 15 digits with country code)"
                )));
            }
        }
        let handle = self.running(&account).await?;
        let statuses = handle
            .check_contacts(&phones)
            .await
            .map_err(request_error)?;
        Ok(statuses
            .into_iter()
            .map(|s| UserCheck {
                phone: s.phone,
                jid: s.user.to_string(),
                on_whatsapp: s.registered,
            })
            .collect())
    }

    async fn get_devices(
        &mut self,
        account: String,
        users: Vec<String>,
    ) -> GatewayResult<Vec<UserDevices>> {
        check_count(users.len())?;
        let users = users
            .iter()
            .map(|u| parse_user(u))
            .collect::<GatewayResult<Vec<_>>>()?;
        let handle = self.running(&account).await?;
        let lists = handle.user_devices(&users).await.map_err(request_error)?;
        Ok(lists
            .into_iter()
            .map(|l| UserDevices {
                jid: l.user.to_string(),
                devices: l.devices,
            })
            .collect())
    }

    async fn get_picture(
        &mut self,
        account: String,
        owner: String,
        preview: bool,
    ) -> GatewayResult<Option<PictureInfo>> {
        let owner = parse_chat(&owner)?;
        let handle = self.running(&account).await?;
        let info = handle
            .picture(&owner, preview)
            .await
            .map_err(request_error)?;
        Ok(info.map(|p| PictureInfo {
            id: p.id,
            url: p.url,
            kind: p.kind,
        }))
    }

    async fn set_picture(
        &mut self,
        account: String,
        group: Option<String>,
        jpeg: MediaRef,
    ) -> GatewayResult<String> {
        let group = group
            .map(|g| {
                let jid = parse_chat(&g)?;
                if jid.is_group() {
                    Ok(jid)
                } else {
                    Err(GatewayError::InvalidInput(format!(
                        "`{g}` is not a group JID"
                    )))
                }
            })
            .transpose()?;
        if jpeg.size > MAX_PICTURE_BYTES {
            return Err(GatewayError::InvalidInput(format!(
                "a profile picture must be at most {MAX_PICTURE_BYTES} bytes"
            )));
        }
        let bytes =
            <Gateway as super::bindings::wa::gateway::media::Host>::read_media(self, jpeg.key)
                .await?;
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(GatewayError::InvalidInput(
                "a profile picture must be a JPEG".into(),
            ));
        }
        let handle = self.running(&account).await?;
        handle
            .set_picture(group.as_ref(), &bytes)
            .await
            .map_err(request_error)
    }
}
