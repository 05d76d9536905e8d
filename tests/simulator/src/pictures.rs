//! Profile pictures (`iq xmlns=w:profile:picture`): each account's and each
//! group's, set by the account itself or by a group's editors, read by anyone.

use std::collections::HashMap;

use tracing::info;
use wa_proto::binary::{Jid, Node};

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};
use crate::state::unix_now;

/// The largest picture accepted (WhatsApp's are small JPEGs).
const MAX_PICTURE: usize = 512 * 1024;

/// The pictures by owner (a user's phone number or a group's id).
#[derive(Debug, Default)]
pub(crate) struct Pictures {
    by_owner: HashMap<String, Picture>,
    next_id: u64,
}

/// One picture.
#[derive(Debug, Clone)]
pub(crate) struct Picture {
    /// Changes whenever the picture does.
    pub id: String,
    /// The JPEG.
    pub jpeg: Vec<u8>,
}

impl Pictures {
    /// The picture of `owner`, if it has one.
    pub(crate) fn get(&self, owner: &str) -> Option<&Picture> {
        self.by_owner.get(owner)
    }
}

/// `get` (anyone's picture) and `set` (ours, or a group's).
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let picture = node
        .get_child("picture")
        .ok_or(StanzaError::BadRequest("picture"))?;
    let target = node.attr_jid("target");
    match node.attr_str("type").as_deref() {
        Some("get") => {
            let target = target.ok_or(StanzaError::BadRequest("picture target"))?;
            let stored = ctx
                .state
                .pictures
                .get(&target.user)
                .ok_or(StanzaError::NotFound)?;
            let kind = picture.attr_str("type").unwrap_or_default().into_owned();
            let url = format!(
                "https://{}/pp/{}/{}.jpg",
                ctx.state.media_host, target.user, stored.id
            );
            let answer = Node::new("picture")
                .attr("id", stored.id.clone())
                .attr(
                    "type",
                    if kind == "preview" {
                        "preview"
                    } else {
                        "image"
                    },
                )
                .attr("url", url);
            ctx.replies.push(iq_result(node).child(answer));
            Ok(())
        }
        Some("set") => {
            let owner = match &target {
                Some(group) if group.is_group() => {
                    let g = ctx
                        .state
                        .groups
                        .get(&group.user)
                        .ok_or(StanzaError::NotFound)?;
                    g.require_editor(&me.user)?;
                    group.user.clone()
                }
                Some(_) => return Err(StanzaError::Forbidden("only groups can be a target")),
                None => me.user.clone(),
            };
            let jpeg = picture.content_bytes().unwrap_or_default();
            let pictures = &mut ctx.state.pictures;
            if jpeg.is_empty() {
                pictures.by_owner.remove(&owner);
                info!(account = %me, owner, "picture removed");
                ctx.replies.push(iq_result(node));
                return Ok(());
            }
            if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) || jpeg.len() > MAX_PICTURE {
                return Err(StanzaError::BadRequest(
                    "picture must be a JPEG of 512 KiB at most",
                ));
            }
            pictures.next_id += 1;
            let id = format!("{}{:03}", unix_now(), pictures.next_id % 1000);
            pictures.by_owner.insert(
                owner.clone(),
                Picture {
                    id: id.clone(),
                    jpeg: jpeg.to_vec(),
                },
            );
            info!(account = %me, owner, id, "picture set");
            ctx.replies
                .push(iq_result(node).child(Node::new("picture").attr("id", id)));
            Ok(())
        }
        _ => Err(StanzaError::BadRequest("picture iq type")),
    }
}

/// The JPEG stored for `owner` (a phone number or a group id), for tests.
pub(crate) fn jpeg_of(pictures: &Pictures, owner: &Jid) -> Option<Vec<u8>> {
    pictures.get(&owner.user).map(|p| p.jpeg.clone())
}
