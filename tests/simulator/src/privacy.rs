//! `iq xmlns=privacy`: every account has WhatsApp's default settings (nobody
//! changes them here), answered in the server's shape.

use wa_proto::binary::Node;

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};

/// WhatsApp's defaults for a new account, by category.
const DEFAULTS: &[(&str, &str)] = &[
    ("last", "all"),
    ("online", "all"),
    ("profile", "all"),
    ("status", "all"),
    ("groupadd", "all"),
    ("readreceipts", "all"),
    ("calladd", "all"),
];

/// `get` with `<privacy/>`: the settings.
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    ctx.me()?;
    if node.attr_str("type").as_deref() != Some("get") || node.get_child("privacy").is_none() {
        return Err(StanzaError::NotImplemented);
    }
    let categories = DEFAULTS.iter().map(|(name, value)| {
        Node::new("category")
            .attr("name", *name)
            .attr("value", *value)
    });
    ctx.replies
        .push(iq_result(node).child(Node::new("privacy").children(categories)));
    Ok(())
}
