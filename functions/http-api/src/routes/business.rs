//! `GET /user/business-profile`: what a WhatsApp Business account publishes
//! about itself, in GOWA's field names.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::BusinessProfile;
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::phone;

#[derive(Serialize)]
struct Category {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct Hours {
    day_of_week: String,
    mode: String,
    open_time: String,
    close_time: String,
}

/// GOWA's fields, then the description and websites it does not show.
#[derive(Serialize)]
struct ProfileView {
    jid: String,
    email: String,
    address: String,
    categories: Vec<Category>,
    profile_options: BTreeMap<String, String>,
    business_hours_timezone: String,
    business_hours: Vec<Hours>,
    description: String,
    websites: Vec<String>,
}

/// `GET /user/business-profile?phone=`: 404 `NOT_FOUND` when the user is not
/// a business.
pub async fn profile(call: &Call) -> ApiResult<ApiResponse> {
    let user = phone::user(&call.query().required("phone")?)?;
    let device = call.device().await?;
    let profile: Option<BusinessProfile> = call
        .connector
        .try_call("contacts", "get-business-profile", (&device, &user))
        .await?;
    let p = profile.ok_or_else(|| {
        ApiError::new(
            http::StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{user} is not a business account"),
        )
    })?;
    let view = ProfileView {
        jid: p.jid,
        email: p.email,
        address: p.address,
        categories: p
            .categories
            .into_iter()
            .map(|c| Category {
                id: c.id,
                name: c.name,
            })
            .collect(),
        profile_options: p.profile_options.into_iter().collect(),
        business_hours_timezone: p.hours_time_zone,
        business_hours: p
            .hours
            .into_iter()
            .map(|h| Hours {
                day_of_week: h.day_of_week,
                mode: h.mode,
                open_time: h.open_time,
                close_time: h.close_time,
            })
            .collect(),
        description: p.description,
        websites: p.websites,
    };
    Ok(envelope::success("Success get business profile", view))
}
