//! App-state sync end to end: the real `wa-connector serve` process behind the
//! simulator playing the phone. After linking, the phone shares its app-state key
//! (end-to-end encrypted); the connector keeps it, and what the phone then changes
//! (pin, archive, star, push name, delete for me) reaches the connector through
//! `server_sync` and lands in its store, verified and decrypted with that key.
//! Pushing our own actions runs in-process (the account manager over the simulator):
//! the phone decrypts them with its key; a push that loses the race with the phone
//! gets `409`, syncs and is retried; without a key nothing is sent.

mod support;

use support::gateway::{Gateway, WAIT, eventually};
use wa_connector::appstate::AppStateError;
use wa_connector::{AccountHandle, AccountManager, AccountState, ConnectorOptions};
use wa_proto::appstate::{ChatAction, Collection, MessageRef};
use wa_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use wa_store::{AccountId, ChatQuery, DynStore, MessageQuery};

const ANN: &str = "15550300001";
const BOB: &str = "15550300002";

async fn start() -> Gateway {
    let sim = SimulatorConfig {
        share_app_state_keys: true,
        ..SimulatorConfig::default()
    };
    Gateway::start_with("app-state", &[], sim).await
}

/// The connector's own SQLite store, read beside the running process.
async fn store(gw: &Gateway) -> DynStore {
    let path = gw.dir.join("data").join("wa.db");
    wa_store::open(&format!("file:{}", path.display()))
        .await
        .expect("the connector's store opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phones_changes_reach_the_store() {
    let gw = start().await;
    let ann_jid = gw.link("ann", ANN).await;
    let bob_jid = gw.link("bob", BOB).await;
    let ann = AccountId::new("ann").unwrap();
    let db = store(&gw).await;

    // The phone shared its key once the connector published its pre-keys.
    let key = gw.sim.app_state_key(ANN);
    eventually("the shared key is stored", || async {
        let stored = db.latest_app_state_key(&ann).await.unwrap()?;
        ((stored.id, stored.data) == (key.id.clone(), key.data.clone())).then_some(())
    })
    .await;
    // Key material is not a message: nothing was stored in ann's own chat.
    let own = bare(&ann_jid);
    let query = MessageQuery {
        chat: Some(own.clone()),
        ..MessageQuery::default()
    };
    assert!(db.list_messages(&ann, &query).await.unwrap().is_empty());

    // Bob writes; ann has a chat with bob and his message.
    let bob = bare(&bob_jid);
    let id = gw.send_text("bob", ANN, "star me").await;
    gw.wait_for_message("ann", &bob, |m| m["id"] == id.as_str())
        .await;
    let second = gw.send_text("bob", ANN, "delete me").await;
    gw.wait_for_message("ann", &bob, |m| m["id"] == second.as_str())
        .await;

    let message = |id: &str| MessageRef {
        chat: bob.clone(),
        id: id.to_owned(),
        from_me: false,
        participant: None,
    };
    gw.sim.push_app_state(
        ANN,
        &ChatAction::Pin {
            chat: bob.clone(),
            pinned: true,
        },
    );
    gw.sim.push_app_state(
        ANN,
        &ChatAction::Archive {
            chat: bob.clone(),
            archived: true,
        },
    );
    gw.sim.push_app_state(
        ANN,
        &ChatAction::Star {
            message: message(&id),
            starred: true,
        },
    );
    gw.sim.push_app_state(
        ANN,
        &ChatAction::DeleteForMe {
            message: message(&second),
            message_timestamp: 0,
            delete_media: true,
        },
    );
    gw.sim.push_app_state(
        ANN,
        &ChatAction::PushName {
            name: "Ann from the phone".into(),
        },
    );

    eventually("bob's chat is pinned and archived", || async {
        let chats = db.list_chats(&ann, &ChatQuery::default()).await.unwrap();
        let chat = chats.into_iter().find(|c| c.jid == bob)?;
        (chat.pinned && chat.archived).then_some(())
    })
    .await;
    eventually("the message is starred", || async {
        (db.starred_messages(&ann, &bob).await.unwrap() == [id.clone()]).then_some(())
    })
    .await;
    eventually("the other message is deleted for me", || async {
        let q = MessageQuery {
            chat: Some(bob.clone()),
            ..MessageQuery::default()
        };
        let ids: Vec<String> = db
            .list_messages(&ann, &q)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.message.id)
            .collect();
        (ids == [id.clone()]).then_some(())
    })
    .await;
    eventually("the push name is the phone's", || async {
        let account = db.get_account(&ann).await.unwrap();
        (account.push_name.as_deref() == Some("Ann from the phone")).then_some(())
    })
    .await;
    // Each collection is stored at the phone's version, with its MACs.
    for (collection, version, records) in [
        (Collection::RegularLow, 2, 2),
        (Collection::RegularHigh, 2, 2),
        (Collection::CriticalBlock, 1, 1),
    ] {
        let state = eventually("the collection state is saved", || async {
            db.load_app_state(&ann, collection.name())
                .await
                .unwrap()
                .filter(|s| s.version == version)
        })
        .await;
        assert_eq!(state.value_macs.len(), records, "{collection}");
    }
    // Bob's account never got ann's key or state.
    let bob_account = AccountId::new("bob").unwrap();
    let bob_key = db.latest_app_state_key(&bob_account).await.unwrap();
    assert_ne!(bob_key.map(|k| k.data), Some(key.data));
}

/// `user@server` without a device part.
fn bare(jid: &str) -> String {
    match jid.split_once('@') {
        Some((user, server)) => format!("{}@{server}", user.split(':').next().unwrap()),
        None => jid.to_owned(),
    }
}

/// The account manager over a simulator (sharing keys or not), one account linked.
async fn linked(
    share_keys: bool,
    phone: &str,
) -> (SimulatorHandle, AccountManager, AccountHandle, DynStore) {
    let sim = Simulator::start(SimulatorConfig {
        share_app_state_keys: share_keys,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-connector-app-state");
    std::fs::create_dir_all(&dir).unwrap();
    let store = wa_store::testing::sqlite_test_store(&dir, &format!("push-{phone}")).await;
    let options = ConnectorOptions {
        server_url: sim.ws_url(),
        trust_root: sim.trust_root(),
        ..ConnectorOptions::default()
    };
    let manager = AccountManager::new(store.clone(), options);
    let id = AccountId::new(format!("acct-{phone}")).unwrap();
    let handle = manager.start(&id).await.unwrap();
    let waiting = handle
        .wait_for_state(AccountState::WaitingForPairing, WAIT)
        .await
        .unwrap();
    sim.scan_qr(&waiting.qr_code.unwrap(), phone).unwrap();
    handle
        .wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    (sim, manager, handle, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_actions_reach_the_phone_and_a_lost_race_is_retried() {
    const PHONE: &str = "15550300011";
    let (sim, _manager, handle, store) = linked(true, PHONE).await;
    let account = handle.id().clone();
    let key = sim.app_state_key(PHONE);
    eventually("the shared key is stored", || async {
        let stored = store.latest_app_state_key(&account).await.unwrap()?;
        (stored.data == key.data).then_some(())
    })
    .await;
    let peer = "15550300012@s.whatsapp.net".to_owned();
    let star = ChatAction::Star {
        message: MessageRef {
            chat: peer.clone(),
            id: "3EB0STAR".into(),
            from_me: false,
            participant: None,
        },
        starred: true,
    };
    handle.app_state().push(&star).await.unwrap();
    assert_eq!(
        sim.app_state_actions(PHONE, Collection::RegularHigh),
        std::slice::from_ref(&star)
    );
    let push_name = ChatAction::PushName {
        name: "Gateway".into(),
    };
    handle.app_state().push(&push_name).await.unwrap();
    assert_eq!(
        sim.app_state_actions(PHONE, Collection::CriticalBlock),
        [push_name]
    );
    assert_eq!(
        store
            .get_account(&account)
            .await
            .unwrap()
            .push_name
            .as_deref(),
        Some("Gateway"),
        "our own action is applied when read back"
    );

    // The phone pins the chat just before our archive is answered: 409, sync, retry.
    let pin = ChatAction::Pin {
        chat: peer.clone(),
        pinned: true,
    };
    let archive = ChatAction::Archive {
        chat: peer.clone(),
        archived: true,
    };
    sim.app_state_before_next_upload(PHONE, pin.clone());
    handle.app_state().push(&archive).await.unwrap();
    assert_eq!(
        sim.app_state_actions(PHONE, Collection::RegularLow),
        [pin, archive]
    );
    let state = store
        .load_app_state(&account, Collection::RegularLow.name())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.version, state.value_macs.len()), (2, 2));
    // Starring the same message again overwrites its record (the LT-hash subtracts
    // the old value): still one record, one version further.
    let unstar = ChatAction::Star {
        message: MessageRef {
            chat: peer,
            id: "3EB0STAR".into(),
            from_me: false,
            participant: None,
        },
        starred: false,
    };
    handle.app_state().push(&unstar).await.unwrap();
    let state = store
        .load_app_state(&account, Collection::RegularHigh.name())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.version, state.value_macs.len()), (2, 1));
    assert_eq!(
        sim.app_state_actions(PHONE, Collection::RegularHigh),
        [star, unstar]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_nothing_is_sent() {
    const PHONE: &str = "15550300021";
    let (sim, _manager, handle, _store) = linked(false, PHONE).await;
    let pin = ChatAction::Pin {
        chat: "15550300022@s.whatsapp.net".into(),
        pinned: true,
    };
    assert!(matches!(
        handle.app_state().push(&pin).await,
        Err(AppStateError::NoKey)
    ));
    assert!(
        sim.app_state_actions(PHONE, Collection::RegularLow)
            .is_empty()
    );
}
