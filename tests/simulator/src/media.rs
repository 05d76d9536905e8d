//! Media: the `media_conn` iq hands out an auth token and the HTTP host; the HTTP side
//! takes `POST /mms/{type}/{base64url(fileEncSha256)}?auth=..` (the encrypted body,
//! checked against its hash) and serves it back at the returned `direct_path`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tracing::{info, warn};
use wa_proto::binary::Node;

use crate::connection::Shared;
use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};
use crate::state::random_token;

/// One stored upload.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    /// Media type from the upload path (`image`, `audio`, ...).
    pub kind: String,
    /// Download secret carried in the direct path (`oh=`).
    pub oh: String,
    /// The encrypted body exactly as uploaded.
    pub data: Bytes,
}

/// Auth tokens and blobs.
#[derive(Debug, Default)]
pub(crate) struct MediaStore {
    /// Valid `auth` tokens and their expiry.
    pub tokens: HashMap<String, Instant>,
    /// Blobs by id.
    pub blobs: HashMap<String, Blob>,
    /// Sum of blob sizes.
    pub total: usize,
}

impl MediaStore {
    /// Keeps `data` as a blob of media type `kind` (an upload, or a blob the server
    /// makes itself such as an app-state snapshot) and returns its id and the
    /// `direct_path` it downloads from; `None` when the store would exceed `limit` bytes.
    pub(crate) fn keep(
        &mut self,
        kind: &str,
        data: Bytes,
        limit: usize,
    ) -> Option<(String, String)> {
        if self.total + data.len() > limit {
            return None;
        }
        let id = random_token(16);
        let oh = random_token(16);
        let direct_path = format!("/v/{kind}/{id}?oh={oh}");
        self.total += data.len();
        self.blobs.insert(
            id.clone(),
            Blob {
                kind: kind.to_owned(),
                oh,
                data,
            },
        );
        Some((id, direct_path))
    }
}

/// `<iq xmlns=w:m type=set><media_conn/>` → auth token + host.
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    if node.get_child("media_conn").is_none() {
        return Err(StanzaError::NotImplemented);
    }
    let ttl = ctx.state.cfg.media_auth_ttl;
    let now = Instant::now();
    let media = &mut ctx.state.media;
    media.tokens.retain(|_, exp| *exp > now);
    let auth = random_token(24);
    media.tokens.insert(auth.clone(), now + ttl);
    ctx.replies.push(
        iq_result(node).child(
            Node::new("media_conn")
                .attr("auth", auth)
                .attr("ttl", ttl.as_secs().to_string())
                .attr("auth_ttl", ttl.as_secs().to_string())
                .attr("max_buckets", "12")
                .child(Node::new("host").attr("hostname", ctx.state.media_host.clone())),
        ),
    );
    Ok(())
}

/// The HTTP routes, sharing the simulator state.
pub(crate) fn router(shared: Arc<Shared>, max_body: usize) -> axum::Router {
    axum::Router::new()
        .route("/mms/{kind}/{token}", post(upload))
        .route("/v/{kind}/{id}", get(download))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(shared)
}

fn refuse(code: StatusCode, why: &'static str) -> Response {
    warn!(status = code.as_u16(), why, "media request refused");
    (code, why).into_response()
}

/// The `fileEncSha256` named in the path: URL-safe base64, padded or not, possibly with
/// the padding percent-encoded.
fn path_hash(token: &str) -> Option<Vec<u8>> {
    let t = token.replace("%3D", "").replace("%3d", "");
    URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok()
}

async fn upload(
    AxState(shared): AxState<Arc<Shared>>,
    Path((kind, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut st = shared.lock();
    let authorized = q
        .get("auth")
        .and_then(|a| st.media.tokens.get(a))
        .is_some_and(|exp| *exp > Instant::now());
    if !authorized {
        return refuse(StatusCode::UNAUTHORIZED, "missing or expired auth");
    }
    let Some(hash) = path_hash(&token) else {
        return refuse(StatusCode::BAD_REQUEST, "path token is not base64url");
    };
    if Sha256::digest(&body).as_slice() != hash.as_slice() {
        return refuse(StatusCode::BAD_REQUEST, "body does not match fileEncSha256");
    }
    let limit = st.cfg.max_media_total;
    let bytes = body.len();
    let Some((id, direct_path)) = st.media.keep(&kind, body, limit) else {
        return refuse(StatusCode::INSUFFICIENT_STORAGE, "media store full");
    };
    let url = format!("http://{}{direct_path}", st.media_host);
    info!(kind = %kind, id = %id, bytes, "media uploaded");
    Json(serde_json::json!({ "url": url, "direct_path": direct_path, "handle": id }))
        .into_response()
}

async fn download(
    AxState(shared): AxState<Arc<Shared>>,
    Path((kind, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = shared.lock();
    let Some(blob) = st.media.blobs.get(&id).filter(|b| b.kind == kind) else {
        return refuse(StatusCode::NOT_FOUND, "no such media");
    };
    if q.get("oh") != Some(&blob.oh) {
        return refuse(StatusCode::FORBIDDEN, "bad download signature");
    }
    (StatusCode::OK, blob.data.clone()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_hash_accepts_padded_unpadded_and_percent_encoded() {
        let h = [0xfbu8; 32];
        let plain = URL_SAFE_NO_PAD.encode(h);
        assert_eq!(path_hash(&plain).as_deref(), Some(&h[..]));
        assert_eq!(path_hash(&format!("{plain}=")).as_deref(), Some(&h[..]));
        assert_eq!(path_hash(&format!("{plain}%3D")).as_deref(), Some(&h[..]));
        assert!(path_hash("not base64 !").is_none());
    }
}
