//! The internal endpoint: the WIT world `wa:gateway/connector` as JSON over HTTP.
//!
//! `POST /internal/v1/<interface>/<function>` with the arguments as a JSON array
//! in WIT order; the answer is the function's return value as JSON (a WIT
//! `result` is `{"Ok": …}` or `{"Err": …}`). Both sides serialize the types
//! generated from `wit/` with serde, so the encoding follows the contract.
//! Two functions move raw bytes instead of JSON: `media/put-media` takes the
//! file as the body (`?mime=` names its type) and `media/read-media` answers
//! with the file. See `docs/internal-api.md`.
//!
//! Hosted components reach this handler in-process; in the cloud mode the
//! connector's listener serves it to bearer-token holders (see `http_server`).

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Full, Limited};
use serde::Serialize;

use crate::gateway::Gateway;
use crate::gateway::bindings::wa::gateway::{
    accounts, chat_actions, contacts, groups, history, media, messaging, newsletters, webhooks,
};
use crate::gateway::media::MAX_MEDIA_BYTES;

/// Where the endpoint lives.
pub const PREFIX: &str = "/internal/v1/";
/// The largest JSON argument body accepted.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// The answer type of the endpoint.
pub type InternalResponse = http::Response<Full<Bytes>>;

/// Calls `$method` of the interface trait with the JSON array in `$body` as
/// its arguments (types inferred from the trait) and serializes what it returns.
macro_rules! call {
    // No arguments: any body (`[]`, `null`, nothing) will do.
    ($gateway:expr, $body:expr, $iface:ident :: $method:ident ()) => {{
        let _ = &$body;
        let mut gateway = $gateway.clone();
        json(&<Gateway as $iface::Host>::$method(&mut gateway).await)
    }};
    ($gateway:expr, $body:expr, $iface:ident :: $method:ident ( $($arg:ident),+ )) => {{
        let ($($arg,)+) = match parse_args(&$body) {
            Ok(args) => args,
            Err(why) => return error(StatusCode::BAD_REQUEST, &why),
        };
        let mut gateway = $gateway.clone();
        json(&<Gateway as $iface::Host>::$method(&mut gateway, $($arg),+).await)
    }};
}

/// Every function the endpoint serves, as `(interface, function)`; a test checks
/// it against the WIT world so that the two never drift apart.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("accounts", "info"),
    ("accounts", "list-accounts"),
    ("accounts", "get-account"),
    ("accounts", "create-account"),
    ("accounts", "delete-account"),
    ("accounts", "login-qr"),
    ("accounts", "login-code"),
    ("accounts", "logout"),
    ("accounts", "reconnect"),
    ("accounts", "get-privacy"),
    ("messaging", "send"),
    ("messaging", "send-presence"),
    ("messaging", "send-chat-presence"),
    ("messaging", "set-disappearing"),
    ("messaging", "mark-read"),
    ("messaging", "forward-message"),
    ("history", "list-chats"),
    ("history", "list-messages"),
    ("history", "get-message"),
    ("chat-actions", "star-message"),
    ("chat-actions", "delete-message-for-me"),
    ("chat-actions", "pin-chat"),
    ("chat-actions", "archive-chat"),
    ("chat-actions", "set-push-name"),
    ("media", "put-media"),
    ("media", "read-media"),
    ("media", "message-media"),
    ("groups", "create-group"),
    ("groups", "get-group"),
    ("groups", "list-groups"),
    ("groups", "update-participants"),
    ("groups", "set-group-name"),
    ("groups", "set-group-topic"),
    ("groups", "set-group-setting"),
    ("groups", "leave-group"),
    ("groups", "invite-link"),
    ("groups", "join-group"),
    ("groups", "preview-group"),
    ("groups", "list-join-requests"),
    ("groups", "answer-join-requests"),
    ("contacts", "check-users"),
    ("contacts", "get-devices"),
    ("contacts", "get-picture"),
    ("contacts", "set-picture"),
    ("contacts", "get-business-profile"),
    ("newsletters", "list-newsletters"),
    ("newsletters", "unfollow-newsletter"),
    ("webhooks", "events"),
    ("webhooks", "get-webhook"),
    ("webhooks", "set-webhook"),
    ("webhooks", "list-deliveries"),
    ("webhooks", "replay-delivery"),
    ("webhooks", "report-outcome"),
];

/// Answers one internal request.
pub async fn handle<B>(gateway: &Gateway, request: http::Request<B>) -> InternalResponse
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Some((interface, function)) = request
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('/'))
        .map(|(i, f)| (i.to_owned(), f.to_owned()))
    else {
        return error(StatusCode::NOT_FOUND, "no such internal path");
    };
    if !FUNCTIONS.contains(&(interface.as_str(), function.as_str())) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no function {interface}/{function} in the contract"),
        );
    }
    if request.method() != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, "internal calls are POST");
    }
    let raw_upload = (interface.as_str(), function.as_str()) == ("media", "put-media");
    let mime = raw_upload.then(|| query_param(request.uri(), "mime"));
    let limit = if raw_upload {
        MAX_MEDIA_BYTES as usize
    } else {
        MAX_JSON_BODY
    };
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than {limit} bytes"),
            );
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the body: {e}"),
            );
        }
    };
    if let Some(mime) = mime {
        let Some(mime) = mime else {
            return error(StatusCode::BAD_REQUEST, "put-media needs ?mime=<type>");
        };
        let mut gateway = gateway.clone();
        return json(&<Gateway as media::Host>::put_media(&mut gateway, mime, body.to_vec()).await);
    }
    dispatch(gateway, &interface, &function, body).await
}

async fn dispatch(
    gateway: &Gateway,
    interface: &str,
    function: &str,
    body: Bytes,
) -> InternalResponse {
    match (interface, function) {
        ("accounts", "info") => call!(gateway, body, accounts::info()),
        ("accounts", "list-accounts") => call!(gateway, body, accounts::list_accounts()),
        ("accounts", "get-account") => call!(gateway, body, accounts::get_account(id)),
        ("accounts", "create-account") => call!(gateway, body, accounts::create_account(id)),
        ("accounts", "delete-account") => call!(gateway, body, accounts::delete_account(id)),
        ("accounts", "login-qr") => call!(gateway, body, accounts::login_qr(id)),
        ("accounts", "login-code") => call!(gateway, body, accounts::login_code(id, phone)),
        ("accounts", "logout") => call!(gateway, body, accounts::logout(id)),
        ("accounts", "reconnect") => call!(gateway, body, accounts::reconnect(id)),
        ("accounts", "get-privacy") => call!(gateway, body, accounts::get_privacy(id)),
        ("messaging", "send") => call!(gateway, body, messaging::send(account, message)),
        ("history", "list-chats") => call!(gateway, body, history::list_chats(account, query)),
        ("history", "list-messages") => {
            call!(gateway, body, history::list_messages(account, query))
        }
        ("history", "get-message") => {
            call!(gateway, body, history::get_message(account, chat, id))
        }
        ("chat-actions", "star-message") => call!(
            gateway,
            body,
            chat_actions::star_message(account, chat, id, starred)
        ),
        ("chat-actions", "delete-message-for-me") => call!(
            gateway,
            body,
            chat_actions::delete_message_for_me(account, chat, id)
        ),
        ("chat-actions", "pin-chat") => {
            call!(gateway, body, chat_actions::pin_chat(account, chat, pinned))
        }
        ("chat-actions", "archive-chat") => call!(
            gateway,
            body,
            chat_actions::archive_chat(account, chat, archived)
        ),
        ("chat-actions", "set-push-name") => {
            call!(gateway, body, chat_actions::set_push_name(account, name))
        }
        ("media", "read-media") => {
            let (key,) = match parse_args(&body) {
                Ok(args) => args,
                Err(why) => return error(StatusCode::BAD_REQUEST, &why),
            };
            let mut gateway = gateway.clone();
            match <Gateway as media::Host>::read_media(&mut gateway, key).await {
                Ok(bytes) => respond(StatusCode::OK, "application/octet-stream", bytes.into()),
                Err(e) => json(&Err::<(), _>(e)),
            }
        }
        ("media", "message-media") => {
            call!(gateway, body, media::message_media(account, chat, id))
        }
        ("groups", "create-group") => {
            call!(
                gateway,
                body,
                groups::create_group(account, subject, members)
            )
        }
        ("groups", "get-group") => call!(gateway, body, groups::get_group(account, group)),
        ("groups", "update-participants") => call!(
            gateway,
            body,
            groups::update_participants(account, group, action, members)
        ),
        ("groups", "set-group-name") => {
            call!(gateway, body, groups::set_group_name(account, group, name))
        }
        ("groups", "set-group-topic") => {
            call!(
                gateway,
                body,
                groups::set_group_topic(account, group, topic)
            )
        }
        ("groups", "set-group-setting") => call!(
            gateway,
            body,
            groups::set_group_setting(account, group, setting, on)
        ),
        ("groups", "leave-group") => call!(gateway, body, groups::leave_group(account, group)),
        ("groups", "list-groups") => call!(gateway, body, groups::list_groups(account)),
        ("groups", "invite-link") => {
            call!(gateway, body, groups::invite_link(account, group, reset))
        }
        ("groups", "join-group") => call!(gateway, body, groups::join_group(account, link)),
        ("groups", "preview-group") => {
            call!(gateway, body, groups::preview_group(account, link))
        }
        ("groups", "list-join-requests") => {
            call!(gateway, body, groups::list_join_requests(account, group))
        }
        ("groups", "answer-join-requests") => call!(
            gateway,
            body,
            groups::answer_join_requests(account, group, approve, participants)
        ),
        ("messaging", "send-presence") => {
            call!(gateway, body, messaging::send_presence(account, available))
        }
        ("messaging", "send-chat-presence") => call!(
            gateway,
            body,
            messaging::send_chat_presence(account, chat, state)
        ),
        ("messaging", "set-disappearing") => {
            call!(
                gateway,
                body,
                messaging::set_disappearing(account, chat, seconds)
            )
        }
        ("messaging", "mark-read") => {
            call!(gateway, body, messaging::mark_read(account, chat, ids))
        }
        ("messaging", "forward-message") => {
            call!(gateway, body, messaging::forward_message(account, request))
        }
        ("contacts", "check-users") => call!(gateway, body, contacts::check_users(account, phones)),
        ("contacts", "get-devices") => call!(gateway, body, contacts::get_devices(account, users)),
        ("contacts", "get-picture") => {
            call!(
                gateway,
                body,
                contacts::get_picture(account, owner, preview)
            )
        }
        ("contacts", "set-picture") => {
            call!(gateway, body, contacts::set_picture(account, group, jpeg))
        }
        ("contacts", "get-business-profile") => {
            call!(gateway, body, contacts::get_business_profile(account, user))
        }
        ("newsletters", "list-newsletters") => {
            call!(gateway, body, newsletters::list_newsletters(account))
        }
        ("newsletters", "unfollow-newsletter") => {
            call!(
                gateway,
                body,
                newsletters::unfollow_newsletter(account, newsletter)
            )
        }
        ("webhooks", "events") => call!(gateway, body, webhooks::events(account, after, limit)),
        ("webhooks", "get-webhook") => call!(gateway, body, webhooks::get_webhook(account)),
        ("webhooks", "set-webhook") => {
            call!(gateway, body, webhooks::set_webhook(account, patch))
        }
        ("webhooks", "list-deliveries") => call!(gateway, body, webhooks::list_deliveries(query)),
        ("webhooks", "replay-delivery") => call!(gateway, body, webhooks::replay_delivery(id)),
        ("webhooks", "report-outcome") => {
            call!(
                gateway,
                body,
                webhooks::report_outcome(id, attempt, outcome)
            )
        }
        _ => error(StatusCode::NOT_FOUND, "no such function"),
    }
}

/// Arguments arrive as a JSON array in WIT order.
fn parse_args<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("the arguments do not match the contract: {e}"))
}

fn query_param(uri: &http::Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn json(value: &impl Serialize) -> InternalResponse {
    match serde_json::to_vec(value) {
        Ok(body) => respond(StatusCode::OK, "application/json", body.into()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot encode the answer: {e}"),
        ),
    }
}

/// A failure of the call itself (not of the function): `{"error": "…"}`.
fn error(status: StatusCode, message: &str) -> InternalResponse {
    let body = serde_json::json!({ "error": message }).to_string();
    respond(status, "application/json", body.into())
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> InternalResponse {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
