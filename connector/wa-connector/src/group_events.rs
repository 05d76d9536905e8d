//! `group.participants` and `group.joined`: the `w:gp2` notifications WhatsApp
//! sends a group's members when people join, leave, are promoted or demoted, and
//! when we are put in a group (created with us in it, or added). Each membership
//! change is one `group.participants` event (`type` `join`, `leave`, `promote` or
//! `demote`, with the `jids` it affects), as GOWA sends them; being put in a group
//! is `group.joined`. The events are committed with their batch before the
//! notification is acknowledged, so a crash in between redelivers it.

use std::time::SystemTime;

use serde_json::json;
use tracing::{debug, warn};
use wa_proto::binary::{Jid, Node};
use wa_proto::groups::{GroupAction, GroupChange, parse_group_notification};
use wa_proto::receipt;
use wa_store::NewEvent;

use crate::events::{self, kind};
use crate::receive::InboundBatch;

/// Whether `node` is a group notification this module handles.
pub fn is_group_notification(node: &Node) -> bool {
    node.attr_str("type").as_deref() == Some("w:gp2")
}

fn jids(list: &[Jid]) -> Vec<String> {
    list.iter().map(|j| j.to_non_ad().to_string()).collect()
}

fn participants_event(group: &Jid, change: &str, affected: &[Jid], at: SystemTime) -> NewEvent {
    events::event(
        kind::GROUP_PARTICIPANTS,
        json!({
            "chat_id": group.to_non_ad().to_string(),
            "type": change,
            "jids": jids(affected),
            "timestamp": events::rfc3339(at),
        }),
    )
}

fn joined_event(
    group: &Jid,
    me: &Jid,
    reason: &str,
    name: Option<&str>,
    at: SystemTime,
) -> NewEvent {
    let mut payload = json!({
        "chat_id": group.to_non_ad().to_string(),
        "type": "join",
        "jids": [me.to_non_ad().to_string()],
        "reason": reason,
        "timestamp": events::rfc3339(at),
    });
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        payload["group_name"] = json!(name);
    }
    events::event(kind::GROUP_JOINED, payload)
}

/// The events a group notification means for account `me`. `reason` is the
/// `add` element's (`invite` for a join by link), when it has one.
pub fn group_change_events(change: &GroupChange, me: &Jid, reason: Option<&str>) -> Vec<NewEvent> {
    let at = events::from_unix(change.timestamp);
    let group = &change.group;
    let is_me = |j: &Jid| j.user == me.user && j.server == me.server;
    let mut out = Vec::new();
    for action in &change.actions {
        match action {
            GroupAction::Create(info) => {
                if info.participants.iter().any(|p| is_me(&p.jid)) {
                    out.push(joined_event(
                        group,
                        me,
                        reason.unwrap_or_default(),
                        Some(&info.subject),
                        at,
                    ));
                }
            }
            GroupAction::Add(added) => {
                out.push(participants_event(group, "join", added, at));
                if added.iter().any(is_me) {
                    out.push(joined_event(
                        group,
                        me,
                        reason.unwrap_or_default(),
                        None,
                        at,
                    ));
                }
            }
            GroupAction::Remove(left) => out.push(participants_event(group, "leave", left, at)),
            GroupAction::Promote(list) => out.push(participants_event(group, "promote", list, at)),
            GroupAction::Demote(list) => out.push(participants_event(group, "demote", list, at)),
            GroupAction::Subject(_) | GroupAction::Other(_) => {}
        }
    }
    out
}

/// Handles one `<notification type=w:gp2>` into `batch`: its events are
/// committed, then it is acknowledged. One that cannot be read is acknowledged
/// at once (it never will be readable).
pub fn handle_group_notification(node: &Node, me: Option<&Jid>, batch: &mut InboundBatch) {
    let ack = receipt::message_ack(node);
    let (change, me) = match (parse_group_notification(node), me) {
        (Ok(change), Some(me)) => (change, me),
        (Err(e), _) => {
            warn!(error = %e, "malformed group notification acknowledged");
            batch.after_commit(ack);
            return;
        }
        (Ok(_), None) => {
            batch.after_commit(ack);
            return;
        }
    };
    let reason = node
        .get_child("add")
        .and_then(|a| a.attr_str("reason").map(|r| r.into_owned()));
    let found = group_change_events(&change, me, reason.as_deref());
    debug!(group = %change.group, events = found.len(), "group notification");
    batch.changes_mut().events.extend(found);
    batch.after_commit(ack);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use wa_proto::groups::{GroupInfo, GroupParticipant};

    fn user(n: &str) -> Jid {
        Jid::new(n, "s.whatsapp.net")
    }

    fn payloads(events: &[NewEvent]) -> Vec<(String, Value)> {
        events
            .iter()
            .map(|e| (e.kind.clone(), serde_json::from_str(&e.payload).unwrap()))
            .collect()
    }

    #[test]
    fn each_change_is_one_event_and_being_added_is_joining() {
        let group = Jid::new("120363000000000001", "g.us");
        let me = Jid::device("15550000001", 3, "s.whatsapp.net");
        let change = GroupChange {
            id: "n1".into(),
            group: group.clone(),
            actor: Some(user("15550000009")),
            timestamp: 1_700_000_000,
            actions: vec![
                GroupAction::Add(vec![user("15550000001"), user("15550000002")]),
                GroupAction::Promote(vec![user("15550000002")]),
                GroupAction::Subject("renamed".into()),
            ],
        };
        let got = payloads(&group_change_events(&change, &me, Some("invite")));
        let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["group.participants", "group.joined", "group.participants"]
        );
        assert_eq!(got[0].1["type"], "join");
        assert_eq!(
            got[0].1["jids"],
            json!(["15550000001@s.whatsapp.net", "15550000002@s.whatsapp.net"])
        );
        assert_eq!(got[0].1["chat_id"], "120363000000000001@g.us");
        assert_eq!(got[0].1["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(got[1].1["jids"], json!(["15550000001@s.whatsapp.net"]));
        assert_eq!(got[1].1["reason"], "invite");
        assert_eq!(got[2].1["type"], "promote");

        // Created with us in it: joined, with the group's name; without us: nothing.
        let info = |members: &[&str]| GroupInfo {
            jid: group.clone(),
            subject: "Team".into(),
            creator: Some(user("15550000009")),
            participants: members
                .iter()
                .map(|m| GroupParticipant {
                    jid: user(m),
                    admin: None,
                })
                .collect(),
            addressing_mode: None,
            topic: None,
            topic_id: None,
            announce: false,
            locked: false,
            disappearing: 0,
        };
        let created = GroupChange {
            actions: vec![GroupAction::Create(Box::new(info(&[
                "15550000009",
                "15550000001",
            ])))],
            ..change.clone()
        };
        let got = payloads(&group_change_events(&created, &me, None));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "group.joined");
        assert_eq!(got[0].1["group_name"], "Team");
        assert_eq!(got[0].1["reason"], "");
        let elsewhere = GroupChange {
            actions: vec![GroupAction::Create(Box::new(info(&["15550000009"])))],
            ..change
        };
        assert!(group_change_events(&elsewhere, &me, None).is_empty());
    }
}
