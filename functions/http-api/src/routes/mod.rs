//! The route table: which handler answers which method and path, one module
//! per feature.

mod app;
mod business;
mod chat_actions;
mod chats;
mod dashboard;
mod devices;
mod forward;
mod group_export;
mod group_requests;
mod groups;
mod message;
mod newsletters;
mod pictures;
mod presence;
mod send;
mod users;
mod webhooks;

use http::{HeaderMap, Method, StatusCode};
use spin_sdk::http::Request;

use crate::bindings::wa::gateway::types::GroupSetting;
use crate::connector::Connector;
use crate::envelope::ApiResponse;
use crate::error::{ApiError, ApiResult};
use crate::input::Input;

/// Every route the API serves, as `(method, pattern)`; `{name}` matches one
/// path segment. `functions/http-api/openapi.json` must list exactly these (a
/// test in `tests/stack` checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/app/info"),
    ("GET", "/app/status"),
    ("GET", "/app/login"),
    ("GET", "/app/login/qr.png"),
    ("GET", "/app/login-with-code"),
    ("GET", "/app/logout"),
    ("GET", "/app/reconnect"),
    ("GET", "/app/devices"),
    ("GET", "/devices"),
    ("POST", "/devices"),
    ("GET", "/devices/{id}"),
    ("DELETE", "/devices/{id}"),
    ("GET", "/devices/{id}/login"),
    ("POST", "/devices/{id}/login/code"),
    ("POST", "/devices/{id}/logout"),
    ("POST", "/devices/{id}/reconnect"),
    ("GET", "/devices/{id}/status"),
    ("GET", "/devices/{id}/webhook"),
    ("PATCH", "/devices/{id}/webhook"),
    ("POST", "/send/message"),
    ("POST", "/send/text"),
    ("POST", "/send/image"),
    ("POST", "/send/file"),
    ("POST", "/send/video"),
    ("POST", "/send/audio"),
    ("POST", "/send/sticker"),
    ("POST", "/send/contact"),
    ("POST", "/send/link"),
    ("POST", "/send/location"),
    ("POST", "/send/poll"),
    ("POST", "/send/presence"),
    ("POST", "/send/chat-presence"),
    ("POST", "/message/{id}/read"),
    ("POST", "/message/{id}/reaction"),
    ("POST", "/message/{id}/revoke"),
    ("POST", "/message/{id}/update"),
    ("GET", "/message/{id}/download"),
    ("POST", "/message/{id}/star"),
    ("POST", "/message/{id}/unstar"),
    ("POST", "/message/{id}/delete"),
    ("POST", "/message/{id}/forward"),
    ("GET", "/user/check"),
    ("GET", "/user/info"),
    ("GET", "/user/business-profile"),
    ("GET", "/user/avatar"),
    ("POST", "/user/avatar"),
    ("GET", "/user/my/groups"),
    ("GET", "/user/my/privacy"),
    ("GET", "/user/my/contacts"),
    ("GET", "/user/my/newsletters"),
    ("POST", "/newsletter/unfollow"),
    ("POST", "/user/pushname"),
    ("GET", "/chats"),
    ("GET", "/chat/{jid}/messages"),
    ("POST", "/chat/{jid}/disappearing"),
    ("POST", "/chat/{jid}/pin"),
    ("POST", "/chat/{jid}/archive"),
    ("POST", "/group"),
    ("GET", "/group/info"),
    ("GET", "/group/participants"),
    ("GET", "/group/participants/export"),
    ("POST", "/group/participants"),
    ("POST", "/group/participants/remove"),
    ("POST", "/group/participants/promote"),
    ("POST", "/group/participants/demote"),
    ("GET", "/group/participant-requests"),
    ("POST", "/group/participant-requests/approve"),
    ("POST", "/group/participant-requests/reject"),
    ("POST", "/group/leave"),
    ("POST", "/group/photo"),
    ("POST", "/group/name"),
    ("POST", "/group/topic"),
    ("POST", "/group/locked"),
    ("POST", "/group/announce"),
    ("GET", "/group/invite-link"),
    ("POST", "/group/join-with-link"),
    ("GET", "/group/info-from-link"),
    ("GET", "/events"),
    ("GET", "/webhook/deliveries"),
    ("POST", "/webhook/deliveries/{id}/replay"),
    ("GET", "/openapi.json"),
];

/// What a handler gets: the request's parts, the connector, and the path's
/// `{…}` segment when the pattern has one.
pub struct Call {
    /// The connector's interfaces.
    pub connector: Connector,
    /// Method, URI and headers.
    pub method: Method,
    /// The URI (query fields come from here).
    pub uri: http::Uri,
    /// The request headers.
    pub headers: HeaderMap,
    /// The value of the pattern's `{…}` segment, percent-decoded.
    pub param: String,
    request: Option<Request>,
}

impl Call {
    /// The query string's fields.
    pub fn query(&self) -> Input {
        Input::query(&self.uri)
    }

    /// Reads the body's fields (JSON, multipart or urlencoded), at most `limit` bytes.
    pub async fn body(&mut self, limit: usize) -> ApiResult<Input> {
        let request = self
            .request
            .take()
            .ok_or_else(|| ApiError::internal("the body was already read"))?;
        let (_, input) = Input::read(request, limit).await?;
        Ok(input)
    }

    /// The device the client names: `X-Device-Id`, else `?device_id=` (blank
    /// values name nothing).
    pub fn named_device(&self) -> Option<String> {
        self.headers
            .get("x-device-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or_else(|| self.query().optional("device_id"))
    }

    /// The account the request is for: the named one, else the only account
    /// when there is exactly one (GOWA's rule).
    pub async fn device(&self) -> ApiResult<String> {
        if let Some(id) = self.named_device() {
            return devices::existing(&self.connector, &id).await;
        }
        let accounts = devices::list(&self.connector).await?;
        match accounts.as_slice() {
            [only] => Ok(only.id.clone()),
            [] => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "DEVICE_NOT_FOUND",
                "no device exists yet: create one with POST /devices or log in with GET /app/login",
            )),
            _ => Err(ApiError::validation(
                "several devices exist: name one with the X-Device-Id header or ?device_id=",
            )
            .with_code("DEVICE_ID_REQUIRED")),
        }
    }

    /// The externally visible base URL (`scheme://host`), for links in answers.
    pub fn base_url(&self) -> String {
        let header = |name: &str| {
            self.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        // wasi:http carries the authority in the URI, not as a `Host` header.
        let scheme = header("x-forwarded-proto")
            .or_else(|| self.uri.scheme_str().map(str::to_owned))
            .unwrap_or_else(|| "http".into());
        let host = header("x-forwarded-host")
            .or_else(|| self.uri.authority().map(|a| a.to_string()))
            .or_else(|| header("host"))
            .unwrap_or_else(|| "localhost".into());
        let base_path = crate::settings::get("APP_BASE_PATH").unwrap_or_default();
        format!("{scheme}://{host}{}", base_path.trim_end_matches('/'))
    }
}

/// Answers one request; unknown paths and methods get the envelope too.
pub async fn dispatch(request: Request) -> ApiResponse {
    let path = request.uri().path().to_owned();
    let path = crate::settings::non_empty("APP_BASE_PATH")
        .and_then(|base| {
            path.strip_prefix(base.trim_end_matches('/'))
                .map(str::to_owned)
        })
        .unwrap_or(path);
    if let Some(refusal) = crate::auth::check(&path, request.headers()) {
        return refusal;
    }
    let method = request.method().clone();
    let Some((pattern, param)) = match_route(method.as_str(), &path) else {
        let known_path = ROUTES.iter().any(|(_, p)| matches(p, &path).is_some());
        return if known_path {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{method} is not allowed on {path}"),
            )
        } else {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("no route for {method} {path}"),
            )
        }
        .into_response();
    };
    let mut call = Call {
        connector: Connector::from_env(),
        method,
        uri: request.uri().clone(),
        headers: request.headers().clone(),
        param,
        request: Some(request),
    };
    let answer = match pattern {
        "/" => dashboard::page(),
        "/health" => app::health(),
        "/app/info" => app::info(&call).await,
        "/app/status" => app::status(&call).await,
        "/app/login" => app::login(&call).await,
        "/app/login/qr.png" => app::qr_png(&call).await,
        "/app/login-with-code" => app::login_with_code(&call).await,
        "/app/logout" => app::logout(&call).await,
        "/app/reconnect" => app::reconnect(&call).await,
        "/app/devices" => app::devices(&call).await,
        "/devices" if call.method == Method::GET => devices::list_route(&call).await,
        "/devices" => devices::create(&mut call).await,
        "/devices/{id}" if call.method == Method::GET => devices::get(&call).await,
        "/devices/{id}" => devices::delete(&call).await,
        "/devices/{id}/login" => devices::login(&call).await,
        "/devices/{id}/login/code" => devices::login_code(&mut call).await,
        "/devices/{id}/logout" => devices::logout(&call).await,
        "/devices/{id}/reconnect" => devices::reconnect(&call).await,
        "/devices/{id}/status" => devices::status(&call).await,
        "/devices/{id}/webhook" if call.method == Method::GET => webhooks::get(&call).await,
        "/devices/{id}/webhook" => webhooks::patch(&mut call).await,
        "/send/message" | "/send/text" => send::message(&mut call).await,
        "/send/image" => send::image(&mut call).await,
        "/send/file" => send::file(&mut call).await,
        "/send/video" => send::video(&mut call).await,
        "/send/audio" => send::audio(&mut call).await,
        "/send/sticker" => send::sticker(&mut call).await,
        "/send/contact" => send::contact(&mut call).await,
        "/send/link" => send::link(&mut call).await,
        "/send/location" => send::location(&mut call).await,
        "/send/poll" => send::poll(&mut call).await,
        "/send/presence" => presence::presence(&mut call).await,
        "/send/chat-presence" => presence::chat_presence(&mut call).await,
        "/message/{id}/read" => message::read(&mut call).await,
        "/message/{id}/reaction" => message::reaction(&mut call).await,
        "/user/check" => users::check(&call).await,
        "/user/info" => users::info(&call).await,
        "/user/business-profile" => business::profile(&call).await,
        "/user/avatar" if call.method == Method::GET => pictures::get(&call).await,
        "/user/avatar" => pictures::set_own(&mut call).await,
        "/group/photo" => pictures::set_group(&mut call).await,
        "/user/my/groups" => users::my_groups(&call).await,
        "/user/my/privacy" => users::my_privacy(&call).await,
        "/user/my/contacts" => users::my_contacts(&call).await,
        "/user/my/newsletters" => newsletters::list(&call).await,
        "/newsletter/unfollow" => newsletters::unfollow(&mut call).await,
        "/message/{id}/revoke" => message::revoke(&mut call).await,
        "/message/{id}/update" => message::update(&mut call).await,
        "/message/{id}/download" => message::download(&call).await,
        "/message/{id}/star" => chat_actions::star(&mut call, true).await,
        "/message/{id}/unstar" => chat_actions::star(&mut call, false).await,
        "/message/{id}/delete" => chat_actions::delete_for_me(&mut call).await,
        "/message/{id}/forward" => forward::forward(&mut call).await,
        "/chat/{jid}/pin" => chat_actions::pin(&mut call).await,
        "/chat/{jid}/archive" => chat_actions::archive(&mut call).await,
        "/user/pushname" => chat_actions::push_name(&mut call).await,
        "/chats" => chats::list(&call).await,
        "/chat/{jid}/messages" => chats::messages(&call).await,
        "/chat/{jid}/disappearing" => chats::disappearing(&mut call).await,
        "/group" => groups::create(&mut call).await,
        "/group/info" => groups::info(&call).await,
        "/group/participants" if call.method == Method::GET => {
            groups::list_participants(&call).await
        }
        "/group/participants" => groups::participants(&mut call, "add").await,
        "/group/participants/export" => group_export::export(&call).await,
        "/group/participants/remove" => groups::participants(&mut call, "remove").await,
        "/group/participants/promote" => groups::participants(&mut call, "promote").await,
        "/group/participants/demote" => groups::participants(&mut call, "demote").await,
        "/group/participant-requests" => group_requests::list(&call).await,
        "/group/participant-requests/approve" => group_requests::answer(&mut call, true).await,
        "/group/participant-requests/reject" => group_requests::answer(&mut call, false).await,
        "/group/leave" => groups::leave(&mut call).await,
        "/group/name" => groups::name(&mut call).await,
        "/group/topic" => groups::topic(&mut call).await,
        "/group/locked" => groups::setting(&mut call, GroupSetting::Locked).await,
        "/group/announce" => groups::setting(&mut call, GroupSetting::Announce).await,
        "/group/invite-link" => groups::invite_link(&call).await,
        "/group/join-with-link" => groups::join_with_link(&mut call).await,
        "/group/info-from-link" => groups::info_from_link(&call).await,
        "/events" => webhooks::events(&call).await,
        "/webhook/deliveries" => webhooks::deliveries(&call).await,
        "/webhook/deliveries/{id}/replay" => webhooks::replay(&call).await,
        "/openapi.json" => Ok(app::openapi()),
        _ => Err(ApiError::internal(format!(
            "route {pattern} has no handler"
        ))),
    };
    answer.unwrap_or_else(ApiError::into_response)
}

fn match_route(method: &str, path: &str) -> Option<(&'static str, String)> {
    ROUTES
        .iter()
        .filter(|(m, _)| *m == method)
        .find_map(|(_, pattern)| matches(pattern, path).map(|param| (*pattern, param)))
}

/// Whether `path` fits `pattern`; the `{…}` segment's value when it does.
fn matches(pattern: &str, path: &str) -> Option<String> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut pattern_parts = pattern.split('/');
    let mut path_parts = path.split('/');
    let mut param = String::new();
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return Some(param),
            (Some(p), Some(s)) if p.starts_with('{') => {
                if s.is_empty() {
                    return None;
                }
                param = crate::input::percent_decode(s.as_bytes());
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return None,
        }
    }
}
