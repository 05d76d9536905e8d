//! Profile pictures: `GET /user/avatar`, `POST /user/avatar`, `POST /group/photo`.
//! WhatsApp takes JPEGs; an upload is stored in the media store and handed to
//! the connector by reference.

use http::StatusCode;
use serde::Serialize;

use super::Call;
use crate::bindings::wa::gateway::types::{MediaRef, PictureInfo};
use crate::envelope::{self, ApiResponse};
use crate::error::{ApiError, ApiResult};
use crate::input::Input;
use crate::media::{self, Limit};
use crate::phone;

/// `GET /user/avatar?phone=&is_preview=`: `{url, id, type}` (404 when none).
pub async fn get(call: &Call) -> ApiResult<ApiResponse> {
    let query = call.query();
    let owner = phone::chat_jid(&query.required("phone")?)?;
    let preview = query.flag("is_preview")?;
    let device = call.device().await?;
    let picture: Option<PictureInfo> = call
        .connector
        .try_call("contacts", "get-picture", (&device, &owner, preview))
        .await?;
    let picture = picture.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{owner} has no profile picture (or does not show it to us)"),
        )
    })?;
    #[derive(Serialize)]
    struct Avatar {
        url: Option<String>,
        id: String,
        #[serde(rename = "type")]
        kind: String,
    }
    Ok(envelope::success(
        "Success get avatar",
        Avatar {
            url: picture.url,
            id: picture.id,
            kind: picture.kind,
        },
    ))
}

/// The uploaded JPEG in `field`, stored in the media store.
async fn stored_jpeg(call: &Call, input: &Input, field: &str) -> ApiResult<MediaRef> {
    let file = media::from_input(input, field, &format!("{field}_url"), Limit::Image).await?;
    if !file.bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(ApiError::validation(format!(
            "{field}: WhatsApp takes profile pictures as JPEG"
        ))
        .with_code("INVALID_IMAGE_FORMAT"));
    }
    call.connector.put_media("image/jpeg", file.bytes).await
}

/// `POST /user/avatar`: multipart `avatar` (a JPEG).
pub async fn set_own(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(Limit::Image.body_bytes()).await?;
    let device = call.device().await?;
    let jpeg = stored_jpeg(call, &input, "avatar").await?;
    call.connector
        .try_call::<String>("contacts", "set-picture", (&device, None::<String>, jpeg))
        .await?;
    Ok(envelope::done("Success change avatar"))
}

/// `POST /group/photo`: multipart `group_id`, `photo` (a JPEG).
pub async fn set_group(call: &mut Call) -> ApiResult<ApiResponse> {
    let input = call.body(Limit::Image.body_bytes()).await?;
    let group = phone::group(&input.required("group_id")?)?;
    let device = call.device().await?;
    let jpeg = stored_jpeg(call, &input, "photo").await?;
    let id: String = call
        .connector
        .try_call("contacts", "set-picture", (&device, Some(&group), jpeg))
        .await?;
    #[derive(Serialize)]
    struct Photo {
        picture_id: String,
        message: &'static str,
    }
    Ok(envelope::success(
        "Success update group photo",
        Photo {
            picture_id: id,
            message: "Success update group photo",
        },
    ))
}
