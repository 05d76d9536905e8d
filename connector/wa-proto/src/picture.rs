//! Profile pictures (`iq xmlns=w:profile:picture`): a user's or group's
//! picture, and setting our own or a group's.

use crate::binary::{Jid, Node};
use crate::stanza::{StanzaError, check_iq, iq, opt_attr, req_attr};

const XMLNS: &str = "w:profile:picture";

/// `<iq xmlns=w:profile:picture type=get to=s.whatsapp.net target=jid>
/// <picture type=image|preview query=url/></iq>`: where `jid`'s picture (or its
/// small preview) can be fetched. Answer: [`parse_picture`].
pub fn get_picture(iq_id: &str, target: &Jid, preview: bool) -> Node {
    iq(iq_id, XMLNS, "get", Jid::server_jid())
        .attr("target", target.to_non_ad())
        .child(
            Node::new("picture")
                .attr("type", if preview { "preview" } else { "image" })
                .attr("query", "url"),
        )
}

/// `<iq xmlns=w:profile:picture type=set to=s.whatsapp.net target=group?>
/// <picture type=image>jpeg</picture></iq>`: sets our picture (no target) or a
/// group's; an empty `jpeg` removes it. Answer: `<picture id/>`.
pub fn set_picture(iq_id: &str, target: Option<&Jid>, jpeg: &[u8]) -> Node {
    let mut node = iq(iq_id, XMLNS, "set", Jid::server_jid());
    if let Some(target) = target {
        node.set_attr("target", target.to_non_ad());
    }
    let picture = Node::new("picture").attr("type", "image");
    node.child(if jpeg.is_empty() {
        picture
    } else {
        picture.bytes(jpeg.to_vec())
    })
}

/// A profile picture, as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureInfo {
    /// Changes whenever the picture does.
    pub id: String,
    /// Where to fetch it.
    pub url: Option<String>,
    /// `image` or `preview`.
    pub kind: String,
}

/// Reads the answer to [`get_picture`]; `Ok(None)` when there is no picture
/// (the server answers 404).
pub fn parse_picture(result: &Node) -> Result<Option<PictureInfo>, StanzaError> {
    match check_iq(result) {
        Err(StanzaError::Server { code, .. }) if code == "404" => return Ok(None),
        other => other?,
    }
    let picture = result
        .get_child("picture")
        .ok_or(StanzaError::MissingChild("picture"))?;
    Ok(Some(PictureInfo {
        id: req_attr(picture, "id")?,
        url: opt_attr(picture, "url"),
        kind: opt_attr(picture, "type").unwrap_or_else(|| "image".into()),
    }))
}

/// Reads the new picture's id from the answer to [`set_picture`] (none when
/// it was removed).
pub fn parse_set_picture(result: &Node) -> Result<Option<String>, StanzaError> {
    check_iq(result)?;
    Ok(result.get_child("picture").and_then(|p| opt_attr(p, "id")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    #[test]
    fn request_shapes() {
        let bob = Jid::device("15550002222", 3, "s.whatsapp.net");
        assert_eq!(
            wire(get_picture("p1", &bob, true)).to_string(),
            "<iq id=\"p1\" xmlns=\"w:profile:picture\" type=\"get\" to=\"s.whatsapp.net\" target=\"15550002222@s.whatsapp.net\"><picture type=\"preview\" query=\"url\"/></iq>"
        );
        let group = Jid::new("120363000000000001", "g.us");
        let set = wire(set_picture("p2", Some(&group), &[0xFF, 0xD8, 0xFF]));
        assert_eq!(
            set.attr_str("target").as_deref(),
            Some("120363000000000001@g.us")
        );
        assert_eq!(
            set.get_child("picture").and_then(Node::content_bytes),
            Some(&[0xFF, 0xD8, 0xFF][..])
        );
        let remove = wire(set_picture("p3", None, &[]));
        assert!(remove.attr_str("target").is_none());
        assert!(
            remove
                .get_child("picture")
                .unwrap()
                .content_bytes()
                .is_none()
        );
    }

    #[test]
    fn answers() {
        let found = wire(
            Node::new("iq").attr("type", "result").child(
                Node::new("picture")
                    .attr("id", "1700000000")
                    .attr("type", "image")
                    .attr("url", "https://pps.example/p.jpg"),
            ),
        );
        assert_eq!(
            parse_picture(&found).unwrap(),
            Some(PictureInfo {
                id: "1700000000".into(),
                url: Some("https://pps.example/p.jpg".into()),
                kind: "image".into(),
            })
        );
        let none = wire(
            Node::new("iq")
                .attr("type", "error")
                .child(Node::new("error").attr("code", "404")),
        );
        assert_eq!(parse_picture(&none).unwrap(), None);
        let private = wire(
            Node::new("iq")
                .attr("type", "error")
                .child(Node::new("error").attr("code", "401")),
        );
        assert!(parse_picture(&private).is_err());
        let set = wire(
            Node::new("iq")
                .attr("type", "result")
                .child(Node::new("picture").attr("id", "42")),
        );
        assert_eq!(parse_set_picture(&set).unwrap().as_deref(), Some("42"));
    }
}
