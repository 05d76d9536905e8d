//! `GET /`: the dashboard, a single page shipped inside the component (no
//! fetches from the internet), calling this same API from the browser.

use bytes::Bytes;

use crate::envelope::{self, ApiResponse};
use crate::error::ApiResult;

/// The page.
pub fn page() -> ApiResult<ApiResponse> {
    Ok(envelope::bytes(
        "text/html; charset=utf-8",
        Bytes::from_static(include_bytes!("../../dashboard/index.html")),
    ))
}
