//! The `w:sync:app:state` stanzas: asking the server for a collection's patches
//! since a version, uploading one of our patches, the server's answer (patches,
//! a snapshot reference, a per-collection error such as a stale-version conflict),
//! and the `server_sync` notification that says another device changed a
//! collection. Both sides are here: the client builds requests and reads answers,
//! the simulator reads requests and builds answers, so one wire shape serves both.
//!
//! ```text
//! <iq xmlns="w:sync:app:state" type="set" to="s.whatsapp.net">
//!   <sync>
//!     <collection name="regular_high" version="7" return_snapshot="false">
//!       <patch>SyncdPatch bytes</patch>            (only when uploading)
//!     </collection>
//!   </sync>
//! </iq>
//! answer: <iq type="result"><sync>
//!   <collection name version has_more_patches>
//!     <patches><patch>SyncdPatch</patch>…</patches>
//!     <snapshot>ExternalBlobReference</snapshot>
//!   </collection>
//!   <collection name type="error"><error code="409" text="conflict"/></collection>
//! </sync></iq>
//! ```

use std::fmt;
use std::str::FromStr;

use prost::Message;

use crate::binary::{Jid, Node};
use crate::proto::appstate as pb;
use crate::stanza::{
    StanzaError, check_iq, error_child, expect_tag, opt_attr, opt_num_attr, req_attr, req_num_attr,
    self_or_child,
};

/// The iq namespace of app-state sync.
pub const XMLNS: &str = "w:sync:app:state";

/// The error code the server answers an upload with when the collection moved on
/// since the version the patch was built on (re-sync, rebuild, retry).
pub const CONFLICT_CODE: &str = "409";

/// An app-state collection. Each has its own version, LT-hash and patch history;
/// which actions live in which collection is fixed by WhatsApp (see
/// [`ChatAction::collection`](super::ChatAction::collection)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    /// `regular`: labels, some settings.
    Regular,
    /// `regular_low`: pins, archives, read marks.
    RegularLow,
    /// `regular_high`: stars, mutes, deletions.
    RegularHigh,
    /// `critical_block`: the push name and other account-wide settings.
    CriticalBlock,
    /// `critical_unblock_low`: contacts.
    CriticalUnblockLow,
}

impl Collection {
    /// Every collection, in the order a full sync asks for them.
    pub const ALL: [Collection; 5] = [
        Collection::CriticalBlock,
        Collection::CriticalUnblockLow,
        Collection::RegularHigh,
        Collection::Regular,
        Collection::RegularLow,
    ];

    /// The wire name (also the name MACs are computed over).
    pub fn name(self) -> &'static str {
        match self {
            Collection::Regular => "regular",
            Collection::RegularLow => "regular_low",
            Collection::RegularHigh => "regular_high",
            Collection::CriticalBlock => "critical_block",
            Collection::CriticalUnblockLow => "critical_unblock_low",
        }
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Collection {
    type Err = StanzaError;

    fn from_str(s: &str) -> Result<Self, StanzaError> {
        Collection::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| StanzaError::BadValue {
                field: "collection",
                value: s.to_owned(),
            })
    }
}

/// One `<collection>` of a sync request: which collection, the version we have,
/// whether we want a snapshot (when we have nothing yet), and for an upload the
/// patch to apply on top of `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRequest {
    /// The collection.
    pub collection: Collection,
    /// The version the requester is at (0 when it has nothing).
    pub version: u64,
    /// Ask for a snapshot instead of the whole patch history.
    pub return_snapshot: bool,
    /// Patches to upload (empty for a plain fetch).
    pub patches: Vec<pb::SyncdPatch>,
}

impl CollectionRequest {
    /// A fetch of everything after `version` (a snapshot when `version` is 0, as a
    /// freshly linked device asks).
    pub fn fetch(collection: Collection, version: u64) -> Self {
        CollectionRequest {
            collection,
            version,
            return_snapshot: version == 0,
            patches: Vec::new(),
        }
    }

    /// An upload of `patch`, built on top of `version`.
    pub fn upload(collection: Collection, version: u64, patch: pb::SyncdPatch) -> Self {
        CollectionRequest {
            collection,
            version,
            return_snapshot: false,
            patches: vec![patch],
        }
    }

    fn to_node(&self) -> Node {
        let node = Node::new("collection")
            .attr("name", self.collection.name())
            .attr("version", self.version.to_string())
            .attr("return_snapshot", bool_attr(self.return_snapshot));
        if self.patches.is_empty() {
            node
        } else {
            node.children(
                self.patches
                    .iter()
                    .map(|p| Node::new("patch").bytes(p.encode_to_vec())),
            )
        }
    }
}

fn bool_attr(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// `<iq xmlns=w:sync:app:state type=set>` with one `<collection>` per request:
/// fetches and uploads share this envelope. Answer: [`parse_sync_answer`].
pub fn sync_request(iq_id: &str, collections: &[CollectionRequest]) -> Node {
    crate::stanza::iq(iq_id, XMLNS, "set", Jid::server_jid())
        .child(Node::new("sync").children(collections.iter().map(CollectionRequest::to_node)))
}

/// The server side: reads the collections of a sync request (the simulator).
pub fn parse_sync_request(iq: &Node) -> Result<Vec<CollectionRequest>, StanzaError> {
    expect_tag(iq, "iq")?;
    if iq.attr_str("xmlns").as_deref() != Some(XMLNS) {
        return Err(StanzaError::BadValue {
            field: "xmlns",
            value: opt_attr(iq, "xmlns").unwrap_or_default(),
        });
    }
    let sync = self_or_child(iq, "sync")?;
    sync.children_by_tag("collection")
        .map(|c| {
            Ok(CollectionRequest {
                collection: req_attr(c, "name")?.parse()?,
                version: opt_num_attr(c, "version")?.unwrap_or(0),
                return_snapshot: c.attr_str("return_snapshot").as_deref() == Some("true"),
                patches: c
                    .children_by_tag("patch")
                    .map(decode_patch_node)
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

fn decode_patch_node(node: &Node) -> Result<pb::SyncdPatch, StanzaError> {
    pb::SyncdPatch::decode(node.content_bytes().unwrap_or_default())
        .map_err(|e| StanzaError::BadProtobuf(e.to_string()))
}

/// One `<collection>` of the server's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionAnswer {
    /// The collection.
    pub collection: Collection,
    /// The server's version of the collection (after the patches listed).
    pub version: u64,
    /// More patches follow: ask again from the last one's version.
    pub has_more_patches: bool,
    /// Patches after the requested version, oldest first.
    pub patches: Vec<pb::SyncdPatch>,
    /// Where to download a snapshot (`md-app-state` media), when one was asked for
    /// and the collection has state.
    pub snapshot: Option<pb::ExternalBlobReference>,
    /// The collection failed (e.g. [`CONFLICT_CODE`] for an upload on a stale
    /// version); the other fields are then empty.
    pub error: Option<StanzaError>,
}

impl CollectionAnswer {
    /// A successful answer with `patches` (no snapshot, no more patches).
    pub fn patches(collection: Collection, version: u64, patches: Vec<pb::SyncdPatch>) -> Self {
        CollectionAnswer {
            collection,
            version,
            has_more_patches: false,
            patches,
            snapshot: None,
            error: None,
        }
    }

    /// A failed collection: `<collection type=error><error code text/></collection>`.
    pub fn failed(collection: Collection, code: &str, text: &str) -> Self {
        CollectionAnswer {
            collection,
            version: 0,
            has_more_patches: false,
            patches: Vec::new(),
            snapshot: None,
            error: Some(StanzaError::Server {
                code: code.to_owned(),
                text: Some(text.to_owned()),
            }),
        }
    }

    /// Whether this is the server refusing an upload built on a stale version.
    pub fn is_conflict(&self) -> bool {
        matches!(&self.error, Some(StanzaError::Server { code, .. }) if code == CONFLICT_CODE)
    }

    fn to_node(&self) -> Node {
        let node = Node::new("collection").attr("name", self.collection.name());
        if let Some(StanzaError::Server { code, text }) = &self.error {
            let mut error = Node::new("error").attr("code", code.as_str());
            if let Some(t) = text {
                error = error.attr("text", t.as_str());
            }
            return node.attr("type", "error").child(error);
        }
        let mut node = node.attr("version", self.version.to_string());
        if self.has_more_patches {
            node = node.attr("has_more_patches", "true");
        }
        if !self.patches.is_empty() {
            node = node.child(
                Node::new("patches").children(
                    self.patches
                        .iter()
                        .map(|p| Node::new("patch").bytes(p.encode_to_vec())),
                ),
            );
        }
        if let Some(s) = &self.snapshot {
            node = node.child(Node::new("snapshot").bytes(s.encode_to_vec()));
        }
        node
    }
}

/// The server side: the `<sync>` element answering a request (wrap it in the iq
/// result).
pub fn sync_answer(collections: &[CollectionAnswer]) -> Node {
    Node::new("sync").children(collections.iter().map(CollectionAnswer::to_node))
}

/// Reads the server's answer to [`sync_request`]: one [`CollectionAnswer`] per
/// collection. A whole-iq error fails; a per-collection error is reported in that
/// collection's [`CollectionAnswer::error`].
pub fn parse_sync_answer(answer: &Node) -> Result<Vec<CollectionAnswer>, StanzaError> {
    check_iq(answer)?;
    let sync = self_or_child(answer, "sync")?;
    sync.children_by_tag("collection")
        .map(parse_collection_answer)
        .collect()
}

fn parse_collection_answer(c: &Node) -> Result<CollectionAnswer, StanzaError> {
    let collection: Collection = req_attr(c, "name")?.parse()?;
    if c.attr_str("type").as_deref() == Some("error") {
        let error = error_child(c).unwrap_or(StanzaError::Server {
            code: String::new(),
            text: None,
        });
        return Ok(CollectionAnswer {
            error: Some(error),
            ..CollectionAnswer::patches(collection, 0, Vec::new())
        });
    }
    // Patches sit in <patches>, older servers put them straight in <collection>.
    let holder = c.get_child("patches").unwrap_or(c);
    let patches = holder
        .children_by_tag("patch")
        .map(decode_patch_node)
        .collect::<Result<_, _>>()?;
    let snapshot = c
        .get_child("snapshot")
        .and_then(|s| s.content_bytes())
        .filter(|b| !b.is_empty())
        .map(|b| {
            pb::ExternalBlobReference::decode(b)
                .map_err(|e| StanzaError::BadProtobuf(e.to_string()))
        })
        .transpose()?;
    Ok(CollectionAnswer {
        collection,
        version: req_num_attr(c, "version")?,
        has_more_patches: c.attr_str("has_more_patches").as_deref() == Some("true"),
        patches,
        snapshot,
        error: None,
    })
}

/// The server side: `<notification type=server_sync>` telling an account's other
/// devices that these collections changed (the simulator).
pub fn server_sync_notification(id: &str, collections: &[(Collection, u64)]) -> Node {
    Node::new("notification")
        .attr("id", id)
        .attr("from", Jid::server_jid())
        .attr("type", "server_sync")
        .children(collections.iter().map(|(c, v)| {
            Node::new("collection")
                .attr("name", c.name())
                .attr("version", v.to_string())
        }))
}

/// Reads a `server_sync` notification: the collections to sync, with the version the
/// server is at when it says so. Unknown collection names are skipped (WhatsApp adds
/// collections over time and a newer one must not stop the known ones syncing).
pub fn parse_server_sync(node: &Node) -> Result<Vec<(Collection, Option<u64>)>, StanzaError> {
    expect_tag(node, "notification")?;
    if node.attr_str("type").as_deref() != Some("server_sync") {
        return Err(StanzaError::BadValue {
            field: "type",
            value: opt_attr(node, "type").unwrap_or_default(),
        });
    }
    let mut out = Vec::new();
    for c in node.children_by_tag("collection") {
        if let Ok(collection) = req_attr(c, "name")?.parse() {
            out.push((collection, opt_num_attr(c, "version")?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    fn patch(version: u64) -> pb::SyncdPatch {
        pb::SyncdPatch {
            version: Some(pb::SyncdVersion {
                version: Some(version),
            }),
            patch_mac: Some(vec![version as u8; 32]),
            ..Default::default()
        }
    }

    #[test]
    fn collection_names_round_trip() {
        for c in Collection::ALL {
            assert_eq!(c.name().parse::<Collection>().unwrap(), c);
            assert_eq!(c.to_string(), c.name());
        }
        assert!("regular_medium".parse::<Collection>().is_err());
    }

    #[test]
    fn fetch_request_on_the_wire() {
        let iq = wire(sync_request(
            "s1",
            &[
                CollectionRequest::fetch(Collection::RegularHigh, 0),
                CollectionRequest::fetch(Collection::CriticalBlock, 4),
            ],
        ));
        assert_eq!(
            iq.to_string(),
            "<iq id=\"s1\" xmlns=\"w:sync:app:state\" type=\"set\" to=\"s.whatsapp.net\"><sync>\
             <collection name=\"regular_high\" version=\"0\" return_snapshot=\"true\"/>\
             <collection name=\"critical_block\" version=\"4\" return_snapshot=\"false\"/>\
             </sync></iq>"
        );
        let read = parse_sync_request(&iq).unwrap();
        assert_eq!(
            read[0],
            CollectionRequest::fetch(Collection::RegularHigh, 0)
        );
        assert_eq!(
            read[1],
            CollectionRequest::fetch(Collection::CriticalBlock, 4)
        );
    }

    #[test]
    fn upload_request_carries_the_patch() {
        let upload = CollectionRequest::upload(Collection::RegularLow, 3, patch(4));
        let iq = wire(sync_request("s2", std::slice::from_ref(&upload)));
        let collection = iq
            .get_child("sync")
            .unwrap()
            .get_child("collection")
            .unwrap();
        assert_eq!(
            collection.attr_str("return_snapshot").as_deref(),
            Some("false")
        );
        assert_eq!(parse_sync_request(&iq).unwrap(), vec![upload]);
        let other = crate::stanza::iq("x", "privacy", "get", Jid::server_jid());
        assert!(matches!(
            parse_sync_request(&other),
            Err(StanzaError::BadValue { field: "xmlns", .. })
        ));
    }

    #[test]
    fn answers_round_trip() {
        let reference = pb::ExternalBlobReference {
            media_key: Some(vec![7; 32]),
            direct_path: Some("/v/t62/snap".into()),
            ..Default::default()
        };
        let answers = vec![
            CollectionAnswer {
                has_more_patches: true,
                snapshot: Some(reference),
                ..CollectionAnswer::patches(Collection::RegularHigh, 6, vec![patch(5), patch(6)])
            },
            CollectionAnswer::patches(Collection::Regular, 0, Vec::new()),
            CollectionAnswer::failed(Collection::RegularLow, CONFLICT_CODE, "conflict"),
        ];
        let iq = wire(
            Node::new("iq")
                .attr("type", "result")
                .child(sync_answer(&answers)),
        );
        let read = parse_sync_answer(&iq).unwrap();
        assert_eq!(read, answers);
        assert!(!read[0].is_conflict());
        assert!(read[2].is_conflict());
        assert_eq!(
            read[2].error.as_ref().unwrap().to_string(),
            "server error 409 (conflict)"
        );
    }

    #[test]
    fn patches_straight_in_the_collection_are_read() {
        let iq = wire(
            Node::new("iq").attr("type", "result").child(
                Node::new("sync").child(
                    Node::new("collection")
                        .attr("name", "regular")
                        .attr("version", "2")
                        .child(Node::new("patch").bytes(patch(2).encode_to_vec())),
                ),
            ),
        );
        let read = parse_sync_answer(&iq).unwrap();
        assert_eq!(read[0].patches, vec![patch(2)]);
        assert_eq!(read[0].version, 2);
    }

    #[test]
    fn malformed_answers_fail() {
        let whole = Node::new("iq")
            .attr("type", "error")
            .child(Node::new("error").attr("code", "500"));
        assert!(matches!(
            parse_sync_answer(&whole),
            Err(StanzaError::Server { code, .. }) if code == "500"
        ));
        let no_version = Node::new("iq")
            .attr("type", "result")
            .child(Node::new("sync").child(Node::new("collection").attr("name", "regular")));
        assert_eq!(
            parse_sync_answer(&no_version),
            Err(StanzaError::MissingAttr("version"))
        );
        let garbage = Node::new("iq").attr("type", "result").child(
            Node::new("sync").child(
                Node::new("collection")
                    .attr("name", "regular")
                    .attr("version", "1")
                    .child(Node::new("patch").bytes(vec![0xff, 0xff, 0xff])),
            ),
        );
        assert!(matches!(
            parse_sync_answer(&garbage),
            Err(StanzaError::BadProtobuf(_))
        ));
    }

    #[test]
    fn server_sync_notifications() {
        let n = wire(server_sync_notification(
            "n1",
            &[(Collection::RegularHigh, 9), (Collection::CriticalBlock, 2)],
        ));
        assert_eq!(
            parse_server_sync(&n).unwrap(),
            vec![
                (Collection::RegularHigh, Some(9)),
                (Collection::CriticalBlock, Some(2))
            ]
        );
        let newer = Node::new("notification")
            .attr("type", "server_sync")
            .child(Node::new("collection").attr("name", "regular_future"))
            .child(Node::new("collection").attr("name", "regular"));
        assert_eq!(
            parse_server_sync(&newer).unwrap(),
            vec![(Collection::Regular, None)]
        );
        let other = Node::new("notification").attr("type", "w:gp2");
        assert!(parse_server_sync(&other).is_err());
    }
}
