//! App-state sync on both backends: shared keys (newest wins for sending), collection
//! versions with their LT-hash and index→value MAC map (overwrite, remove, snapshot
//! replace, one account's state invisible to another), the chat/message flags
//! mutations set, bad input, and logging out forgetting it all. PostgreSQL needs
//! `WA_TEST_POSTGRES_URL`.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use wa_store::testing::{postgres_test_store, sqlite_test_store};
use wa_store::{
    AccountId, AppStateCollection, AppStateKey, AppStateSave, Changes, ChatQuery,
    DeviceCredentials, DynStore, MessageStatus, NewAccount, NewMessage, StoreError,
};

fn test_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-store-app-state");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn account(store: &DynStore, id: &str) -> AccountId {
    let id = AccountId::new(id).unwrap();
    store
        .create_account(NewAccount::new(id.clone()))
        .await
        .unwrap();
    id
}

fn key(id: u8, data: u8, created_at: i64) -> AppStateKey {
    AppStateKey {
        id: vec![0, 0, 0, 0, 0, id],
        data: vec![data; 32],
        created_at,
    }
}

fn mac(b: u8) -> Vec<u8> {
    vec![b; 32]
}

fn save(version: u64, hash: u8) -> AppStateSave {
    AppStateSave {
        collection: "regular_high".into(),
        version,
        hash: vec![hash; 128],
        ..Default::default()
    }
}

fn message(chat: &str, id: &str, at_ms: u64) -> NewMessage {
    NewMessage {
        id: id.into(),
        chat: chat.into(),
        sender: chat.into(),
        from_me: false,
        timestamp: UNIX_EPOCH + Duration::from_millis(at_ms),
        kind: "text".into(),
        text: Some(id.into()),
        media: None,
        content: id.as_bytes().to_vec(),
        push_name: None,
        status: MessageStatus::Received,
    }
}

async fn keys_newest_wins(store: DynStore) {
    let a = account(&store, "a").await;
    let b = account(&store, "b").await;
    assert_eq!(store.latest_app_state_key(&a).await.unwrap(), None);
    store
        .put_app_state_keys(&a, &[key(1, 1, 100), key(2, 2, 300), key(3, 3, 200)])
        .await
        .unwrap();
    assert_eq!(
        store.latest_app_state_key(&a).await.unwrap(),
        Some(key(2, 2, 300))
    );
    assert_eq!(
        store.app_state_key(&a, &key(3, 0, 0).id).await.unwrap(),
        Some(key(3, 3, 200))
    );
    // The phone re-shares a key: replaced, not duplicated.
    store
        .put_app_state_keys(&a, &[key(1, 9, 400)])
        .await
        .unwrap();
    assert_eq!(
        store.latest_app_state_key(&a).await.unwrap(),
        Some(key(1, 9, 400))
    );
    // Keys are per account.
    assert_eq!(
        store.app_state_key(&b, &key(1, 0, 0).id).await.unwrap(),
        None
    );
    store.put_app_state_keys(&a, &[]).await.unwrap();
    let empty = AppStateKey {
        id: Vec::new(),
        data: vec![1; 32],
        created_at: 1,
    };
    assert!(matches!(
        store.put_app_state_keys(&a, &[empty]).await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn collection_state_moves_with_its_macs(store: DynStore) {
    let a = account(&store, "a").await;
    let b = account(&store, "b").await;
    assert_eq!(
        store.load_app_state(&a, "regular_high").await.unwrap(),
        None
    );
    let mut first = save(1, 1);
    first.set = vec![(mac(1), mac(11)), (mac(2), mac(12)), (mac(3), mac(13))];
    store.save_app_state(&a, &first).await.unwrap();
    // Overwrite one record, remove another; last write to an index wins.
    let mut second = save(3, 2);
    second.set = vec![(mac(1), mac(20)), (mac(4), mac(14)), (mac(1), mac(21))];
    second.removed = vec![mac(2)];
    store.save_app_state(&a, &second).await.unwrap();
    assert_eq!(
        store.load_app_state(&a, "regular_high").await.unwrap(),
        Some(AppStateCollection {
            version: 3,
            hash: vec![2; 128],
            value_macs: vec![(mac(1), mac(21)), (mac(3), mac(13)), (mac(4), mac(14))],
        })
    );
    // Other collections and accounts are untouched.
    assert_eq!(store.load_app_state(&a, "regular_low").await.unwrap(), None);
    assert_eq!(
        store.load_app_state(&b, "regular_high").await.unwrap(),
        None
    );
    // A snapshot replaces the whole map.
    let mut snapshot = save(10, 3);
    snapshot.replace = true;
    snapshot.set = vec![(mac(9), mac(19))];
    store.save_app_state(&a, &snapshot).await.unwrap();
    let state = store
        .load_app_state(&a, "regular_high")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (state.version, state.value_macs),
        (10, vec![(mac(9), mac(19))])
    );
    // A state with no records is still a state (version and hash kept).
    store.save_app_state(&b, &save(2, 4)).await.unwrap();
    assert_eq!(
        store.load_app_state(&b, "regular_high").await.unwrap(),
        Some(AppStateCollection {
            version: 2,
            hash: vec![4; 128],
            value_macs: Vec::new(),
        })
    );
}

async fn bad_state_is_refused_whole(store: DynStore) {
    let a = account(&store, "a").await;
    let mut short_hash = save(1, 1);
    short_hash.hash.pop();
    let mut short_mac = save(1, 1);
    short_mac.set = vec![(mac(1), mac(2)), (vec![1; 31], mac(3))];
    let mut no_name = save(1, 1);
    no_name.collection.clear();
    let huge = save(u64::MAX, 1);
    for bad in [short_hash, short_mac, no_name, huge] {
        assert!(
            matches!(
                store.save_app_state(&a, &bad).await,
                Err(StoreError::InvalidInput(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        store.load_app_state(&a, "regular_high").await.unwrap(),
        None
    );
}

async fn flags_on_chats_and_messages(store: DynStore) {
    let a = account(&store, "a").await;
    let alice = "491701111111@s.whatsapp.net";
    let group = "120363000000000001@g.us";
    let changes = Changes {
        messages: vec![
            message(alice, "m1", 1000),
            message(alice, "m2", 2000),
            message(group, "g1", 3000),
        ],
        ..Default::default()
    };
    store.commit(&a, &changes).await.unwrap();
    assert!(store.set_chat_pinned(&a, alice, true).await.unwrap());
    assert!(store.set_chat_archived(&a, group, true).await.unwrap());
    assert!(
        !store
            .set_chat_pinned(&a, "nobody@s.whatsapp.net", true)
            .await
            .unwrap()
    );
    let flags: Vec<_> = store
        .list_chats(&a, &ChatQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.jid, c.pinned, c.archived))
        .collect();
    assert_eq!(
        flags,
        [
            (group.to_owned(), false, true),
            (alice.to_owned(), true, false)
        ]
    );
    store.set_chat_archived(&a, group, false).await.unwrap();
    let chats = store.list_chats(&a, &ChatQuery::default()).await.unwrap();
    assert!(!chats[0].archived);

    assert!(
        store
            .set_message_starred(&a, alice, "m1", true)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_message_starred(&a, alice, "m2", true)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_message_starred(&a, alice, "nope", true)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_message_starred(&a, group, "m1", true)
            .await
            .unwrap()
    );
    assert_eq!(
        store.starred_messages(&a, alice).await.unwrap(),
        ["m2", "m1"]
    );
    store
        .set_message_starred(&a, alice, "m2", false)
        .await
        .unwrap();
    assert_eq!(store.starred_messages(&a, alice).await.unwrap(), ["m1"]);
    assert!(store.starred_messages(&a, group).await.unwrap().is_empty());
    assert!(matches!(
        store.set_message_starred(&a, "", "m1", true).await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn logout_forgets_app_state(store: DynStore) {
    let a = account(&store, "a").await;
    let creds = DeviceCredentials {
        format: 1,
        data: vec![7; 64],
    };
    store.save_device(&a, &creds, None).await.unwrap();
    store.put_app_state_keys(&a, &[key(1, 1, 1)]).await.unwrap();
    let mut s = save(4, 1);
    s.set = vec![(mac(1), mac(2))];
    store.save_app_state(&a, &s).await.unwrap();
    assert!(store.delete_device(&a).await.unwrap());
    assert_eq!(store.latest_app_state_key(&a).await.unwrap(), None);
    assert_eq!(
        store.load_app_state(&a, "regular_high").await.unwrap(),
        None
    );
    // Re-linking starts from an empty collection, not a stale MAC map.
    store.save_app_state(&a, &save(1, 5)).await.unwrap();
    let state = store
        .load_app_state(&a, "regular_high")
        .await
        .unwrap()
        .unwrap();
    assert!(state.value_macs.is_empty());
}

macro_rules! both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(sqlite_test_store(&test_dir(), stringify!($check)).await).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(postgres_test_store(concat!("app_state_", stringify!($check))).await)
                        .await;
                }
            )*
        }
    };
}

both_backends!(
    keys_newest_wins,
    collection_state_moves_with_its_macs,
    bad_state_is_refused_whole,
    flags_on_chats_and_messages,
    logout_forgets_app_state,
);
