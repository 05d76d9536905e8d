//! The one tag → handler table (and the iq namespace table under it): the index of
//! what the simulator understands. Handlers run with the state locked and put their
//! answers in [`Ctx::replies`].

use tracing::warn;
use wa_proto::binary::{Jid, Node};

use crate::connection::ConnState;
use crate::error::StanzaError;
use crate::state::{State, unix_now};
use crate::{
    app_state, groups, keepalive, media, pair_code, pairing, pictures, prekeys, presence, privacy,
    receipts, routing, usync,
};

/// What a handler sees: the locked state, its own connection, and where to put replies.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// All simulator state.
    pub state: &'a mut State,
    /// The connection the stanza arrived on.
    pub conn: &'a mut ConnState,
    /// Stanzas to send back on this connection, in order.
    pub replies: Vec<Node>,
    /// Close the connection after sending the replies.
    pub close: bool,
}

impl Ctx<'_> {
    /// The logged-in device of this connection.
    pub fn me(&self) -> Result<Jid, StanzaError> {
        self.conn
            .device()
            .cloned()
            .ok_or(StanzaError::NotAuthorized)
    }
}

/// A stanza handler.
pub(crate) type Handler = fn(&mut Ctx<'_>, &Node) -> Result<(), StanzaError>;

/// Top-level stanzas by tag: (tag, needs a logged-in device, handler).
const ROUTES: &[(&str, bool, Handler)] = &[
    ("iq", false, handle_iq),
    ("message", true, routing::handle_message),
    ("receipt", true, receipts::handle_receipt),
    ("ack", true, routing::handle_ack),
    ("presence", true, presence::handle_presence),
    ("chatstate", true, presence::handle_chat_state),
    ("call", true, crate::calls::handle_call),
];

/// `<iq>` by `xmlns`: (namespace, needs a logged-in device, handler).
const IQ_ROUTES: &[(&str, bool, Handler)] = &[
    ("md", false, pair_code::handle_md_iq),
    ("w:p", false, keepalive::handle_ping),
    ("encrypt", true, prekeys::handle_iq),
    ("usync", true, usync::handle_iq),
    ("w:g2", true, groups::handle_iq),
    ("w:profile:picture", true, pictures::handle_iq),
    ("w:biz", true, crate::business::handle_iq),
    (
        wa_proto::newsletter::MEX_XMLNS,
        true,
        crate::newsletters::handle_iq,
    ),
    ("privacy", true, privacy::handle_iq),
    ("w:m", true, media::handle_iq),
    (wa_proto::appstate::sync::XMLNS, true, app_state::handle_iq),
    // Accepted and answered with an empty result; the simulator keeps no state for them.
    ("passive", true, empty_result),
    ("urn:xmpp:whatsapp:push", true, empty_result),
    ("abt", true, empty_result),
    ("w", true, empty_result),
    ("privacy", true, empty_result),
    ("blocklist", true, empty_result),
    ("w:stats", true, empty_result),
    ("status", true, empty_result),
];

/// Routes one stanza from the client; a refusal becomes an error reply.
pub(crate) fn dispatch(ctx: &mut Ctx<'_>, node: &Node) {
    let Some((_, needs_login, handler)) = ROUTES.iter().find(|(t, ..)| *t == node.tag) else {
        warn!(conn = ctx.conn.id, stanza = %node, "unknown stanza ignored");
        return;
    };
    let result = if *needs_login && ctx.conn.device().is_none() {
        Err(StanzaError::NotAuthorized)
    } else {
        handler(ctx, node)
    };
    if let Err(e) = result {
        warn!(conn = ctx.conn.id, account = %ctx.conn.label(), stanza = %node, error = %e, "stanza refused");
        match node.tag.as_str() {
            "iq" => ctx.replies.push(iq_error(node, &e)),
            "message" | "receipt" => ctx
                .replies
                .push(server_ack(node).attr("error", e.code().to_string())),
            _ => {}
        }
    }
}

fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let ty = node.attr_str("type").unwrap_or_default();
    if ty == "result" || ty == "error" {
        return pairing::handle_iq_answer(ctx, node);
    }
    let xmlns = node.attr_str("xmlns").unwrap_or_default();
    let Some((_, needs_login, handler)) = IQ_ROUTES.iter().find(|(x, ..)| *x == xmlns) else {
        return Err(StanzaError::NotImplemented);
    };
    if *needs_login && ctx.conn.device().is_none() {
        return Err(StanzaError::NotAuthorized);
    }
    handler(ctx, node)
}

fn empty_result(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    ctx.replies.push(iq_result(node));
    Ok(())
}

/// `<iq type=result id=.. from=..>` answering `iq`.
pub(crate) fn iq_result(iq: &Node) -> Node {
    let from = iq.attr_jid("to").unwrap_or_else(Jid::server_jid);
    Node::new("iq")
        .attr("from", from)
        .attr("id", iq.attr_str("id").unwrap_or_default().into_owned())
        .attr("type", "result")
}

/// `<iq type=error><error code text/></iq>` answering `iq`.
pub(crate) fn iq_error(iq: &Node, e: &StanzaError) -> Node {
    let from = iq.attr_jid("to").unwrap_or_else(Jid::server_jid);
    Node::new("iq")
        .attr("from", from)
        .attr("id", iq.attr_str("id").unwrap_or_default().into_owned())
        .attr("type", "error")
        .child(
            Node::new("error")
                .attr("code", e.code().to_string())
                .attr("text", e.text()),
        )
}

/// The server's `<ack class=.. id=.. from=.. t=..>` for a client's message or receipt.
pub(crate) fn server_ack(node: &Node) -> Node {
    let mut ack = Node::new("ack")
        .attr("class", node.tag.clone())
        .attr("id", node.attr_str("id").unwrap_or_default().into_owned())
        .attr("from", node.attr_jid("to").unwrap_or_else(Jid::server_jid))
        .attr("t", unix_now().to_string());
    if let Some(t) = node.attr_str("type")
        && node.tag == "receipt"
    {
        ack.set_attr("type", t.into_owned());
    }
    ack
}
