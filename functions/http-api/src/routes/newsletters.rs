//! Newsletters (WhatsApp channels), as GOWA serves them: `GET
//! /user/my/newsletters` lists the ones the device follows, in the shape
//! WhatsApp describes them (`thread_metadata`, `viewer_metadata`); `POST
//! /newsletter/unfollow` (`newsletter_id`) stops following one.

use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{Newsletter, NewsletterPicture, NewsletterText};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};

const BODY_LIMIT: usize = 16 * 1024;

#[derive(Serialize)]
struct List {
    data: Vec<NewsletterView>,
}

#[derive(Serialize)]
struct NewsletterView {
    id: String,
    state: State,
    thread_metadata: ThreadView,
    viewer_metadata: ViewerView,
}

#[derive(Serialize)]
struct State {
    #[serde(rename = "type")]
    kind: String,
}

/// WhatsApp writes times and counts as strings here; so does GOWA.
#[derive(Serialize)]
struct ThreadView {
    creation_time: String,
    invite: String,
    name: TextView,
    description: TextView,
    subscribers_count: String,
    verification: String,
    picture: Option<PictureView>,
    preview: PictureView,
    settings: SettingsView,
}

#[derive(Serialize)]
struct TextView {
    text: String,
    id: String,
    update_time: String,
}

#[derive(Serialize, Default)]
struct PictureView {
    url: String,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    direct_path: String,
}

#[derive(Serialize)]
struct SettingsView {
    reaction_codes: ReactionCodes,
}

#[derive(Serialize)]
struct ReactionCodes {
    value: String,
}

#[derive(Serialize)]
struct ViewerView {
    mute: &'static str,
    role: String,
}

fn text(t: NewsletterText) -> TextView {
    TextView {
        text: t.text,
        id: t.id,
        update_time: t.updated_at_us.to_string(),
    }
}

fn picture(p: NewsletterPicture) -> PictureView {
    PictureView {
        url: p.url,
        id: p.id,
        kind: p.kind,
        direct_path: p.direct_path,
    }
}

fn view(n: Newsletter) -> NewsletterView {
    NewsletterView {
        id: n.id,
        state: State { kind: n.state },
        thread_metadata: ThreadView {
            creation_time: n.created_at_secs.to_string(),
            invite: n.invite,
            name: text(n.name),
            description: text(n.description),
            subscribers_count: n.subscribers.to_string(),
            verification: n.verification,
            picture: n.picture.map(picture),
            preview: n.preview.map(picture).unwrap_or_default(),
            settings: SettingsView {
                reaction_codes: ReactionCodes {
                    value: n.reaction_codes.unwrap_or_default(),
                },
            },
        },
        viewer_metadata: ViewerView {
            mute: if n.muted { "on" } else { "off" },
            role: n.role,
        },
    }
}

/// `GET /user/my/newsletters`.
pub async fn list(call: &Call) -> ApiResult<ApiResponse> {
    let device = call.device().await?;
    let followed: Vec<Newsletter> = call
        .connector
        .try_call("newsletters", "list-newsletters", (&device,))
        .await?;
    Ok(envelope::success(
        "Success get list newsletter",
        List {
            data: followed.into_iter().map(view).collect(),
        },
    ))
}

/// `POST /newsletter/unfollow`: `newsletter_id` (`…@newsletter`).
pub async fn unfollow(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(BODY_LIMIT).await?;
    let channel = newsletter_jid(&input.required("newsletter_id")?)?;
    let device = call.device().await?;
    call.connector
        .try_call::<()>("newsletters", "unfollow-newsletter", (&device, &channel))
        .await?;
    Ok(envelope::done("Success unfollow newsletter"))
}

/// A channel's JID: digits `@newsletter`.
fn newsletter_jid(id: &str) -> ApiResult<String> {
    let id = id.trim();
    match id.split_once('@') {
        Some((user, "newsletter"))
            if !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(id.to_owned())
        }
        _ => Err(ApiError::invalid_jid(format!(
            "`{id}` is not a newsletter JID (digits@newsletter)"
        ))),
    }
}
