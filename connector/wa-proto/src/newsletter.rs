//! Newsletters (WhatsApp channels) through `w:mex`, the iq namespace that
//! carries WhatsApp's GraphQL: a `<query query_id>` holding the JSON
//! `{"variables": …}` goes out, a `<result>` holding the JSON `{"data": …}`
//! (or `{"errors": […]}`) comes back.
//!
//! Covered: the channels the account follows, and unfollowing one. The query
//! ids are the web client's; the server side ([`newsletter_json`],
//! [`mex_result`], [`mex_error`]) is here too, for servers (the simulator).

use serde_json::{Value as Json, json};

use crate::binary::jid::USER_SERVER;
use crate::binary::{Jid, Node};
use crate::stanza::{StanzaError, check_iq, iq, req_attr, req_child};

/// The iq namespace of WhatsApp's GraphQL queries.
pub const MEX_XMLNS: &str = "w:mex";
/// The query listing the newsletters the account follows (no variables).
pub const SUBSCRIBED_QUERY_ID: &str = "6388546374527196";
/// The mutation that unfollows one (`newsletter_id`).
pub const UNFOLLOW_QUERY_ID: &str = "6392786840836363";
/// Where the subscribed list is in the answer's `data`.
pub const SUBSCRIBED_FIELD: &str = "xwa2_newsletter_subscribed";
/// Where the unfollow answer is in `data`.
pub const UNFOLLOW_FIELD: &str = "xwa2_newsletter_unfollow";

/// A text of a newsletter (its name, its description) with its revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewsletterText {
    /// The text.
    pub text: String,
    /// The revision's id.
    pub id: String,
    /// When it was last changed, in microseconds since the epoch.
    pub update_time_us: u64,
}

/// A newsletter's picture (or its small preview).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewsletterPicture {
    /// The picture's id.
    pub id: String,
    /// `IMAGE` or `PREVIEW`.
    pub kind: String,
    /// Where it is on the media hosts.
    pub direct_path: String,
    /// A full URL, when the server gives one.
    pub url: String,
}

/// What the account itself is to a newsletter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewsletterViewer {
    /// Whether the account muted its updates.
    pub muted: bool,
    /// `subscriber`, `guest`, `admin` or `owner`.
    pub role: String,
}

/// A newsletter as its follower sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newsletter {
    /// `…@newsletter`.
    pub id: Jid,
    /// `active`, `suspended` or `geosuspended`.
    pub state: String,
    /// Its name.
    pub name: NewsletterText,
    /// Its description.
    pub description: NewsletterText,
    /// The code of its invite link (`https://whatsapp.com/channel/<code>`).
    pub invite: String,
    /// How many accounts follow it.
    pub subscribers: u64,
    /// `verified` or `unverified`.
    pub verification: String,
    /// When it was created, in seconds since the epoch.
    pub creation_time: u64,
    /// Its picture.
    pub picture: Option<NewsletterPicture>,
    /// Its picture's preview.
    pub preview: Option<NewsletterPicture>,
    /// Which reactions followers may send (`ALL`, `BASIC`, `NONE`, `BLOCKLIST`).
    pub reaction_codes: Option<String>,
    /// The account's own relation to it.
    pub viewer: Option<NewsletterViewer>,
}

/// `<iq xmlns=w:mex type=get to=s.whatsapp.net><query query_id>{"variables":…}`.
fn mex_query(iq_id: &str, query_id: &str, variables: Json) -> Node {
    iq(iq_id, MEX_XMLNS, "get", Jid::server(USER_SERVER)).child(
        Node::new("query")
            .attr("query_id", query_id)
            .bytes(json!({ "variables": variables }).to_string()),
    )
}

/// The newsletters the account follows. Answer: [`parse_subscribed`].
pub fn query_subscribed(iq_id: &str) -> Node {
    mex_query(iq_id, SUBSCRIBED_QUERY_ID, json!({}))
}

/// Unfollows `newsletter`. Answer: [`parse_unfollow`].
pub fn unfollow(iq_id: &str, newsletter: &Jid) -> Node {
    mex_query(
        iq_id,
        UNFOLLOW_QUERY_ID,
        json!({ "newsletter_id": newsletter.to_string() }),
    )
}

/// The `data` of a `w:mex` answer; a GraphQL error is a [`StanzaError::Server`]
/// with its `error_code` (e.g. `404`) and message.
fn mex_data(result: &Node) -> Result<Json, StanzaError> {
    check_iq(result)?;
    let body = req_child(result, "result")?
        .content_bytes()
        .unwrap_or_default();
    let mut answer: Json =
        serde_json::from_slice(body).map_err(|e| StanzaError::BadJson(e.to_string()))?;
    if let Some(error) = answer
        .get("errors")
        .and_then(Json::as_array)
        .and_then(|errors| errors.first())
    {
        return Err(StanzaError::Server {
            code: error["extensions"]["error_code"]
                .as_i64()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            text: error["message"].as_str().map(str::to_owned),
        });
    }
    Ok(answer["data"].take())
}

/// Reads the answer to [`query_subscribed`].
pub fn parse_subscribed(result: &Node) -> Result<Vec<Newsletter>, StanzaError> {
    let data = mex_data(result)?;
    match &data[SUBSCRIBED_FIELD] {
        Json::Null => Ok(Vec::new()),
        Json::Array(items) => items.iter().map(parse_newsletter).collect(),
        other => Err(StanzaError::BadValue {
            field: SUBSCRIBED_FIELD,
            value: other.to_string(),
        }),
    }
}

/// Reads the answer to [`unfollow`]: it fails only with the server's error.
pub fn parse_unfollow(result: &Node) -> Result<(), StanzaError> {
    mex_data(result).map(|_| ())
}

/// A string field, also when the server writes a number.
fn text_of(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// A number the server writes as a string (or as a number); absent is 0.
fn number_of(field: &'static str, value: &Json) -> Result<u64, StanzaError> {
    match value {
        Json::Null => Ok(0),
        Json::Number(n) => n.as_u64().ok_or_else(|| StanzaError::BadValue {
            field,
            value: n.to_string(),
        }),
        Json::String(s) if s.is_empty() => Ok(0),
        Json::String(s) => s.parse().map_err(|_| StanzaError::BadValue {
            field,
            value: s.clone(),
        }),
        other => Err(StanzaError::BadValue {
            field,
            value: other.to_string(),
        }),
    }
}

fn parse_text(field: &'static str, value: &Json) -> Result<NewsletterText, StanzaError> {
    Ok(NewsletterText {
        text: text_of(&value["text"]),
        id: text_of(&value["id"]),
        update_time_us: number_of(field, &value["update_time"])?,
    })
}

fn parse_picture(value: &Json) -> Option<NewsletterPicture> {
    value.is_object().then(|| NewsletterPicture {
        id: text_of(&value["id"]),
        kind: text_of(&value["type"]),
        direct_path: text_of(&value["direct_path"]),
        url: text_of(&value["url"]),
    })
}

/// One newsletter of a `w:mex` answer.
fn parse_newsletter(value: &Json) -> Result<Newsletter, StanzaError> {
    let id_text = value["id"].as_str().unwrap_or_default();
    let id: Jid = id_text
        .parse()
        .ok()
        .filter(Jid::is_newsletter)
        .ok_or_else(|| StanzaError::BadValue {
            field: "newsletter id",
            value: id_text.to_owned(),
        })?;
    let thread = &value["thread_metadata"];
    let viewer = &value["viewer_metadata"];
    Ok(Newsletter {
        id,
        state: text_of(&value["state"]["type"]).to_lowercase(),
        name: parse_text("name update_time", &thread["name"])?,
        description: parse_text("description update_time", &thread["description"])?,
        invite: text_of(&thread["invite"]),
        subscribers: number_of("subscribers_count", &thread["subscribers_count"])?,
        verification: text_of(&thread["verification"]).to_lowercase(),
        creation_time: number_of("creation_time", &thread["creation_time"])?,
        picture: parse_picture(&thread["picture"]),
        preview: parse_picture(&thread["preview"]),
        reaction_codes: thread["settings"]["reaction_codes"]["value"]
            .as_str()
            .map(str::to_owned),
        viewer: viewer.is_object().then(|| NewsletterViewer {
            muted: text_of(&viewer["mute"]).eq_ignore_ascii_case("on"),
            role: text_of(&viewer["role"]).to_lowercase(),
        }),
    })
}

/// A newsletter as the server writes it in a `w:mex` answer (numbers as
/// strings, as WhatsApp does). The counterpart of [`parse_subscribed`].
pub fn newsletter_json(n: &Newsletter) -> Json {
    let text = |t: &NewsletterText| json!({ "text": t.text, "id": t.id, "update_time": t.update_time_us.to_string() });
    let picture = |p: &Option<NewsletterPicture>| match p {
        Some(p) => json!({
            "id": p.id, "type": p.kind, "direct_path": p.direct_path, "url": p.url,
        }),
        None => Json::Null,
    };
    let mut thread = json!({
        "creation_time": n.creation_time.to_string(),
        "invite": n.invite,
        "name": text(&n.name),
        "description": text(&n.description),
        "subscribers_count": n.subscribers.to_string(),
        "verification": n.verification.to_uppercase(),
        "picture": picture(&n.picture),
        "preview": picture(&n.preview),
    });
    if let Some(codes) = &n.reaction_codes {
        thread["settings"] = json!({ "reaction_codes": { "value": codes } });
    }
    json!({
        "id": n.id.to_string(),
        "state": { "type": n.state.to_uppercase() },
        "thread_metadata": thread,
        "viewer_metadata": n.viewer.as_ref().map(|v| json!({
            "mute": if v.muted { "on" } else { "off" },
            "role": v.role.to_uppercase(),
        })),
    })
}

/// A `w:mex` query as a server reads it: the query id and its variables.
pub fn parse_mex_query(node: &Node) -> Result<(String, Json), StanzaError> {
    let query = req_child(node, "query")?;
    let query_id = req_attr(query, "query_id")?;
    let body: Json = serde_json::from_slice(query.content_bytes().unwrap_or_default())
        .map_err(|e| StanzaError::BadJson(e.to_string()))?;
    Ok((query_id, body["variables"].clone()))
}

/// The `<result>` a server answers a `w:mex` query with: `data` under `field`.
pub fn mex_result(field: &str, data: Json) -> Node {
    Node::new("result").bytes(json!({ "data": { field: data } }).to_string())
}

/// The `<result>` carrying a GraphQL error (`code` like `404`).
pub fn mex_error(code: i64, message: &str) -> Node {
    Node::new("result").bytes(
        json!({
            "data": null,
            "errors": [{ "message": message, "extensions": { "error_code": code } }],
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Newsletter {
        Newsletter {
            id: "120363144038483540@newsletter".parse().unwrap(),
            state: "active".into(),
            name: NewsletterText {
                text: "Rust news".into(),
                id: "1688746895480511".into(),
                update_time_us: 1_688_746_895_480_511,
            },
            description: NewsletterText {
                text: "Weekly".into(),
                id: "1689653839450668".into(),
                update_time_us: 1_689_653_839_450_668,
            },
            invite: "0029Va4K0PZ5a245NkngBA2M".into(),
            subscribers: 1234,
            verification: "verified".into(),
            creation_time: 1_688_746_895,
            picture: Some(NewsletterPicture {
                id: "1707950960975554".into(),
                kind: "IMAGE".into(),
                direct_path: "/v/t61.24694-24/1_n.jpg".into(),
                url: String::new(),
            }),
            preview: None,
            reaction_codes: Some("ALL".into()),
            viewer: Some(NewsletterViewer {
                muted: true,
                role: "subscriber".into(),
            }),
        }
    }

    /// The answer a server would send to `query`.
    fn answered(query: &Node, result: Node) -> Node {
        Node::new("iq")
            .attr("id", query.attr_str("id").unwrap().into_owned())
            .attr("type", "result")
            .child(result)
    }

    #[test]
    fn subscribed_query_shape_and_round_trip() {
        let q = query_subscribed("7");
        assert_eq!(q.attr_str("xmlns").as_deref(), Some("w:mex"));
        assert_eq!(q.attr_str("type").as_deref(), Some("get"));
        assert_eq!(q.attr_str("to").as_deref(), Some("s.whatsapp.net"));
        let (id, variables) = parse_mex_query(&q).unwrap();
        assert_eq!((id.as_str(), variables), (SUBSCRIBED_QUERY_ID, json!({})));

        let list = Json::Array(vec![newsletter_json(&channel())]);
        let parsed = parse_subscribed(&answered(&q, mex_result(SUBSCRIBED_FIELD, list))).unwrap();
        assert_eq!(parsed, vec![channel()]);
        // Nothing followed: an empty list, or no list at all.
        for empty in [json!([]), Json::Null] {
            let answer = answered(&q, mex_result(SUBSCRIBED_FIELD, empty));
            assert_eq!(parse_subscribed(&answer).unwrap(), vec![]);
        }
    }

    #[test]
    fn numbers_come_as_strings_or_numbers_and_minimal_entries_parse() {
        let q = query_subscribed("8");
        let entry = json!({
            "id": "120363000000000099@newsletter",
            "thread_metadata": { "subscribers_count": 5, "creation_time": "17" },
        });
        let parsed =
            parse_subscribed(&answered(&q, mex_result(SUBSCRIBED_FIELD, json!([entry])))).unwrap();
        assert_eq!((parsed[0].subscribers, parsed[0].creation_time), (5, 17));
        assert_eq!(
            (parsed[0].picture.clone(), parsed[0].viewer.clone()),
            (None, None)
        );

        let bad = json!([{ "id": "15550001111@s.whatsapp.net" }]);
        assert!(matches!(
            parse_subscribed(&answered(&q, mex_result(SUBSCRIBED_FIELD, bad))),
            Err(StanzaError::BadValue {
                field: "newsletter id",
                ..
            })
        ));
        let bad =
            json!([{ "id": "1@newsletter", "thread_metadata": { "subscribers_count": "many" } }]);
        assert!(parse_subscribed(&answered(&q, mex_result(SUBSCRIBED_FIELD, bad))).is_err());
        let garbage = answered(&q, Node::new("result").bytes(b"{not json".to_vec()));
        assert!(matches!(
            parse_subscribed(&garbage),
            Err(StanzaError::BadJson(_))
        ));
    }

    #[test]
    fn unfollow_carries_the_id_and_graphql_errors_surface() {
        let jid: Jid = "120363144038483540@newsletter".parse().unwrap();
        let q = unfollow("9", &jid);
        let (id, variables) = parse_mex_query(&q).unwrap();
        assert_eq!(id, UNFOLLOW_QUERY_ID);
        assert_eq!(variables, json!({ "newsletter_id": jid.to_string() }));

        let ok = answered(
            &q,
            mex_result(UNFOLLOW_FIELD, json!({ "id": jid.to_string() })),
        );
        assert_eq!(parse_unfollow(&ok), Ok(()));
        let refused = answered(&q, mex_error(404, "newsletter not found"));
        assert_eq!(
            parse_unfollow(&refused),
            Err(StanzaError::Server {
                code: "404".into(),
                text: Some("newsletter not found".into()),
            })
        );
        let iq_error = Node::new("iq").attr("type", "error").child(
            Node::new("error")
                .attr("code", "400")
                .attr("text", "bad-request"),
        );
        assert!(matches!(
            parse_unfollow(&iq_error),
            Err(StanzaError::Server { code, .. }) if code == "400"
        ));
    }
}
