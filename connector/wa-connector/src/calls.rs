//! `call.offer`: someone rings this account. The gateway does not take calls;
//! it tells the webhooks (GOWA's payload: `call_id`, `from`, `auto_rejected`,
//! `remote_platform`, `remote_version`, `group_jid` for a group call; plus
//! `is_video`) and acknowledges the stanza after the event is committed, as it
//! does every `<call>` stanza (other signalling, such as the caller hanging up,
//! is acknowledged without an event). With `WHATSAPP_AUTO_REJECT_CALL` the
//! offer is declined once the event is committed, and the event says
//! `auto_rejected: true`.

use rand_core::OsRng;
use serde_json::{Map, Value, json};
use tracing::{debug, info, warn};
use wa_proto::binary::{Jid, Node};
use wa_proto::call::{CallOffer, IncomingCall, call_ack, parse_call, reject_call};
use wa_proto::send::generate_message_id;
use wa_store::NewEvent;

use crate::events::{self, kind};
use crate::receive::InboundBatch;

/// The `call.offer` event for `offer` (`auto_rejected`: we decline it).
pub fn call_offer_event(offer: &CallOffer, auto_rejected: bool) -> NewEvent {
    let mut p = Map::new();
    p.insert("call_id".into(), json!(offer.call_id));
    p.insert("from".into(), json!(offer.caller.to_string()));
    p.insert("auto_rejected".into(), json!(auto_rejected));
    if let Some(platform) = &offer.platform {
        p.insert("remote_platform".into(), json!(platform));
    }
    if let Some(version) = &offer.version {
        p.insert("remote_version".into(), json!(version));
    }
    if let Some(group) = &offer.group {
        p.insert("group_jid".into(), json!(group.to_non_ad().to_string()));
    }
    p.insert("is_video".into(), json!(offer.video));
    p.insert(
        "timestamp".into(),
        json!(events::rfc3339(events::from_unix(offer.timestamp))),
    );
    events::event(kind::CALL_OFFER, Value::Object(p))
}

/// Handles one `<call>` stanza into `batch`: an offer's event, then the ack
/// (and, with `reject_as` our device JID, the offer declined).
pub fn handle_call(node: &Node, reject_as: Option<&Jid>, batch: &mut InboundBatch) {
    let mut reject = None;
    match parse_call(node) {
        Ok(IncomingCall::Offer(offer)) => {
            info!(call = %offer.call_id, from = %offer.caller, video = offer.video, declined = reject_as.is_some(), "incoming call");
            batch
                .changes_mut()
                .events
                .push(call_offer_event(&offer, reject_as.is_some()));
            reject = reject_as.map(|me| reject_call(&generate_message_id(&mut OsRng), me, &offer));
        }
        Ok(IncomingCall::Other { kind, call_id }) => {
            debug!(
                kind,
                call = call_id.as_deref().unwrap_or(""),
                "call signalling"
            );
        }
        Err(e) => warn!(error = %e, "malformed call stanza acknowledged"),
    }
    batch.after_commit(call_ack(node));
    if let Some(reject) = reject {
        batch.also_after_commit(reject);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wa_proto::binary::Jid;

    #[test]
    fn a_group_video_call_in_gowa_fields() {
        let offer = CallOffer {
            call_id: "8F2C".into(),
            caller: Jid::new("15550001111", "s.whatsapp.net"),
            timestamp: 1_700_000_000,
            video: true,
            group: Some(Jid::new("120363000000000001", "g.us")),
            platform: Some("iphone".into()),
            version: None,
            push_name: None,
        };
        let e = call_offer_event(&offer, true);
        assert_eq!(e.kind, "call.offer");
        let v: Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(v["call_id"], "8F2C");
        assert_eq!(v["from"], "15550001111@s.whatsapp.net");
        assert_eq!(v["auto_rejected"], true);
        assert_eq!(v["remote_platform"], "iphone");
        assert!(v.get("remote_version").is_none());
        assert_eq!(v["group_jid"], "120363000000000001@g.us");
        assert_eq!(v["is_video"], true);
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20Z");
    }
}
