//! App-state snapshots and external mutations end to end, over the simulator playing
//! the server and the phone. A device that syncs a collection from scratch asks for a
//! snapshot, downloads the `md-app-state` blob from the media host, verifies it and
//! applies its records before the patches after it; a large patch's mutations come
//! from a blob too. The real `wa-connector serve` process shows what a snapshot
//! carried in `GET /chats`; in-process accounts check that a tampered snapshot is
//! refused with nothing applied, and the external-mutations path.

mod support;

use serde_json::Value;
use support::gateway::{Gateway, WAIT, eventually};
use wa_connector::appstate::AppStateError;
use wa_connector::{AccountHandle, AccountManager, AccountState, ConnectorOptions};
use wa_proto::appstate::{AppStateError as ProtoError, ChatAction, Collection, MessageRef};
use wa_simulator::{AppStateServed, Simulator, SimulatorConfig, SimulatorHandle};
use wa_store::{AccountId, DynStore};

const ANN: &str = "15550320001";
const BOB: &str = "15550320002";
const CAROL: &str = "15550320003";

/// The phone of `phone` shares its app-state key with its one linked device, and
/// the device stores it. Asked again until it lands: the phone can share only once
/// the device has published its pre-keys.
async fn share_key(sim: &SimulatorHandle, phone: &str, store: &DynStore, account: &AccountId) {
    let device = sim.devices(phone).pop().expect("a linked device");
    let key = sim.app_state_key(phone);
    eventually("the shared key is stored", || async {
        sim.share_app_state_key(&device);
        let stored = store.latest_app_state_key(account).await.unwrap()?;
        (stored.data == key.data).then_some(())
    })
    .await;
}

/// `(pinned, archived)` of `chat` in `GET /chats` of ann.
async fn flags(gw: &Gateway, chat: &str) -> Option<(bool, bool)> {
    let page = gw.get(Some("ann"), "/chats").await.ok();
    let found = page["data"].as_array()?.iter().find(|c| c["jid"] == chat)?;
    Some((
        found["pinned"] == Value::Bool(true),
        found["archived"] == Value::Bool(true),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_state_starts_from_a_snapshot() {
    // The phone does not share its key at linking: it does so after its changes.
    let gw = Gateway::start_with("app-state-snapshot", &[], SimulatorConfig::default()).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.link("carol", CAROL).await;
    let (bob, carol) = (
        format!("{BOB}@s.whatsapp.net"),
        format!("{CAROL}@s.whatsapp.net"),
    );
    let kept = gw
        .send_and_receive(("bob", ANN), ("ann", &bob), "star me")
        .await;
    let kept = kept["id"].as_str().unwrap().to_owned();
    gw.send_and_receive(("carol", ANN), ("ann", &carol), "hello")
        .await;
    assert_eq!(flags(&gw, &bob).await, Some((false, false)));

    // The phone pins and archives both chats, stars bob's message and renames
    // itself before the gateway can read any of it. The server compacts
    // regular_low after three changes, so one more follows its snapshot.
    let pin = |chat: &str| ChatAction::Pin {
        chat: chat.to_owned(),
        pinned: true,
    };
    let archive = |chat: &str| ChatAction::Archive {
        chat: chat.to_owned(),
        archived: true,
    };
    gw.sim.push_app_state(ANN, &pin(&bob));
    gw.sim.push_app_state(ANN, &pin(&carol));
    gw.sim.push_app_state(ANN, &archive(&carol));
    assert_eq!(
        gw.sim.app_state_compact(ANN, Collection::RegularLow),
        Some(3)
    );
    gw.sim.push_app_state(ANN, &archive(&bob));
    let star = ChatAction::Star {
        message: MessageRef {
            chat: bob.clone(),
            id: kept.clone(),
            from_me: false,
            participant: None,
        },
        starred: true,
    };
    gw.sim.push_app_state(ANN, &star);
    gw.sim.push_app_state(
        ANN,
        &ChatAction::PushName {
            name: "Ann's phone".into(),
        },
    );
    // Nothing reached the gateway without the key.
    assert_eq!(flags(&gw, &bob).await, Some((false, false)));

    let path = gw.dir.join("data").join("wa.db");
    let db = wa_store::open(&format!("file:{}", path.display()))
        .await
        .expect("the connector's store opens");
    let ann = AccountId::new("ann").unwrap();
    share_key(&gw.sim, ANN, &db, &ann).await;

    for chat in [&bob, &carol] {
        eventually("the chat is pinned and archived in GET /chats", || async {
            (flags(&gw, chat).await == Some((true, true))).then_some(())
        })
        .await;
    }
    eventually("the message is starred", || async {
        (db.starred_messages(&ann, &bob).await.unwrap() == [kept.clone()]).then_some(())
    })
    .await;
    eventually("the push name is the phone's", || async {
        let account = db.get_account(&ann).await.unwrap();
        (account.push_name.as_deref() == Some("Ann's phone")).then_some(())
    })
    .await;
    // Each collection came as one snapshot (regular_low: at version 3, then patch 4)
    // and is stored at the phone's version with every record's MAC.
    for (collection, version, records) in [
        (Collection::RegularLow, 4, 4),
        (Collection::RegularHigh, 1, 1),
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
        assert_eq!(
            gw.sim.app_state_served(ANN, collection),
            AppStateServed {
                snapshots: 1,
                external_patches: 0
            },
            "{collection}"
        );
    }

    // Later changes are plain patches on top of the snapshot's state.
    gw.sim.push_app_state(
        ANN,
        &ChatAction::Pin {
            chat: bob.clone(),
            pinned: false,
        },
    );
    eventually("bob's chat is unpinned", || async {
        (flags(&gw, &bob).await == Some((false, true))).then_some(())
    })
    .await;
    assert_eq!(
        gw.sim
            .app_state_served(ANN, Collection::RegularLow)
            .snapshots,
        1
    );
}

/// The account manager over a simulator set up with `sim`, one account linked as
/// `phone` (the phone does not share its key by itself).
async fn linked(
    sim: SimulatorConfig,
    phone: &str,
) -> (SimulatorHandle, AccountManager, AccountHandle, DynStore) {
    let sim = Simulator::start(sim).await.unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("wa-connector-app-state-snapshot");
    std::fs::create_dir_all(&dir).unwrap();
    let store = wa_store::testing::sqlite_test_store(&dir, &format!("blobs-{phone}")).await;
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

fn push_name(name: &str) -> ChatAction {
    ChatAction::PushName { name: name.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_snapshot_is_refused_and_nothing_is_applied() {
    const PHONE: &str = "15550320011";
    let config = SimulatorConfig {
        tamper_app_state_snapshots: true,
        ..SimulatorConfig::default()
    };
    let (sim, _manager, handle, store) = linked(config, PHONE).await;
    let account = handle.id().clone();
    let before = store.get_account(&account).await.unwrap().push_name;
    sim.push_app_state(PHONE, &push_name("Tampered"));
    sim.push_app_state(
        PHONE,
        &ChatAction::Pin {
            chat: "15550320012@s.whatsapp.net".into(),
            pinned: true,
        },
    );
    share_key(&sim, PHONE, &store, &account).await;

    for collection in [Collection::CriticalBlock, Collection::RegularLow] {
        let error = handle.app_state().sync(&[collection]).await.unwrap_err();
        assert!(
            matches!(error, AppStateError::Patch(ProtoError::ExternalBlob(_))),
            "{collection}: {error}"
        );
        assert!(sim.app_state_served(PHONE, collection).snapshots >= 1);
        assert_eq!(
            store
                .load_app_state(&account, collection.name())
                .await
                .unwrap(),
            None,
            "{collection}: no state saved"
        );
    }
    assert_eq!(
        store.get_account(&account).await.unwrap().push_name,
        before,
        "the snapshot's push name was not applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_patch_comes_with_external_mutations() {
    const PHONE: &str = "15550320021";
    let config = SimulatorConfig {
        app_state_external_mutations_above: Some(1),
        ..SimulatorConfig::default()
    };
    let (sim, _manager, handle, store) = linked(config, PHONE).await;
    let account = handle.id().clone();
    let critical = Collection::CriticalBlock;
    sim.push_app_state(PHONE, &push_name("first"));
    share_key(&sim, PHONE, &store, &account).await;
    handle.app_state().sync(&[critical]).await.unwrap();
    let stored = |version: u64| {
        let (store, account) = (store.clone(), account.clone());
        async move {
            let state = store
                .load_app_state(&account, critical.name())
                .await
                .unwrap()
                .unwrap();
            assert_eq!((state.version, state.value_macs.len()), (version, 1));
        }
    };
    stored(1).await;
    let name = || async { store.get_account(&account).await.unwrap().push_name };
    assert_eq!(name().await.as_deref(), Some("first"));

    // Two renames in one patch: over the limit, its mutations come from a blob.
    sim.push_app_state_batch(PHONE, &[push_name("second"), push_name("third")]);
    handle.app_state().sync(&[critical]).await.unwrap();
    stored(2).await;
    assert_eq!(name().await.as_deref(), Some("third"));
    assert_eq!(
        sim.app_state_served(PHONE, critical),
        AppStateServed {
            snapshots: 1,
            external_patches: 1
        }
    );
    // A one-mutation patch stays inline.
    sim.push_app_state(PHONE, &push_name("fourth"));
    handle.app_state().sync(&[critical]).await.unwrap();
    stored(3).await;
    assert_eq!(name().await.as_deref(), Some("fourth"));
    assert_eq!(sim.app_state_served(PHONE, critical).external_patches, 1);
}
