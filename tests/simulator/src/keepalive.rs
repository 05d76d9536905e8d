//! Keep-alive: `<iq xmlns=w:p type=get><ping/>` is answered with an empty result.

use wa_proto::binary::Node;

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};

/// Answers a ping (allowed before login too, as the real server does).
pub(crate) fn handle_ping(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    ctx.replies.push(iq_result(node));
    Ok(())
}
