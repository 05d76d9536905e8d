//! `iq xmlns=usync`: device lists (`<devices>`) and registration checks (`<contact>`)
//! for a list of users.

use wa_proto::binary::{Jid, Node, jid::USER_SERVER};

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};
use crate::state::unix_now;

/// Answers a usync query with one `<user>` per listed user.
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let usync = node
        .get_child("usync")
        .ok_or(StanzaError::BadRequest("usync"))?;
    let query = usync
        .get_child("query")
        .ok_or(StanzaError::BadRequest("usync/query"))?;
    let want_devices = query.get_child("devices").is_some();
    let want_contact = query.get_child("contact").is_some();
    let want_lid = query.get_child("lid").is_some();
    let users = usync
        .get_child("list")
        .map(|l| l.children_by_tag("user").collect::<Vec<_>>())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let contact = u.get_child("contact").and_then(Node::content_bytes);
        let jid = match (u.attr_jid("jid"), contact) {
            (Some(j), _) => j.to_non_ad(),
            (None, Some(c)) => {
                let digits: String = String::from_utf8_lossy(c)
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                Jid::new(digits, USER_SERVER)
            }
            (None, None) => continue,
        };
        let account = ctx.state.accounts.get(&jid.user);
        let mut children = Vec::new();
        if want_devices {
            let mut list = Vec::new();
            if let Some(a) = account {
                for d in a.devices.values() {
                    let mut dn = Node::new("device").attr("id", d.jid.device.to_string());
                    if d.jid.device != 0 {
                        dn.set_attr("key-index", d.key_index.to_string());
                    }
                    list.push(dn);
                }
            }
            children.push(Node::new("devices").children([
                Node::new("device-list").children(list),
                Node::new("key-index-list").attr("ts", unix_now().to_string()),
            ]));
        }
        if want_contact {
            let ty = if account.is_some() { "in" } else { "out" };
            let mut c = Node::new("contact").attr("type", ty);
            if let Some(raw) = contact {
                c = c.bytes(raw.to_vec());
            }
            children.push(c);
        }
        if want_lid && let Some(a) = account {
            children.push(Node::new("lid").attr("val", Jid::new(a.lid.clone(), "lid")));
        }
        out.push(Node::new("user").attr("jid", jid).children(children));
    }
    let mut result = Node::new("usync");
    for (k, v) in &usync.attrs {
        result.set_attr(k.clone(), v.clone());
    }
    ctx.replies.push(iq_result(node).child(result.children([
        Node::new("result").children(query.child_nodes().iter().map(|q| Node::new(q.tag.clone()))),
        Node::new("list").children(out),
    ])));
    Ok(())
}
