//! Receipts. Outgoing: marking received messages read (blue ticks for their
//! sender). Incoming: delivery, read and played receipts move our outgoing messages'
//! status forward and become `message.ack` events, committed (with the other stanzas
//! of their [`InboundBatch`]) before the receipt is acknowledged. A retry receipt (the peer could not decrypt) queues a resend for the
//! outbox worker. Receipts about our other devices reading incoming messages, and
//! other kinds, are acknowledged without a status change.

use tracing::{debug, warn};
use wa_proto::binary::Node;
use wa_proto::receipt::{self, ReceiptKind};
use wa_store::{MessageStatus, ReceiptUpdate};

use crate::accounts::SessionError;
use crate::driver::WaConnection;
use crate::events;
use crate::messaging::{Messaging, Resend};
use crate::receive::{InboundBatch, send};

/// Marks `ids` (all from one sender in `chat`; in groups `sender` names them)
/// read. The server does not answer read receipts.
pub async fn mark_read(
    requester: &crate::requests::Requester,
    chat: &wa_proto::binary::Jid,
    sender: Option<&wa_proto::binary::Jid>,
    ids: &[String],
) -> Result<(), crate::requests::RequestError> {
    if ids.is_empty() {
        return Ok(());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    requester
        .send(receipt::read_receipt(chat, sender, ids, now))
        .await
}

/// The status a receipt kind moves our message to, if any.
fn status_for(kind: &ReceiptKind) -> Option<MessageStatus> {
    match kind {
        ReceiptKind::Delivered => Some(MessageStatus::Delivered),
        ReceiptKind::Read => Some(MessageStatus::Read),
        ReceiptKind::Played => Some(MessageStatus::Played),
        _ => None,
    }
}

/// Handles one `<receipt>` stanza; see the module docs.
pub fn handle_receipt(
    m: &Messaging,
    conn: &mut WaConnection,
    node: &Node,
    batch: &mut InboundBatch,
) -> Result<(), SessionError> {
    let parsed = match receipt::parse_receipt(node) {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "malformed receipt dropped");
            send(conn, &receipt::message_ack(node));
            return Ok(());
        }
    };
    if let Some(status) = status_for(&parsed.kind) {
        let update = ReceiptUpdate {
            chat: parsed.chat.to_non_ad().to_string(),
            ids: parsed.ids.clone(),
            status,
        };
        let from = parsed.sender.to_non_ad().to_string();
        let at = events::from_unix(parsed.timestamp);
        let changes = batch.changes_mut();
        changes
            .events
            .push(events::receipt_event(&update, &from, at));
        changes.receipts.push(update);
        debug!(ids = ?parsed.ids, status = status.as_str(), "receipt");
    } else if parsed.kind == ReceiptKind::Retry {
        // The peer could not decrypt one of our messages: the sender encrypts it again
        // for that device over a fresh session.
        debug!(ids = ?parsed.ids, from = %parsed.sender, "peer asked for a resend");
        for id in &parsed.ids {
            m.request_resend(Resend {
                chat: parsed.chat.to_non_ad().to_string(),
                id: id.clone(),
                device: parsed.sender.clone(),
            });
        }
    }
    batch.after_commit(receipt::message_ack(node));
    Ok(())
}
