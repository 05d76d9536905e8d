//! The REST routes for app-state chat actions, end to end: the real
//! `wa-connector serve` process (REST component included) behind the simulator
//! playing the phone, which shares its app-state key after linking. Starring,
//! deleting for me, pinning, archiving and the push name go out as app-state
//! patches the phone decrypts with its key, and show in the API's own views;
//! bad input, unknown messages and a device without the key are refused in the
//! envelope.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::gateway::{Gateway, Reply, WAIT};
use wa_proto::appstate::{ChatAction, Collection, MessageRef};
use wa_simulator::SimulatorConfig;
use wa_store::AccountId;

const ANN: &str = "15550310001";
const BOB: &str = "15550310002";

/// The gateway over a simulator whose phones share their app-state keys.
async fn start(label: &str) -> Gateway {
    let sim = SimulatorConfig {
        share_app_state_keys: true,
        ..SimulatorConfig::default()
    };
    Gateway::start_with(label, &[], sim).await
}

/// Waits until the connector has stored the key the phone of `phone` shared
/// with device `id` (read from its SQLite store beside the running process).
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

/// Asserts an error envelope: the status, the code, a message and no results.
#[track_caller]
fn assert_refused(reply: &Reply, status: u16, code: &str) {
    let body = reply.json();
    assert_eq!(
        (reply.status, body["code"].as_str().unwrap_or_default()),
        (status, code),
        "{body}"
    );
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(body["results"], Value::Null);
}

/// Asserts the answer of an action without results and returns its message.
#[track_caller]
fn assert_done(reply: &Reply) -> String {
    assert_eq!(reply.ok(), Value::Null);
    reply.json()["message"].as_str().unwrap().to_owned()
}

/// Bob's chat as ann's `GET /chats` lists it.
async fn chat_view(gw: &Gateway, chat: &str) -> Value {
    let page = gw.get(Some("ann"), "/chats").await.ok();
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["jid"] == chat)
        .unwrap_or_else(|| panic!("no chat {chat} in {page}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_actions_reach_the_phone_and_the_history() {
    let gw = start("chat-actions").await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    wait_for_key(&gw, "ann", ANN).await;
    let bob = format!("{BOB}@s.whatsapp.net");
    let kept = gw
        .send_and_receive(("bob", ANN), ("ann", &bob), "star me")
        .await;
    let dropped = gw
        .send_and_receive(("bob", ANN), ("ann", &bob), "delete me")
        .await;
    let (kept, dropped) = (
        kept["id"].as_str().unwrap().to_owned(),
        dropped["id"].as_str().unwrap().to_owned(),
    );
    let message = |id: &str| MessageRef {
        chat: bob.clone(),
        id: id.to_owned(),
        from_me: false,
        participant: None,
    };

    // Star, then unstar: the phone decrypts both, in order.
    let star = gw
        .post(
            Some("ann"),
            &format!("/message/{kept}/star"),
            json!({"phone": BOB}),
        )
        .await;
    assert_eq!(assert_done(&star), "Starred message successfully");
    let starred = ChatAction::Star {
        message: message(&kept),
        starred: true,
    };
    assert_eq!(
        gw.sim.app_state_actions(ANN, Collection::RegularHigh),
        std::slice::from_ref(&starred)
    );
    let unstar = gw
        .post(
            Some("ann"),
            &format!("/message/{kept}/unstar"),
            json!({"phone": bob}),
        )
        .await;
    assert_eq!(assert_done(&unstar), "Unstarred message successfully");
    let unstarred = ChatAction::Star {
        message: message(&kept),
        starred: false,
    };
    assert_eq!(
        gw.sim.app_state_actions(ANN, Collection::RegularHigh),
        [starred.clone(), unstarred.clone()]
    );

    // Pin and archive: answered with the chat's new state, seen by the phone and
    // in GET /chats.
    let before = chat_view(&gw, &bob).await;
    assert_eq!(
        (&before["pinned"], &before["archived"]),
        (&json!(false), &json!(false))
    );
    let pin = gw
        .post(
            Some("ann"),
            &format!("/chat/{bob}/pin"),
            json!({"pinned": true}),
        )
        .await;
    assert_eq!(
        pin.ok(),
        json!({"status": "success", "message": "Chat pinned successfully", "chat_jid": bob, "pinned": true})
    );
    let archive = gw
        .post(
            Some("ann"),
            &format!("/chat/{BOB}/archive"),
            json!({"archived": true}),
        )
        .await;
    assert_eq!(
        archive.ok(),
        json!({"status": "success", "message": "Chat archived successfully", "chat_jid": bob, "archived": true})
    );
    let chat = chat_view(&gw, &bob).await;
    assert_eq!(
        (&chat["pinned"], &chat["archived"]),
        (&json!(true), &json!(true)),
        "{chat}"
    );
    let unpin = gw
        .post(
            Some("ann"),
            &format!("/chat/{bob}/pin"),
            json!({"pinned": false}),
        )
        .await;
    assert_eq!(unpin.ok()["pinned"], json!(false));
    let chat = chat_view(&gw, &bob).await;
    assert_eq!(
        (&chat["pinned"], &chat["archived"]),
        (&json!(false), &json!(true)),
        "{chat}"
    );
    assert_eq!(
        gw.sim.app_state_actions(ANN, Collection::RegularLow),
        [
            ChatAction::Pin {
                chat: bob.clone(),
                pinned: true
            },
            ChatAction::Archive {
                chat: bob.clone(),
                archived: true
            },
            ChatAction::Pin {
                chat: bob.clone(),
                pinned: false
            },
        ]
    );

    // The push name: the phone sees it, and so does the device's own view.
    let name = gw
        .post(
            Some("ann"),
            "/user/pushname",
            json!({"push_name": "Ann via REST"}),
        )
        .await;
    assert_eq!(assert_done(&name), "Success change push name");
    assert_eq!(
        gw.sim.app_state_actions(ANN, Collection::CriticalBlock),
        [ChatAction::PushName {
            name: "Ann via REST".into()
        }]
    );
    let device = gw.get(None, "/devices/ann").await.ok();
    assert_eq!(device["display_name"], "Ann via REST", "{device}");

    // Delete for me: the phone gets it with the message's time, and the message
    // leaves ann's history while the other stays.
    let delete = gw
        .post(
            Some("ann"),
            &format!("/message/{dropped}/delete"),
            json!({"phone": BOB}),
        )
        .await;
    assert_eq!(assert_done(&delete), "Message deleted successfully");
    let high = gw.sim.app_state_actions(ANN, Collection::RegularHigh);
    match &high[..] {
        [
            first,
            second,
            ChatAction::DeleteForMe {
                message: deleted,
                message_timestamp,
                delete_media: true,
            },
        ] => {
            assert_eq!((first, second), (&starred, &unstarred));
            assert_eq!(deleted, &message(&dropped));
            assert!(*message_timestamp > 1_700_000_000, "{message_timestamp}");
        }
        other => panic!("unexpected actions {other:?}"),
    }
    let page = gw
        .get(Some("ann"), &format!("/chat/{bob}/messages?limit=100"))
        .await
        .ok();
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()], "{page}");

    // Refusals, in the envelope, and nothing more reaches the phone.
    let unknown = gw
        .post(
            Some("ann"),
            "/message/3EB0NOSUCHMESSAGE/star",
            json!({"phone": BOB}),
        )
        .await;
    assert_refused(&unknown, 404, "NOT_FOUND");
    let gone = gw
        .post(
            Some("ann"),
            &format!("/message/{dropped}/delete"),
            json!({"phone": BOB}),
        )
        .await;
    assert_refused(&gone, 404, "NOT_FOUND");
    let bad_phone = gw
        .post(
            Some("ann"),
            &format!("/message/{kept}/star"),
            json!({"phone": "not-a-number"}),
        )
        .await;
    assert_refused(&bad_phone, 400, "INVALID_JID");
    let no_phone = gw
        .post(Some("ann"), &format!("/message/{kept}/star"), json!({}))
        .await;
    assert_refused(&no_phone, 400, "VALIDATION_ERROR");
    let bad_chat = gw
        .post(
            Some("ann"),
            "/chat/12@example.com/pin",
            json!({"pinned": true}),
        )
        .await;
    assert_refused(&bad_chat, 400, "INVALID_JID");
    let no_flag = gw
        .post(Some("ann"), &format!("/chat/{bob}/archive"), json!({}))
        .await;
    assert_refused(&no_flag, 400, "VALIDATION_ERROR");
    let not_a_flag = gw
        .post(
            Some("ann"),
            &format!("/chat/{bob}/pin"),
            json!({"pinned": "sometimes"}),
        )
        .await;
    assert_refused(&not_a_flag, 400, "VALIDATION_ERROR");
    let blank = gw
        .post(Some("ann"), "/user/pushname", json!({"push_name": "  "}))
        .await;
    assert_refused(&blank, 400, "VALIDATION_ERROR");
    assert_eq!(
        gw.sim.app_state_actions(ANN, Collection::RegularHigh).len(),
        3
    );
    assert_eq!(
        gw.sim.app_state_actions(ANN, Collection::RegularLow).len(),
        3
    );
    assert_eq!(
        gw.sim
            .app_state_actions(ANN, Collection::CriticalBlock)
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_phones_key_actions_wait_for_it() {
    // The default simulator's phone never shares its key.
    let gw = Gateway::start("chat-actions-no-key", &[]).await;
    gw.link("ann", ANN).await;
    let bob = format!("{BOB}@s.whatsapp.net");
    let pin = gw
        .post(
            Some("ann"),
            &format!("/chat/{bob}/pin"),
            json!({"pinned": true}),
        )
        .await;
    assert_refused(&pin, 409, "APP_STATE_NOT_READY");
    let name = gw
        .post(Some("ann"), "/user/pushname", json!({"push_name": "Ann"}))
        .await;
    assert_refused(&name, 409, "APP_STATE_NOT_READY");
    for collection in [Collection::RegularLow, Collection::CriticalBlock] {
        assert!(gw.sim.app_state_actions(ANN, collection).is_empty());
    }
    // A device that is not logged in is told so, not about the key.
    let created = gw.post(None, "/devices", json!({"device_id": "cid"})).await;
    created.ok();
    let idle = gw
        .post(
            Some("cid"),
            &format!("/chat/{bob}/pin"),
            json!({"pinned": true}),
        )
        .await;
    assert_refused(&idle, 409, "DEVICE_NOT_READY");
}
