//! Media hosts and upload paths: the `media_conn` iq hands out an auth token and the
//! hosts that take uploads and serve downloads; uploads go to
//! `/mms/{type}/{token}?auth=…&token=…` and answer with JSON.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::binary::{Jid, Node};
use crate::media::MediaType;
use crate::stanza::{StanzaError, iq, req_attr, req_num_attr, self_or_child};

/// `<iq xmlns=w:m type=set><media_conn/></iq>`: asks for upload auth and media hosts.
pub fn media_conn_query(iq_id: &str) -> Node {
    iq(iq_id, "w:m", "set", Jid::server_jid()).child(Node::new("media_conn"))
}

/// Upload auth and hosts, valid for `ttl_secs` after they were fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConn {
    /// The token uploads present as `auth`.
    pub auth: String,
    /// How long to reuse this answer before asking again.
    pub ttl_secs: u64,
    /// Host names (with port, if any) in the server's order of preference.
    pub hosts: Vec<String>,
}

/// Reads the answer to [`media_conn_query`] (the iq or its `<media_conn>`). An answer
/// without hosts is an error: nothing could be uploaded.
pub fn parse_media_conn(result: &Node) -> Result<MediaConn, StanzaError> {
    let mc = self_or_child(result, "media_conn")?;
    let hosts = mc
        .children_by_tag("host")
        .map(|h| req_attr(h, "hostname"))
        .collect::<Result<Vec<_>, _>>()?;
    if hosts.is_empty() {
        return Err(StanzaError::MissingChild("host"));
    }
    Ok(MediaConn {
        auth: req_attr(mc, "auth")?,
        ttl_secs: req_num_attr(mc, "ttl")?,
        hosts,
    })
}

/// The type segment of upload paths. Stickers upload as `image` and voice notes as
/// `audio`; the types clients never upload themselves fall back to their stanza names.
pub fn mms_type(media_type: MediaType) -> &'static str {
    match media_type {
        MediaType::Image | MediaType::Sticker => "image",
        MediaType::Video => "video",
        MediaType::Audio => "audio",
        MediaType::Document => "document",
        MediaType::History => "md-msg-hist",
        MediaType::AppState => "md-app-state",
        MediaType::LinkThumbnail => "thumbnail-link",
        MediaType::ImageThumbnail => "thumbnail-image",
        MediaType::VideoThumbnail => "thumbnail-video",
        MediaType::DocumentThumbnail => "thumbnail-document",
        MediaType::PaymentBackground => "payment-bg-image",
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (auth tokens may hold
/// `+`, `/`, `=`).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path and query to `POST` an encrypted body to (prefix a media host):
/// `/mms/{type}/{token}?auth={auth}&token={token}`, the token being the unpadded
/// URL-safe base64 of the body's SHA-256.
pub fn upload_path(media_type: MediaType, file_enc_sha256: &[u8], auth: &str) -> String {
    let token = URL_SAFE_NO_PAD.encode(file_enc_sha256);
    format!(
        "/mms/{}/{token}?auth={}&token={token}",
        mms_type(media_type),
        query_escape(auth)
    )
}

/// The URL of a `direct_path` on `host` (`scheme` is `https` against WhatsApp, `http`
/// against the simulator).
pub fn download_url(host: &str, direct_path: &str, scheme: &str) -> String {
    let sep = if direct_path.starts_with('/') {
        ""
    } else {
        "/"
    };
    format!("{scheme}://{host}{sep}{direct_path}")
}

/// Where an upload landed, to put into the media message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadResponse {
    /// Full download URL.
    pub url: String,
    /// Host-independent path (what recipients download through their own hosts).
    pub direct_path: String,
}

/// Reads the JSON body of a successful upload (`{"url", "direct_path", …}`).
pub fn parse_upload_response(body: &[u8]) -> Result<UploadResponse, StanzaError> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| StanzaError::BadJson(e.to_string()))?;
    let field = |name: &str| {
        v.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| StanzaError::BadJson(format!("no string field {name:?}")))
    };
    Ok(UploadResponse {
        url: field("url")?,
        direct_path: field("direct_path")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    #[test]
    fn query_and_simulator_answer() {
        assert_eq!(
            wire(media_conn_query("m1")).to_string(),
            "<iq id=\"m1\" xmlns=\"w:m\" type=\"set\" to=\"s.whatsapp.net\"><media_conn/></iq>"
        );
        let answer = wire(
            Node::new("iq")
                .attr("id", "m1")
                .attr("type", "result")
                .child(
                    Node::new("media_conn")
                        .attr("auth", "AbC+/=")
                        .attr("ttl", "300")
                        .attr("auth_ttl", "300")
                        .attr("max_buckets", "12")
                        .children([
                            Node::new("host").attr("hostname", "127.0.0.1:40123"),
                            Node::new("host").attr("hostname", "mmg.whatsapp.net"),
                        ]),
                ),
        );
        assert_eq!(
            parse_media_conn(&answer).unwrap(),
            MediaConn {
                auth: "AbC+/=".into(),
                ttl_secs: 300,
                hosts: vec!["127.0.0.1:40123".into(), "mmg.whatsapp.net".into()],
            }
        );
    }

    #[test]
    fn malformed_media_conn() {
        let mc = |n: Node| parse_media_conn(&Node::new("iq").child(n));
        let full = Node::new("media_conn").attr("auth", "a").attr("ttl", "5");
        assert_eq!(mc(full.clone()), Err(StanzaError::MissingChild("host")));
        let host = Node::new("host").attr("hostname", "h");
        assert_eq!(
            mc(Node::new("media_conn").attr("ttl", "5").child(host.clone())),
            Err(StanzaError::MissingAttr("auth"))
        );
        assert!(matches!(
            mc(full.clone().attr("ttl", "soon").child(host)),
            Err(StanzaError::BadValue { field: "ttl", .. })
        ));
        assert_eq!(
            mc(full.child(Node::new("host"))),
            Err(StanzaError::MissingAttr("hostname"))
        );
        assert_eq!(
            parse_media_conn(&Node::new("iq")),
            Err(StanzaError::MissingChild("media_conn"))
        );
    }

    #[test]
    fn upload_paths() {
        let hash = [0xfb; 32];
        let token = "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s";
        assert_eq!(
            upload_path(MediaType::Image, &hash, "AbC+/="),
            format!("/mms/image/{token}?auth=AbC%2B%2F%3D&token={token}")
        );
        assert!(upload_path(MediaType::Sticker, &hash, "a").starts_with("/mms/image/"));
        assert!(upload_path(MediaType::Audio, &hash, "a").starts_with("/mms/audio/"));
        assert!(upload_path(MediaType::Video, &hash, "a").starts_with("/mms/video/"));
        assert!(upload_path(MediaType::Document, &hash, "a").starts_with("/mms/document/"));
        assert_eq!(
            download_url("127.0.0.1:4000", "/v/image/x?oh=1", "http"),
            "http://127.0.0.1:4000/v/image/x?oh=1"
        );
        assert_eq!(
            download_url("mmg.whatsapp.net", "v/t62/x", "https"),
            "https://mmg.whatsapp.net/v/t62/x"
        );
    }

    #[test]
    fn upload_answers() {
        let body = br#"{"url":"http://127.0.0.1:1/v/image/ab?oh=cd","direct_path":"/v/image/ab?oh=cd","handle":"ab"}"#;
        assert_eq!(
            parse_upload_response(body).unwrap(),
            UploadResponse {
                url: "http://127.0.0.1:1/v/image/ab?oh=cd".into(),
                direct_path: "/v/image/ab?oh=cd".into(),
            }
        );
        assert!(matches!(
            parse_upload_response(b"not json"),
            Err(StanzaError::BadJson(_))
        ));
        assert_eq!(
            parse_upload_response(br#"{"url":"u"}"#),
            Err(StanzaError::BadJson(
                "no string field \"direct_path\"".into()
            ))
        );
        assert!(parse_upload_response(br#"{"url":1,"direct_path":"p"}"#).is_err());
    }
}
