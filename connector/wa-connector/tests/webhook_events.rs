//! GOWA's webhook events beyond `message`, end to end: the real
//! `wa-connector serve` process, the simulator playing WhatsApp and the phones,
//! and a real receiver on loopback checking each payload's fields and its
//! signature (Python's `hmac`). `WHATSAPP_WEBHOOK_EVENTS` names exactly the events
//! each test expects, so an event outside the filter reaching the receiver fails it.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::gateway::{Gateway, WAIT};
use support::receiver::{Received, Receiver, python_signature};
use wa_proto::appstate::{ChatAction, MessageRef};
use wa_simulator::SimulatorConfig;
use wa_store::AccountId;

const SECRET: &str = "webhook-events-secret";
const LONG: Duration = Duration::from_secs(30);

/// The gateway posting the `events` (comma-separated) to `receiver`.
async fn start(label: &str, receiver: &Receiver, events: &str, sim: SimulatorConfig) -> Gateway {
    Gateway::start_with(
        label,
        &[
            ("WHATSAPP_WEBHOOK", &receiver.url()),
            ("WHATSAPP_WEBHOOK_SECRET", SECRET),
            ("WHATSAPP_WEBHOOK_EVENTS", events),
        ],
        sim,
    )
    .await
}

/// Waits for event `name` delivered for device `session` whose payload `pred`
/// accepts, checks its envelope and signature, and returns its payload.
async fn expect_event(
    receiver: &Receiver,
    session: &str,
    name: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let got: Received = receiver
        .wait_for(LONG, |r| {
            let body = r.json();
            body["event"] == name && body["session_id"] == session && pred(&body["payload"])
        })
        .await;
    assert_eq!(
        got.header("x-hub-signature-256"),
        Some(python_signature(SECRET, &got.body).as_str())
    );
    assert_eq!(got.header("x-webhook-event"), Some(name));
    let body = got.json();
    assert!(
        body["device_id"]
            .as_str()
            .is_some_and(|d| d.ends_with("@s.whatsapp.net")),
        "{body}"
    );
    body["payload"].clone()
}

/// Every event the receiver got is one of `allowed`.
fn only_events(receiver: &Receiver, allowed: &[&str]) {
    for r in receiver.received() {
        let body = r.json();
        let name = body["event"].as_str().unwrap_or_default();
        assert!(allowed.contains(&name), "unexpected event: {body}");
    }
}

/// Waits until the connector has stored the app-state key the phone of `phone`
/// shared with device `id`.
async fn wait_for_key(gw: &Gateway, id: &str, phone: &str) {
    let path = gw.dir.join("data").join("wa.db");
    let db = wa_store::open(&format!("file:{}", path.display()))
        .await
        .expect("the connector's store opens");
    let account = AccountId::new(id).unwrap();
    let key = gw.sim.app_state_key(phone);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stored = db.latest_app_state_key(&account).await.unwrap();
        if stored.is_some_and(|k| k.data == key.data) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the phone's app-state key never reached {id}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_revokes_and_deletions_for_me_become_their_events() {
    const ANN: &str = "15550450001";
    const BOB: &str = "15550450002";
    let receiver = Receiver::start().await;
    let events = "message.edited,message.revoked,message.deleted";
    let sim = SimulatorConfig {
        share_app_state_keys: true,
        ..SimulatorConfig::default()
    };
    let gw = start("webhook-changes", &receiver, events, sim).await;
    let ann = format!("{ANN}@s.whatsapp.net");
    let bob = format!("{BOB}@s.whatsapp.net");
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    // Ann edits a text bob has: bob's `message.edited` names it, with the new text.
    let edited = gw
        .send_and_receive(("ann", BOB), ("bob", &ann), "typo hree")
        .await;
    let edited = edited["id"].as_str().unwrap().to_owned();
    let update = gw
        .post(
            Some("ann"),
            &format!("/message/{edited}/update"),
            serde_json::json!({"phone": BOB, "message": "typo here"}),
        )
        .await;
    let edit_id = update.ok()["message_id"].as_str().unwrap().to_owned();
    let p = expect_event(&receiver, "bob", "message.edited", |p| {
        p["original_message_id"] == edited.as_str()
    })
    .await;
    assert_eq!(p["id"], edit_id.as_str());
    assert_eq!(p["body"], "typo here");
    assert_eq!(p["chat_id"], ann.as_str());
    assert_eq!(p["from"], ann.as_str());
    assert_eq!(p["is_from_me"], false);
    assert!(p["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    // Bob's history holds the new text.
    gw.wait_for_message("bob", &ann, |m| {
        m["id"] == edited.as_str() && m["content"] == "typo here" && m["message_type"] == "text"
    })
    .await;

    // Ann revokes it: `message.revoked` with the key as ann wrote it (her message,
    // in her chat with bob).
    let revoke = gw
        .post(
            Some("ann"),
            &format!("/message/{edited}/revoke"),
            serde_json::json!({"phone": BOB}),
        )
        .await;
    let revoke_id = revoke.ok()["message_id"].as_str().unwrap().to_owned();
    let p = expect_event(&receiver, "bob", "message.revoked", |p| {
        p["revoked_message_id"] == edited.as_str()
    })
    .await;
    assert_eq!(p["id"], revoke_id.as_str());
    assert_eq!(p["revoked_from_me"], true);
    assert_eq!(p["revoked_chat"], bob.as_str());
    assert_eq!(p["chat_id"], ann.as_str());
    assert_eq!(p["from"], ann.as_str());
    // Bob's history keeps the message as revoked, its text gone.
    gw.wait_for_message("bob", &ann, |m| {
        m["id"] == edited.as_str() && m["message_type"] == "revoked" && m["content"] == ""
    })
    .await;

    // Bob's phone deletes one of ann's messages for bob: bob's device applies it
    // from app state, forgets the message and says what it was.
    wait_for_key(&gw, "bob", BOB).await;
    let doomed = gw
        .send_and_receive(("ann", BOB), ("bob", &ann), "delete me")
        .await;
    let doomed = doomed["id"].as_str().unwrap().to_owned();
    let delete_for_me = |id: &str| ChatAction::DeleteForMe {
        message: MessageRef {
            chat: ann.clone(),
            id: id.to_owned(),
            from_me: false,
            participant: None,
        },
        message_timestamp: 1_700_000_000,
        delete_media: false,
    };
    // A message bob never had: nothing to say (as GOWA), then the real one.
    gw.sim
        .push_app_state(BOB, &delete_for_me("3EB0NEVERSTORED"));
    gw.sim.push_app_state(BOB, &delete_for_me(&doomed));
    let p = expect_event(&receiver, "bob", "message.deleted", |p| {
        p["deleted_message_id"] == doomed.as_str()
    })
    .await;
    assert_eq!(p["chat_id"], ann.as_str());
    assert_eq!(p["from"], ann.as_str());
    assert_eq!(p["original_content"], "delete me");
    assert_eq!(p["original_sender"], ann.as_str());
    assert_eq!(p["was_from_me"], false);
    assert!(
        p["original_timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let page = gw
        .get(Some("bob"), &format!("/chat/{ann}/messages?limit=100"))
        .await
        .ok();
    assert!(
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != doomed.as_str()),
        "{page}"
    );

    let deleted = receiver
        .received()
        .iter()
        .filter(|r| r.json()["event"] == "message.deleted")
        .count();
    assert_eq!(deleted, 1);

    // The filter held: nothing but the three events was delivered (no `message`
    // for the texts, no receipts, no connection events).
    only_events(&receiver, &events.split(',').collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_recording_and_stopping_become_chat_presence() {
    const ANN: &str = "15550450011";
    const BOB: &str = "15550450012";
    let receiver = Receiver::start().await;
    let gw = start(
        "webhook-presence",
        &receiver,
        "chat_presence",
        SimulatorConfig::default(),
    )
    .await;
    let ann = format!("{ANN}@s.whatsapp.net");
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    for (action, state, media) in [
        ("start", "composing", ""),
        ("recording", "composing", "audio"),
        ("stop", "paused", ""),
    ] {
        gw.post(
            Some("ann"),
            "/send/chat-presence",
            serde_json::json!({"phone": BOB, "action": action}),
        )
        .await
        .ok();
        let p = expect_event(&receiver, "bob", "chat_presence", |p| {
            p["state"] == state && p["media"] == media
        })
        .await;
        assert_eq!(p["from"], ann.as_str());
        assert_eq!(p["chat_id"], ann.as_str());
        assert_eq!(p["is_group"], false);
        assert!(p["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    // In order, once each, and only for bob.
    let seen: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["event"] == "chat_presence" && b["payload"]["is_group"] == false)
        .map(|b| {
            assert_eq!(b["session_id"], "bob", "{b}");
            (
                b["payload"]["state"].as_str().unwrap().to_owned(),
                b["payload"]["media"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("composing".to_owned(), String::new()),
            ("composing".to_owned(), "audio".to_owned()),
            ("paused".to_owned(), String::new()),
        ]
    );

    // In a group: the member who types, the group as the chat.
    let created = gw
        .post(
            Some("ann"),
            "/group",
            serde_json::json!({"title": "Typists", "participants": [BOB]}),
        )
        .await
        .ok();
    let group = created["group_id"].as_str().unwrap().to_owned();
    gw.post(
        Some("ann"),
        "/send/chat-presence",
        serde_json::json!({"phone": group, "action": "start"}),
    )
    .await
    .ok();
    let p = expect_event(&receiver, "bob", "chat_presence", |p| {
        p["chat_id"] == group.as_str()
    })
    .await;
    assert_eq!(p["from"], ann.as_str());
    assert_eq!(p["is_group"], true);
    assert_eq!(
        (&p["state"], &p["media"]),
        (&serde_json::json!("composing"), &serde_json::json!(""))
    );
    only_events(&receiver, &["chat_presence"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_become_group_participants_and_group_joined() {
    const ANN: &str = "15550450021";
    const BOB: &str = "15550450022";
    const CAROL: &str = "15550450023";
    const DAN: &str = "15550450024";
    let receiver = Receiver::start().await;
    let gw = start(
        "webhook-groups",
        &receiver,
        "group.participants,group.joined",
        SimulatorConfig::default(),
    )
    .await;
    for (id, phone) in [("ann", ANN), ("bob", BOB), ("carol", CAROL), ("dan", DAN)] {
        gw.link(id, phone).await;
    }
    let jid = |phone: &str| format!("{phone}@s.whatsapp.net");

    // Ann creates the group with bob in it: bob joined it, with its name.
    let created = gw
        .post(
            Some("ann"),
            "/group",
            serde_json::json!({"title": "Crew", "participants": [BOB]}),
        )
        .await
        .ok();
    let group = created["group_id"].as_str().unwrap().to_owned();
    let p = expect_event(&receiver, "bob", "group.joined", |p| {
        p["chat_id"] == group.as_str()
    })
    .await;
    assert_eq!(p["type"], "join");
    assert_eq!(p["jids"], serde_json::json!([jid(BOB)]));
    assert_eq!(p["group_name"], "Crew");
    assert!(p["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));

    // Ann adds carol: carol joined; bob sees her join.
    let change = |path: &'static str, who: &'static str| {
        let group = group.clone();
        let gw = &gw;
        async move {
            gw.post(
                Some("ann"),
                path,
                serde_json::json!({"group_id": group, "participants": [who]}),
            )
            .await
            .ok();
        }
    };
    change("/group/participants", CAROL).await;
    let p = expect_event(&receiver, "carol", "group.joined", |p| {
        p["chat_id"] == group.as_str()
    })
    .await;
    assert_eq!(p["jids"], serde_json::json!([jid(CAROL)]));
    let members = |kind: &'static str, who: String| {
        let group = group.clone();
        move |p: &Value| {
            p["chat_id"] == group.as_str()
                && p["type"] == kind
                && p["jids"] == serde_json::json!([who.clone()])
        }
    };
    expect_event(
        &receiver,
        "bob",
        "group.participants",
        members("join", jid(CAROL)),
    )
    .await;

    // Promote and demote bob: both members see each.
    change("/group/participants/promote", BOB).await;
    for session in ["bob", "carol"] {
        expect_event(
            &receiver,
            session,
            "group.participants",
            members("promote", jid(BOB)),
        )
        .await;
    }
    change("/group/participants/demote", BOB).await;
    for session in ["bob", "carol"] {
        expect_event(
            &receiver,
            session,
            "group.participants",
            members("demote", jid(BOB)),
        )
        .await;
    }

    // Carol is removed: she and bob see her leave.
    change("/group/participants/remove", CAROL).await;
    for session in ["bob", "carol"] {
        expect_event(
            &receiver,
            session,
            "group.participants",
            members("leave", jid(CAROL)),
        )
        .await;
    }

    // Dan joins by the invite link: bob sees him join.
    let link = gw
        .get(Some("ann"), &format!("/group/invite-link?group_id={group}"))
        .await
        .ok();
    gw.post(
        Some("dan"),
        "/group/join-with-link",
        serde_json::json!({"link": link["invite_link"]}),
    )
    .await
    .ok();
    expect_event(
        &receiver,
        "bob",
        "group.participants",
        members("join", jid(DAN)),
    )
    .await;

    // Once each; the acting device hears only of what others did (dan's join);
    // nothing outside the filter.
    let seen_by = |session: &str| -> Vec<(String, String)> {
        receiver
            .received()
            .iter()
            .map(|r| r.json())
            .filter(|b| b["session_id"] == session)
            .map(|b| {
                (
                    b["event"].as_str().unwrap().to_owned(),
                    b["payload"]["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let expected: Vec<(String, String)> = [
        ("group.joined", "join"),
        ("group.participants", "join"),
        ("group.participants", "promote"),
        ("group.participants", "demote"),
        ("group.participants", "leave"),
        ("group.participants", "join"),
    ]
    .iter()
    .map(|(e, t)| ((*e).to_owned(), (*t).to_owned()))
    .collect();
    assert_eq!(seen_by("bob"), expected);
    assert_eq!(seen_by("ann"), expected[5..]);
    only_events(&receiver, &["group.participants", "group.joined"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_phone_becomes_call_offer_and_the_call_is_acknowledged() {
    const ANN: &str = "15550450031";
    const BOB: &str = "15550450032";
    let receiver = Receiver::start().await;
    let gw = start(
        "webhook-calls",
        &receiver,
        "call.offer",
        SimulatorConfig::default(),
    )
    .await;
    gw.link("bob", BOB).await;
    let ann = format!("{ANN}@s.whatsapp.net");

    for video in [false, true] {
        let call = gw.sim.ring(ANN, BOB, video).expect("bob has a device");
        let p = expect_event(&receiver, "bob", "call.offer", |p| {
            p["call_id"] == call.as_str()
        })
        .await;
        assert_eq!(p["from"], ann.as_str());
        assert_eq!(p["is_video"], video);
        assert_eq!(p["auto_rejected"], false);
        assert_eq!(p["remote_platform"], "android");
        assert_eq!(p["remote_version"], "2.24.1.5");
        assert!(p.get("group_jid").is_none());
        assert!(p["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    // Both offers were acknowledged (class call, type offer): nothing is left
    // queued for bob's device to be redelivered.
    let device = gw.sim.devices(BOB).pop().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while gw.sim.queued(&device) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "call offers never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gw.sim.ring(ANN, "15550459999", false), None);
    // Calls are not declined unless asked (WHATSAPP_AUTO_REJECT_CALL).
    assert!(gw.sim.call_rejections().is_empty());
    only_events(&receiver, &["call.offer"]);
    let offers = receiver
        .received()
        .iter()
        .filter(|r| r.json()["event"] == "call.offer")
        .count();
    assert_eq!(offers, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auto_reject_the_call_is_declined_and_the_event_says_so() {
    const ANN: &str = "15550450041";
    const BOB: &str = "15550450042";
    let receiver = Receiver::start().await;
    let gw = Gateway::start_with(
        "webhook-calls-rejected",
        &[
            ("WHATSAPP_WEBHOOK", &receiver.url()),
            ("WHATSAPP_WEBHOOK_SECRET", SECRET),
            ("WHATSAPP_WEBHOOK_EVENTS", "call.offer"),
            ("WHATSAPP_AUTO_REJECT_CALL", "true"),
        ],
        SimulatorConfig::default(),
    )
    .await;
    gw.link("bob", BOB).await;

    let call = gw.sim.ring(ANN, BOB, true).expect("bob has a device");
    let p = expect_event(&receiver, "bob", "call.offer", |p| {
        p["call_id"] == call.as_str()
    })
    .await;
    assert_eq!(p["auto_rejected"], true);
    assert_eq!(p["from"], format!("{ANN}@s.whatsapp.net"));
    // The server got bob's refusal of that very call.
    let deadline = tokio::time::Instant::now() + WAIT;
    while gw.sim.call_rejections().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call was never declined"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gw.sim.call_rejections(), [(BOB.to_owned(), call)]);
}
