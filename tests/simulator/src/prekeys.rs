//! `iq xmlns=encrypt`: pre-key upload, the count query, and bundle fetch for other
//! devices (`<key><user jid=../></key>`), handing out each one-time pre-key once.

use tracing::{debug, info};
use wa_proto::binary::{Jid, Node};
use wa_proto::keys::DJB_TYPE;

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};
use crate::state::{Device, SignedKey};

/// Routes the `encrypt` namespace by the first child.
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let ty = node.attr_str("type").unwrap_or_default().into_owned();
    match (
        ty.as_str(),
        node.child_nodes().first().map(|c| c.tag.as_str()),
    ) {
        ("get", Some("count")) => count(ctx, node),
        ("get", Some("key")) => fetch(ctx, node),
        ("set", Some("rotate")) => rotate(ctx, node),
        ("set", _) if node.get_child("list").is_some() => upload(ctx, node),
        _ => Err(StanzaError::NotImplemented),
    }
}

fn bytes<'a>(n: &'a Node, tag: &'static str) -> Result<&'a [u8], StanzaError> {
    n.get_child(tag)
        .and_then(Node::content_bytes)
        .ok_or(StanzaError::BadRequest(tag))
}

fn id24(b: &[u8]) -> Result<u32, StanzaError> {
    match b {
        [a, b, c] => Ok(u32::from_be_bytes([0, *a, *b, *c])),
        _ => Err(StanzaError::BadRequest("key id must be 3 bytes")),
    }
}

fn key32(b: &[u8]) -> Result<Vec<u8>, StanzaError> {
    // Accept the bare 32-byte key or the 33-byte 0x05-prefixed form.
    match b.len() {
        32 => Ok(b.to_vec()),
        33 if b[0] == DJB_TYPE => Ok(b[1..].to_vec()),
        _ => Err(StanzaError::BadRequest("public key must be 32 bytes")),
    }
}

fn signed_key(skey: &Node) -> Result<SignedKey, StanzaError> {
    Ok(SignedKey {
        id: id24(bytes(skey, "id")?)?,
        public: key32(bytes(skey, "value")?)?,
        signature: bytes(skey, "signature")?.to_vec(),
    })
}

fn upload(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let registration: [u8; 4] = bytes(node, "registration")?
        .try_into()
        .map_err(|_| StanzaError::BadRequest("registration must be 4 bytes"))?;
    let identity = key32(bytes(node, "identity")?)?;
    let skey = signed_key(
        node.get_child("skey")
            .ok_or(StanzaError::BadRequest("skey"))?,
    )?;
    let mut keys = Vec::new();
    for k in node
        .get_child("list")
        .map(|l| l.children_by_tag("key").collect::<Vec<_>>())
        .unwrap_or_default()
    {
        keys.push((id24(bytes(k, "id")?)?, key32(bytes(k, "value")?)?));
    }
    let max = ctx.state.cfg.max_prekeys_per_device;
    let dev = ctx.state.device_mut(&me).ok_or(StanzaError::NotFound)?;
    if dev.prekeys.len() + keys.len() > max {
        return Err(StanzaError::ResourceLimit("too many pre-keys"));
    }
    dev.registration_id = u32::from_be_bytes(registration);
    dev.identity = identity;
    dev.signed_prekey = skey;
    let n = keys.len();
    for k in keys {
        dev.prekeys.retain(|(id, _)| *id != k.0);
        dev.prekeys.push_back(k);
    }
    info!(account = %me, uploaded = n, held = dev.prekeys.len(), "pre-keys uploaded");
    ctx.replies.push(iq_result(node));
    crate::app_state::share_key_with(ctx.state, &me);
    Ok(())
}

fn rotate(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let skey = node
        .get_child("rotate")
        .and_then(|r| r.get_child("skey"))
        .ok_or(StanzaError::BadRequest("rotate/skey"))?;
    let skey = signed_key(skey)?;
    ctx.state
        .device_mut(&me)
        .ok_or(StanzaError::NotFound)?
        .signed_prekey = skey;
    ctx.replies.push(iq_result(node));
    Ok(())
}

fn count(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    let n = ctx
        .state
        .device(&me)
        .map(|d| d.prekeys.len())
        .unwrap_or_default();
    ctx.replies
        .push(iq_result(node).child(Node::new("count").attr("value", n.to_string())));
    Ok(())
}

fn id3(id: u32) -> Vec<u8> {
    id.to_be_bytes()[1..].to_vec()
}

fn bundle(dev: &mut Device) -> Node {
    let mut children = vec![
        Node::new("registration").bytes(dev.registration_id.to_be_bytes().to_vec()),
        Node::new("type").bytes(vec![DJB_TYPE]),
        Node::new("identity").bytes(dev.identity.clone()),
    ];
    if let Some((id, value)) = dev.prekeys.pop_front() {
        children.push(Node::new("key").children([
            Node::new("id").bytes(id3(id)),
            Node::new("value").bytes(value),
        ]));
    }
    let s = &dev.signed_prekey;
    children.push(Node::new("skey").children([
        Node::new("id").bytes(id3(s.id)),
        Node::new("value").bytes(s.public.clone()),
        Node::new("signature").bytes(s.signature.clone()),
    ]));
    Node::new("user")
        .attr("jid", dev.jid.clone())
        .children(children)
}

fn fetch(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let users: Vec<Jid> = node
        .get_child("key")
        .map(|k| {
            k.children_by_tag("user")
                .filter_map(|u| u.attr_jid("jid"))
                .collect()
        })
        .unwrap_or_default();
    if users.is_empty() {
        return Err(StanzaError::BadRequest("key query names no user"));
    }
    let mut list = Vec::with_capacity(users.len());
    for jid in users {
        list.push(match ctx.state.device_mut(&jid) {
            Some(dev) => {
                debug!(device = %jid, left = dev.prekeys.len().saturating_sub(1), "bundle handed out");
                bundle(dev)
            }
            None => Node::new("user").attr("jid", jid).child(
                Node::new("error")
                    .attr("code", "404")
                    .attr("text", "item-not-found"),
            ),
        });
    }
    ctx.replies
        .push(iq_result(node).child(Node::new("list").children(list)));
    Ok(())
}
