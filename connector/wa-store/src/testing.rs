//! The contract every [`Store`](crate::Store) backend must meet, as reusable tests.
//!
//! [`store_integration_tests!`](crate::store_integration_tests) expands to one
//! `#[tokio::test]` per check below, each calling the caller's
//! `async fn get_store(name: &str) -> DynStore`, which must return a store over a
//! fresh, empty database for each new `name` — and the *same* database when called
//! again with the same name (that is how reopening is tested). The helpers
//! [`sqlite_test_store`] and [`postgres_test_store`] do exactly that.

use std::future::Future;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{
    AccountId, AccountPatch, AccountStatus, Changes, Chat, ChatQuery, CommitOutcome, ContactUpdate,
    DatabaseUri, DeviceCredentials, DeviceList, DynStore, MAX_PREKEY_ID, MediaInfo, MessageQuery,
    MessageStatus, NewAccount, NewEvent, NewMessage, OutboxEntry, OutboxOutcome, OutboxUpdate,
    PostgresStore, ReceiptUpdate, SenderKeyId, SignalWrites, SqliteOptions, SqliteStore,
    StoreError, StoredPreKey,
};
use crate::{
    AttemptOutcome, DeliveryAttempt, DeliveryQuery, DeliveryState, MAX_DELIVERIES_PAGE,
    NewDelivery, WebhookSettings,
};

/// Environment variable naming the PostgreSQL server the tests use.
pub const POSTGRES_URL_ENV: &str = "WA_TEST_POSTGRES_URL";

/// Expands, in the calling module, to the whole store contract as `#[tokio::test]`s.
///
/// The module must define `async fn get_store(name: &str) -> wa_store::DynStore`
/// (see the [`testing`](crate::testing) module) and depend on `tokio` with the
/// `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! store_integration_tests {
    () => {
        $crate::__store_integration_tests!(
            account_create_and_get,
            account_duplicate_id_is_conflict,
            account_missing_is_not_found,
            account_list_is_ordered_by_id,
            account_update_changes_only_given_fields,
            account_duplicate_jid_is_conflict,
            account_delete_removes_it,
            account_bad_input_is_rejected,
            account_text_round_trips_exactly,
            account_concurrent_creates,
            settings_round_trip,
            settings_bad_input_is_rejected,
            device_save_load_replace,
            device_pairing_sets_jid_and_status_atomically,
            device_missing_account_and_bad_input,
            device_delete_is_logout,
            prekeys_round_trip,
            prekey_ids_are_never_reused,
            device_secrets_stay_out_of_debug,
            message_commit_round_trips_every_field,
            message_duplicates_are_reported_not_overwritten,
            find_message_by_id_in_any_chat,
            message_edits_and_revokes_apply,
            commit_is_atomic,
            chats_are_upserted_ordered_and_counted,
            receipts_move_status_forward_only,
            outbox_life_cycle,
            events_are_ordered_across_accounts,
            signal_state_round_trip,
            logout_deletes_signal_state_keeps_messages,
            account_delete_cascades_everything,
            list_messages_filters,
            contact_upsert_keeps_old_fields,
            device_list_replaces,
            commit_bad_input_is_rejected,
            media_stored_key_is_recorded,
            webhook_settings_round_trip,
            webhook_deliveries_life_cycle,
            webhook_planners_race_once,
        );

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn reopen_keeps_data_and_is_idempotent() {
            $crate::testing::reopen_keeps_data_and_is_idempotent(|| {
                get_store("reopen_keeps_data_and_is_idempotent")
            })
            .await;
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_integration_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::testing::$name(get_store(stringify!($name)).await).await;
            }
        )*
    };
}

fn id(s: &str) -> AccountId {
    AccountId::new(s).expect("valid test id")
}

/// Created accounts start pending, unpaired, and read back equal.
pub async fn account_create_and_get(store: DynStore) {
    let before = SystemTime::now() - std::time::Duration::from_millis(1);
    let created = store
        .create_account(NewAccount {
            id: id("main"),
            push_name: Some("Main phone".into()),
        })
        .await
        .unwrap();
    assert_eq!(created.id, id("main"));
    assert_eq!(created.status, AccountStatus::Pending);
    assert_eq!(created.jid, None);
    assert_eq!(created.push_name.as_deref(), Some("Main phone"));
    assert!(created.created_at >= before);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(store.get_account(&id("main")).await.unwrap(), created);
}

/// Creating an existing id is `Conflict` and leaves the first one untouched.
pub async fn account_duplicate_id_is_conflict(store: DynStore) {
    let first = store
        .create_account(NewAccount {
            id: id("dup"),
            push_name: Some("first".into()),
        })
        .await
        .unwrap();
    let err = store
        .create_account(NewAccount {
            id: id("dup"),
            push_name: Some("second".into()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { entity: "account", key } if key == "dup"),
        "{err:?}"
    );
    assert_eq!(store.get_account(&id("dup")).await.unwrap(), first);
    assert_eq!(store.list_accounts().await.unwrap().len(), 1);
}

/// Reading, updating or deleting a missing account is `NotFound`.
pub async fn account_missing_is_not_found(store: DynStore) {
    let ghost = id("ghost");
    let is_not_found = |r: Result<(), StoreError>| {
        assert!(
            matches!(&r, Err(StoreError::NotFound { entity: "account", key }) if key == "ghost"),
            "{r:?}"
        )
    };
    is_not_found(store.get_account(&ghost).await.map(drop));
    is_not_found(
        store
            .set_account_status(&ghost, AccountStatus::Active)
            .await
            .map(drop),
    );
    is_not_found(store.delete_account(&ghost).await);
    assert!(store.list_accounts().await.unwrap().is_empty());
}

/// Listing returns every account, ordered by id.
pub async fn account_list_is_ordered_by_id(store: DynStore) {
    for name in ["charlie", "alpha", "Bravo", "alpha-2", "0zero"] {
        store
            .create_account(NewAccount::new(id(name)))
            .await
            .unwrap();
    }
    let ids: Vec<String> = store
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id.to_string())
        .collect();
    assert_eq!(ids, ["0zero", "Bravo", "alpha", "alpha-2", "charlie"]);
}

/// A patch changes exactly the fields it names; `Some(None)` clears a field.
pub async fn account_update_changes_only_given_fields(store: DynStore) {
    let created = store
        .create_account(NewAccount {
            id: id("acc"),
            push_name: Some("Old".into()),
        })
        .await
        .unwrap();
    let jid = "4915112345678:12@s.whatsapp.net";
    let paired = store
        .update_account(
            &id("acc"),
            AccountPatch {
                jid: Some(Some(jid.into())),
                status: Some(AccountStatus::Active),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(paired.jid.as_deref(), Some(jid));
    assert_eq!(paired.status, AccountStatus::Active);
    assert_eq!(paired.push_name.as_deref(), Some("Old"));
    assert_eq!(paired.created_at, created.created_at);
    assert!(paired.updated_at >= created.updated_at);
    assert_eq!(store.get_account(&id("acc")).await.unwrap(), paired);

    let renamed = store
        .update_account(
            &id("acc"),
            AccountPatch {
                push_name: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.push_name, None);
    assert_eq!(renamed.jid.as_deref(), Some(jid));

    let out = store
        .set_account_status(&id("acc"), AccountStatus::LoggedOut)
        .await
        .unwrap();
    assert_eq!(out.status, AccountStatus::LoggedOut);
    let unpaired = store
        .update_account(
            &id("acc"),
            AccountPatch {
                jid: Some(None),
                status: Some(AccountStatus::Pending),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (unpaired.jid, unpaired.status),
        (None, AccountStatus::Pending)
    );
    for status in [AccountStatus::Disconnected, AccountStatus::Active] {
        let a = store.set_account_status(&id("acc"), status).await.unwrap();
        assert_eq!(
            store.get_account(&id("acc")).await.unwrap().status,
            a.status
        );
    }
}

/// Two accounts cannot hold the same JID (one WhatsApp device, one account).
pub async fn account_duplicate_jid_is_conflict(store: DynStore) {
    let jid = "111:1@s.whatsapp.net";
    for name in ["a", "b"] {
        store
            .create_account(NewAccount::new(id(name)))
            .await
            .unwrap();
    }
    let pair = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .update_account(
                    &id(name),
                    AccountPatch {
                        jid: Some(Some(jid.into())),
                        ..Default::default()
                    },
                )
                .await
        }
    };
    pair("a").await.unwrap();
    let err = pair("b").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { key, .. } if key == jid),
        "{err:?}"
    );
    assert_eq!(store.get_account(&id("b")).await.unwrap().jid, None);
    // Re-setting the same JID on its own account is fine.
    pair("a").await.unwrap();
}

/// Deleting removes the account (and frees its id and JID for reuse).
pub async fn account_delete_removes_it(store: DynStore) {
    store
        .create_account(NewAccount::new(id("gone")))
        .await
        .unwrap();
    store
        .create_account(NewAccount::new(id("kept")))
        .await
        .unwrap();
    store
        .update_account(
            &id("gone"),
            AccountPatch {
                jid: Some(Some("1@s.whatsapp.net".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store.delete_account(&id("gone")).await.unwrap();
    assert!(matches!(
        store.get_account(&id("gone")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_account(&id("gone")).await,
        Err(StoreError::NotFound { .. })
    ));
    let left: Vec<_> = store.list_accounts().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, id("kept"));
    store
        .create_account(NewAccount::new(id("gone")))
        .await
        .unwrap();
    store
        .update_account(
            &id("kept"),
            AccountPatch {
                jid: Some(Some("1@s.whatsapp.net".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// Bad ids, JIDs and names are `InvalidInput` and change nothing.
pub async fn account_bad_input_is_rejected(store: DynStore) {
    for bad in [
        "",
        "has space",
        "slash/y",
        "../up",
        "ümlaut",
        "a\0b",
        &"x".repeat(65),
    ] {
        assert!(
            matches!(AccountId::new(bad), Err(StoreError::InvalidInput(_))),
            "{bad:?} should be rejected"
        );
    }
    assert!(AccountId::new("x".repeat(64)).is_ok());
    let err = store
        .create_account(NewAccount {
            id: id("n"),
            push_name: Some("y".repeat(crate::MAX_TEXT_LEN + 1)),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    let err = store
        .create_account(NewAccount {
            id: id("n"),
            push_name: Some("nul\0".into()),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    assert!(store.list_accounts().await.unwrap().is_empty());

    store
        .create_account(NewAccount::new(id("n")))
        .await
        .unwrap();
    for bad_jid in ["no-at-sign", "@s.whatsapp.net", "123@", ""] {
        let err = store
            .update_account(
                &id("n"),
                AccountPatch {
                    jid: Some(Some(bad_jid.into())),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput(_)),
            "{bad_jid:?}: {err:?}"
        );
    }
    assert_eq!(store.get_account(&id("n")).await.unwrap().jid, None);
}

/// Text with quotes, SQL, emoji and newlines is stored verbatim.
pub async fn account_text_round_trips_exactly(store: DynStore) {
    let name = "Zoë 🚀 '); DROP TABLE accounts; --\n\"quoted\"\t\\";
    let created = store
        .create_account(NewAccount {
            id: id("text"),
            push_name: Some(name.into()),
        })
        .await
        .unwrap();
    assert_eq!(created.push_name.as_deref(), Some(name));
    assert_eq!(
        store
            .get_account(&id("text"))
            .await
            .unwrap()
            .push_name
            .as_deref(),
        Some(name)
    );
    store.set_setting("k'\"; --", name).await.unwrap();
    assert_eq!(
        store.get_setting("k'\"; --").await.unwrap().as_deref(),
        Some(name)
    );
    assert_eq!(store.list_accounts().await.unwrap().len(), 1);
}

/// Many tasks writing at once all succeed; racing on one id, exactly one wins.
pub async fn account_concurrent_creates(store: DynStore) {
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_account(NewAccount::new(id(&format!("acc-{i:02}"))))
                .await
                .map(drop)
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.list_accounts().await.unwrap().len(), 32);

    let mut racers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store.create_account(NewAccount::new(id("contended"))).await
        }));
    }
    let (mut won, mut conflicts) = (0, 0);
    for r in racers {
        match r.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((won, conflicts), (1, 7));
}

/// Settings: set, overwrite, read, list in key order, delete.
pub async fn settings_round_trip(store: DynStore) {
    assert_eq!(store.get_setting("webhook.url").await.unwrap(), None);
    assert!(store.list_settings().await.unwrap().is_empty());
    store
        .set_setting("webhook.url", "https://a.example/hook")
        .await
        .unwrap();
    store
        .set_setting("webhook.url", "https://b.example/hook")
        .await
        .unwrap();
    store.set_setting("auto_reply", "").await.unwrap();
    store.set_setting("json", r#"{"a":[1,2]}"#).await.unwrap();
    assert_eq!(
        store.get_setting("webhook.url").await.unwrap().as_deref(),
        Some("https://b.example/hook")
    );
    assert_eq!(
        store.get_setting("auto_reply").await.unwrap().as_deref(),
        Some("")
    );
    assert_eq!(
        store.list_settings().await.unwrap(),
        vec![
            ("auto_reply".to_string(), String::new()),
            ("json".to_string(), r#"{"a":[1,2]}"#.to_string()),
            (
                "webhook.url".to_string(),
                "https://b.example/hook".to_string()
            ),
        ]
    );
    assert!(store.delete_setting("json").await.unwrap());
    assert!(!store.delete_setting("json").await.unwrap());
    assert_eq!(store.get_setting("json").await.unwrap(), None);
    assert_eq!(store.list_settings().await.unwrap().len(), 2);
}

/// Empty, over-long or control-character keys and NUL values are `InvalidInput`.
pub async fn settings_bad_input_is_rejected(store: DynStore) {
    let long = "k".repeat(crate::MAX_SETTING_KEY_LEN + 1);
    for key in ["", "line\nbreak", long.as_str()] {
        for result in [
            store.get_setting(key).await.map(drop),
            store.set_setting(key, "v").await,
            store.delete_setting(key).await.map(drop),
        ] {
            assert!(
                matches!(result, Err(StoreError::InvalidInput(_))),
                "{key:?}: {result:?}"
            );
        }
    }
    assert!(matches!(
        store.set_setting("k", "nul\0").await,
        Err(StoreError::InvalidInput(_))
    ));
    assert!(store.list_settings().await.unwrap().is_empty());
}

fn creds(format: u32, byte: u8, len: usize) -> DeviceCredentials {
    DeviceCredentials {
        format,
        data: vec![byte; len],
    }
}

fn prekey(id: u32) -> StoredPreKey {
    StoredPreKey {
        id,
        private: [id as u8; 32],
        uploaded: false,
    }
}

/// Credentials round-trip byte for byte; saving again replaces them.
pub async fn device_save_load_replace(store: DynStore) {
    let a = id("dev");
    store
        .create_account(NewAccount::new(a.clone()))
        .await
        .unwrap();
    assert_eq!(store.load_device(&a).await.unwrap(), None);
    let mut first = creds(1, 0, 300);
    first.data.extend(0u8..=255);
    store.save_device(&a, &first, None).await.unwrap();
    assert_eq!(store.load_device(&a).await.unwrap(), Some(first));
    // Without a JID, the account row is untouched.
    let acc = store.get_account(&a).await.unwrap();
    assert_eq!((acc.jid, acc.status), (None, AccountStatus::Pending));
    let second = creds(2, 7, 10);
    store.save_device(&a, &second, None).await.unwrap();
    assert_eq!(store.load_device(&a).await.unwrap(), Some(second));
}

/// Saving with a JID records the JID and marks the account active in the same write;
/// a JID owned by another account is `Conflict` and changes nothing.
pub async fn device_pairing_sets_jid_and_status_atomically(store: DynStore) {
    let (a, b) = (id("pa"), id("pb"));
    for x in [&a, &b] {
        store
            .create_account(NewAccount::new(x.clone()))
            .await
            .unwrap();
    }
    let jid = "15551234567:3@s.whatsapp.net";
    store
        .save_device(&a, &creds(1, 1, 64), Some(jid))
        .await
        .unwrap();
    let acc = store.get_account(&a).await.unwrap();
    assert_eq!(acc.jid.as_deref(), Some(jid));
    assert_eq!(acc.status, AccountStatus::Active);
    let err = store
        .save_device(&b, &creds(1, 2, 64), Some(jid))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Conflict {
                entity: "account jid",
                ..
            }
        ),
        "{err:?}"
    );
    // The failed pairing left no credentials behind (one transaction).
    assert_eq!(store.load_device(&b).await.unwrap(), None);
    assert_eq!(
        store.get_account(&b).await.unwrap().status,
        AccountStatus::Pending
    );
}

/// Unknown accounts are `NotFound`; empty or oversized blobs and bad JIDs are refused.
pub async fn device_missing_account_and_bad_input(store: DynStore) {
    let ghost = id("ghost-dev");
    let err = store
        .save_device(&ghost, &creds(1, 1, 8), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(matches!(
        store.delete_device(&ghost).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert_eq!(store.load_device(&ghost).await.unwrap(), None);
    let a = id("bad-dev");
    store
        .create_account(NewAccount::new(a.clone()))
        .await
        .unwrap();
    for bad in [
        creds(1, 0, 0),
        creds(1, 0, crate::MAX_CREDENTIALS_LEN + 1),
        creds(u32::MAX, 0, 4),
    ] {
        let err = store.save_device(&a, &bad, None).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    }
    let err = store
        .save_device(&a, &creds(1, 0, 4), Some("no-at-sign"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    // Pre-keys need a device.
    let err = store.save_prekeys(&a, &[prekey(1)]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(matches!(
        store.next_prekey_id(&a).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert_eq!(store.load_device(&a).await.unwrap(), None);
}

/// Logout deletes credentials and pre-keys, clears the JID, marks the account logged
/// out, and lets the JID be paired again; deleting the account cascades too.
pub async fn device_delete_is_logout(store: DynStore) {
    let a = id("bye");
    store
        .create_account(NewAccount::new(a.clone()))
        .await
        .unwrap();
    let jid = "15550000001:1@s.whatsapp.net";
    store
        .save_device(&a, &creds(1, 3, 32), Some(jid))
        .await
        .unwrap();
    store
        .save_prekeys(&a, &[prekey(1), prekey(2)])
        .await
        .unwrap();
    assert!(store.delete_device(&a).await.unwrap());
    assert_eq!(store.load_device(&a).await.unwrap(), None);
    assert_eq!(store.count_prekeys(&a).await.unwrap(), 0);
    let acc = store.get_account(&a).await.unwrap();
    assert_eq!((acc.jid, acc.status), (None, AccountStatus::LoggedOut));
    assert!(!store.delete_device(&a).await.unwrap());
    // Pairing again (same JID) works, and starts pre-key ids afresh.
    store
        .save_device(&a, &creds(1, 4, 32), Some(jid))
        .await
        .unwrap();
    assert_eq!(store.next_prekey_id(&a).await.unwrap(), 1);
    store.save_prekeys(&a, &[prekey(1)]).await.unwrap();
    store.delete_account(&a).await.unwrap();
    assert_eq!(store.load_device(&a).await.unwrap(), None);
    assert_eq!(store.count_prekeys(&a).await.unwrap(), 0);
}

/// Pre-keys round-trip, get marked uploaded, are removed once; duplicates conflict.
pub async fn prekeys_round_trip(store: DynStore) {
    let a = id("pk");
    store
        .create_account(NewAccount::new(a.clone()))
        .await
        .unwrap();
    store.save_device(&a, &creds(1, 9, 32), None).await.unwrap();
    assert_eq!(store.next_prekey_id(&a).await.unwrap(), 1);
    let keys: Vec<_> = (1..=30).map(prekey).collect();
    store.save_prekeys(&a, &keys).await.unwrap();
    assert_eq!(store.count_prekeys(&a).await.unwrap(), 30);
    assert_eq!(store.get_prekey(&a, 7).await.unwrap(), Some(prekey(7)));
    store.mark_prekeys_uploaded(&a, &[7, 8]).await.unwrap();
    assert!(store.get_prekey(&a, 7).await.unwrap().unwrap().uploaded);
    assert!(!store.get_prekey(&a, 9).await.unwrap().unwrap().uploaded);
    assert!(store.remove_prekey(&a, 7).await.unwrap());
    assert!(!store.remove_prekey(&a, 7).await.unwrap());
    assert_eq!(store.get_prekey(&a, 7).await.unwrap(), None);
    let err = store
        .save_prekeys(&a, &[prekey(31), prekey(8)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // The failed batch stored nothing (one transaction).
    assert_eq!(store.get_prekey(&a, 31).await.unwrap(), None);
    for bad in [0, MAX_PREKEY_ID + 1] {
        let err = store.save_prekeys(&a, &[prekey(bad)]).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    }
    // Another account's keys are separate.
    let b = id("pk2");
    store
        .create_account(NewAccount::new(b.clone()))
        .await
        .unwrap();
    store.save_device(&b, &creds(1, 9, 32), None).await.unwrap();
    assert_eq!(store.get_prekey(&b, 8).await.unwrap(), None);
    store.save_prekeys(&b, &[prekey(8)]).await.unwrap();
}

/// The next id moves past every stored id, even after keys are removed, and wraps
/// after the 24-bit maximum.
pub async fn prekey_ids_are_never_reused(store: DynStore) {
    let a = id("pkid");
    store
        .create_account(NewAccount::new(a.clone()))
        .await
        .unwrap();
    store.save_device(&a, &creds(1, 9, 32), None).await.unwrap();
    store
        .save_prekeys(&a, &[prekey(1), prekey(2), prekey(3)])
        .await
        .unwrap();
    assert_eq!(store.next_prekey_id(&a).await.unwrap(), 4);
    for i in 1..=3 {
        store.remove_prekey(&a, i).await.unwrap();
    }
    assert_eq!(store.next_prekey_id(&a).await.unwrap(), 4);
    // Re-saving credentials (login refresh) keeps the counter.
    store.save_device(&a, &creds(1, 8, 32), None).await.unwrap();
    assert_eq!(store.next_prekey_id(&a).await.unwrap(), 4);
    store
        .save_prekeys(&a, &[prekey(MAX_PREKEY_ID)])
        .await
        .unwrap();
    assert_eq!(store.next_prekey_id(&a).await.unwrap(), 1);
}

/// `Debug` of credentials and pre-keys shows no secret bytes.
pub async fn device_secrets_stay_out_of_debug(store: DynStore) {
    let secret = DeviceCredentials {
        format: 1,
        data: b"very-secret-bytes".to_vec(),
    };
    let a = id("dbg");
    store
        .create_account(NewAccount::new(a.clone()))
        .await
        .unwrap();
    store.save_device(&a, &secret, None).await.unwrap();
    let loaded = store.load_device(&a).await.unwrap();
    let shown = format!("{secret:?} {loaded:?}");
    assert!(!shown.contains("118") && !shown.contains("very"), "{shown}");
    let k = StoredPreKey {
        id: 5,
        private: [0xab; 32],
        uploaded: false,
    };
    assert!(!format!("{k:?}").contains("171"));
    assert!(!format!("{:?}", store).contains("very"));
}

// ---- Message traffic: messages, chats, receipts, outbox, events, Signal state, contacts.

/// Our own user JID in the message tests.
const ME: &str = "15550000000@s.whatsapp.net";

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn incoming(chat: &str, sender: &str, id: &str, ms: u64, text: &str) -> NewMessage {
    NewMessage {
        id: id.into(),
        chat: chat.into(),
        sender: sender.into(),
        from_me: false,
        timestamp: at(ms),
        kind: "text".into(),
        text: Some(text.into()),
        media: None,
        content: format!("content:{id}").into_bytes(),
        push_name: None,
        status: MessageStatus::Received,
    }
}

fn outgoing(chat: &str, id: &str, ms: u64, text: &str) -> NewMessage {
    NewMessage {
        from_me: true,
        status: MessageStatus::Sent,
        ..incoming(chat, ME, id, ms, text)
    }
}

fn event(kind: &str, payload: &str) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        payload: payload.into(),
    }
}

fn with_messages(messages: Vec<NewMessage>) -> Changes {
    Changes {
        messages,
        ..Changes::default()
    }
}

async fn new_account(store: &DynStore, name: &str) -> AccountId {
    store
        .create_account(NewAccount::new(id(name)))
        .await
        .unwrap()
        .id
}

/// The ids `list_messages` returns, in order.
async fn listed(store: &DynStore, account: &AccountId, query: MessageQuery) -> Vec<String> {
    store
        .list_messages(account, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message.id)
        .collect()
}

async fn status_of(store: &DynStore, account: &AccountId, chat: &str, id: &str) -> MessageStatus {
    store
        .get_message(account, chat, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("message {id} not stored"))
        .message
        .status
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::InvalidInput(_))),
        "{what}: expected InvalidInput, got {result:?}"
    );
}

/// Everything a message carries (media reference included) reads back equal, with
/// millisecond timestamps; `created_at`/`updated_at` are the commit's time.
pub async fn message_commit_round_trips_every_field(store: DynStore) {
    let a = new_account(&store, "rt").await;
    let before = SystemTime::now() - Duration::from_millis(1);
    let media = MediaInfo {
        mimetype: Some("image/jpeg".into()),
        direct_path: Some("/v/t62.7118-24/123_456.enc?ccb=11-4&oh=x".into()),
        media_key: Some(vec![7; 32]),
        file_sha256: Some((0..32).collect()),
        file_enc_sha256: Some((100..132).collect()),
        file_length: Some(u64::from(u32::MAX) + 5),
        file_name: Some("Zoë's photo.jpg".into()),
        stored_key: Some("sha256/ab/cdef".into()),
    };
    let full = NewMessage {
        id: "3EB0C767D26A8E9F".into(),
        chat: "120363000000000001@g.us".into(),
        sender: "15551112222@s.whatsapp.net".into(),
        from_me: false,
        timestamp: at(1_700_000_000_123),
        kind: "image".into(),
        text: Some("caption 🚀 '); DROP TABLE messages; --\n".into()),
        media: Some(media),
        content: (0..=255).collect(),
        push_name: Some("Ana".into()),
        status: MessageStatus::Received,
    };
    // Media present but empty stays `Some`, and a message with nothing optional works.
    let empty_media = NewMessage {
        media: Some(MediaInfo::default()),
        kind: "document".into(),
        ..incoming(ME, ME, "EMPTY-MEDIA", 1_700_000_001_000, "")
    };
    let bare = NewMessage {
        text: None,
        content: Vec::new(),
        status: MessageStatus::Pending,
        ..outgoing("15553334444@s.whatsapp.net", "BARE", 1_700_000_002_000, "")
    };
    let outcome = store
        .commit(
            &a,
            &with_messages(vec![full.clone(), empty_media.clone(), bare.clone()]),
        )
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::default());
    for m in [&full, &empty_media, &bare] {
        let got = store
            .get_message(&a, &m.chat, &m.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&got.message, m);
        assert_eq!(got.account, a);
        assert!(got.created_at >= before && got.created_at <= SystemTime::now());
        assert_eq!(got.created_at, got.updated_at);
        assert!(
            store
                .message_exists(&a, &m.chat, &m.sender, &m.id)
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .message_exists(&a, &full.chat, "other@s.whatsapp.net", &full.id)
            .await
            .unwrap()
    );
    assert_eq!(store.count_messages(&a).await.unwrap(), 3);
    assert_eq!(
        listed(&store, &a, MessageQuery::default()).await,
        ["BARE", "EMPTY-MEDIA", "3EB0C767D26A8E9F"]
    );
    // Sub-millisecond precision is dropped, not rounded.
    let precise = NewMessage {
        timestamp: at(1_700_000_003_456) + Duration::from_micros(999),
        ..incoming(ME, ME, "PRECISE", 0, "x")
    };
    store
        .commit(&a, &with_messages(vec![precise]))
        .await
        .unwrap();
    let got = store.get_message(&a, ME, "PRECISE").await.unwrap().unwrap();
    assert_eq!(got.message.timestamp, at(1_700_000_003_456));
    // Another account sees none of it.
    let b = new_account(&store, "rt-other").await;
    assert_eq!(
        store.get_message(&b, &full.chat, &full.id).await.unwrap(),
        None
    );
    assert!(
        !store
            .message_exists(&b, &full.chat, &full.sender, &full.id)
            .await
            .unwrap()
    );
    assert_eq!(store.count_messages(&b).await.unwrap(), 0);
}

/// A redelivered message (same chat, sender, id) is reported by index and leaves the
/// stored row and its chat's count alone; repeats inside one batch count too.
pub async fn message_duplicates_are_reported_not_overwritten(store: DynStore) {
    let a = new_account(&store, "dup-msg").await;
    let (chat, sender) = ("120363000000000002@g.us", "15551110000@s.whatsapp.net");
    let first = incoming(chat, sender, "A", 1000, "first");
    store
        .commit(&a, &with_messages(vec![first.clone()]))
        .await
        .unwrap();
    let changed = NewMessage {
        text: Some("overwritten?".into()),
        status: MessageStatus::Read,
        ..first.clone()
    };
    let b = incoming(chat, sender, "B", 2000, "b");
    let b_again = NewMessage {
        text: Some("b again".into()),
        ..b.clone()
    };
    let outcome = store
        .commit(&a, &with_messages(vec![changed, b, b_again]))
        .await
        .unwrap();
    assert_eq!(outcome.duplicate_messages, [0, 2]);
    let got = store.get_message(&a, chat, "A").await.unwrap().unwrap();
    assert_eq!(got.message, first);
    let got = store.get_message(&a, chat, "B").await.unwrap().unwrap();
    assert_eq!(got.message.text.as_deref(), Some("b"));
    assert_eq!(store.count_messages(&a).await.unwrap(), 2);
    let chats = store.list_chats(&a, &ChatQuery::default()).await.unwrap();
    assert_eq!((chats.len(), chats[0].message_count), (1, 2));
    // The same id from another sender is another message.
    let outcome = store
        .commit(
            &a,
            &with_messages(vec![incoming(
                chat,
                "1555999@s.whatsapp.net",
                "A",
                3000,
                "x",
            )]),
        )
        .await
        .unwrap();
    assert!(outcome.duplicate_messages.is_empty());
    assert_eq!(store.count_messages(&a).await.unwrap(), 3);
    // `get_message` prefers ours when ids collide across senders.
    store
        .commit(&a, &with_messages(vec![outgoing(chat, "A", 4000, "mine")]))
        .await
        .unwrap();
    let got = store.get_message(&a, chat, "A").await.unwrap().unwrap();
    assert!(got.message.from_me);
}

/// `find_message` finds a message by id in whichever chat it is: ours first
/// when ids collide, else the newest; other accounts' messages stay unseen.
pub async fn find_message_by_id_in_any_chat(store: DynStore) {
    let a = new_account(&store, "find-msg").await;
    let b = new_account(&store, "find-msg-other").await;
    let (peer, group) = ("15551110000@s.whatsapp.net", "120363000000000003@g.us");
    store
        .commit(
            &a,
            &with_messages(vec![
                incoming(peer, peer, "ONLY", 1000, "in a chat"),
                incoming(group, peer, "TWICE", 2000, "older"),
                incoming(peer, peer, "TWICE", 3000, "newer"),
                incoming(group, "15552220000@s.whatsapp.net", "MINE", 5000, "theirs"),
                outgoing(peer, "MINE", 4000, "ours"),
            ]),
        )
        .await
        .unwrap();
    let found = store.find_message(&a, "ONLY").await.unwrap().unwrap();
    assert_eq!(
        (found.message.chat.as_str(), found.message.text.as_deref()),
        (peer, Some("in a chat"))
    );
    assert_eq!(found.account, a);
    let found = store.find_message(&a, "TWICE").await.unwrap().unwrap();
    assert_eq!(found.message.text.as_deref(), Some("newer"));
    let found = store.find_message(&a, "MINE").await.unwrap().unwrap();
    assert!(found.message.from_me);
    assert_eq!(found.message.text.as_deref(), Some("ours"));
    assert!(store.find_message(&a, "NONE").await.unwrap().is_none());
    assert!(store.find_message(&b, "ONLY").await.unwrap().is_none());
}

/// Revokes and edits change the stored message they name and only it (same chat,
/// id and sender): an edit replaces the text (search finds the new one), a revoke
/// clears text and content and marks it revoked, after which edits do not apply; a
/// change to a message not stored changes nothing; a change may share the commit
/// of the message it changes.
pub async fn message_edits_and_revokes_apply(store: DynStore) {
    use crate::{EditKind, MessageEdit, REVOKED_KIND};
    let a = new_account(&store, "edits").await;
    let (peer, other) = ("15551110000@s.whatsapp.net", "15552220000@s.whatsapp.net");
    let group = "120363000000000004@g.us";
    let edit = |chat: &str, sender: &str, id: &str, change: EditKind| MessageEdit {
        chat: chat.into(),
        sender: sender.into(),
        id: id.into(),
        change,
    };
    let text = |s: &str| EditKind::Text(s.into());
    let stored = |chat: &'static str, id: &'static str| {
        let store = store.clone();
        let a = a.clone();
        async move {
            store
                .get_message(&a, chat, id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{id} not stored"))
                .message
        }
    };
    store
        .commit(
            &a,
            &Changes {
                messages: vec![
                    incoming(peer, peer, "E1", 1000, "helo wrold"),
                    incoming(peer, peer, "R1", 2000, "oops"),
                    incoming(group, other, "E1", 3000, "same id elsewhere"),
                ],
                message_edits: vec![edit(peer, peer, "E1", text("hello world"))],
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        stored(peer, "E1").await.text.as_deref(),
        Some("hello world")
    );
    assert_eq!(
        stored(group, "E1").await.text.as_deref(),
        Some("same id elsewhere")
    );
    let search = |q: &str| MessageQuery {
        search: Some(q.into()),
        limit: 10,
        ..MessageQuery::default()
    };
    assert_eq!(listed(&store, &a, search("HELLO")).await, ["E1"]);
    assert!(listed(&store, &a, search("wrold")).await.is_empty());

    // Someone else cannot edit it; the same edit twice is harmless.
    let changes = |edits: Vec<MessageEdit>| Changes {
        message_edits: edits,
        ..Changes::default()
    };
    store
        .commit(
            &a,
            &changes(vec![
                edit(peer, other, "E1", text("hijacked")),
                edit(peer, peer, "E1", text("hello world")),
                edit(peer, peer, "NOPE", text("nothing")),
                edit(peer, peer, "NOPE", EditKind::Revoked),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(
        stored(peer, "E1").await.text.as_deref(),
        Some("hello world")
    );

    // Revoked: marked, emptied, and no longer editable.
    store
        .commit(
            &a,
            &changes(vec![
                edit(peer, peer, "R1", EditKind::Revoked),
                edit(peer, peer, "R1", text("back from the dead")),
            ]),
        )
        .await
        .unwrap();
    let revoked = stored(peer, "R1").await;
    assert_eq!(revoked.kind, REVOKED_KIND);
    assert_eq!(revoked.text, None);
    assert!(revoked.content.is_empty());
    assert!(listed(&store, &a, search("oops")).await.is_empty());
    assert_eq!(store.count_messages(&a).await.unwrap(), 3);

    // Bad input is refused before anything is written.
    assert_invalid(
        store
            .commit(
                &a,
                &changes(vec![
                    edit(peer, peer, "E1", text("fine")),
                    edit("", peer, "E1", text("no chat")),
                ]),
            )
            .await,
        "edit without a chat",
    );
    assert_invalid(
        store
            .commit(&a, &changes(vec![edit(peer, peer, "", EditKind::Revoked)]))
            .await,
        "edit without an id",
    );
    assert_eq!(
        stored(peer, "E1").await.text.as_deref(),
        Some("hello world")
    );
}

/// A commit whose later part is invalid, or whose account does not exist, writes
/// nothing at all; the same changes made valid then commit fully.
pub async fn commit_is_atomic(store: DynStore) {
    let a = new_account(&store, "atomic").await;
    let peer = "15552220000@s.whatsapp.net";
    let mut changes = Changes {
        messages: vec![incoming(peer, peer, "M1", 1000, "hi")],
        contacts: vec![ContactUpdate {
            jid: peer.into(),
            push_name: Some("Peer".into()),
            lid: None,
        }],
        events: vec![event("message", "{}"), event(&"k".repeat(65), "{}")],
        ..Changes::default()
    };
    changes.signal.sessions = vec![("15552220000.0".into(), vec![1; 16])];
    assert_invalid(store.commit(&a, &changes).await, "over-long event kind");
    let ghost = id("ghost-commit");
    changes.events.pop();
    let err = store.commit(&ghost, &changes).await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::NotFound {
                entity: "account",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.count_messages(&a).await.unwrap(), 0);
    assert!(
        store
            .list_chats(&a, &ChatQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_contact(&a, peer).await.unwrap(), None);
    assert!(store.events_after(None, 0, 100).await.unwrap().is_empty());
    assert_eq!(store.last_event_seq().await.unwrap(), 0);
    assert!(
        store
            .load_sessions(&a, &["15552220000.0".into()])
            .await
            .unwrap()
            .is_empty()
    );
    let outcome = store.commit(&a, &changes).await.unwrap();
    assert_eq!(outcome.event_seqs.len(), 1);
    assert_eq!(store.count_messages(&a).await.unwrap(), 1);
    assert_eq!(
        store
            .get_contact(&a, peer)
            .await
            .unwrap()
            .unwrap()
            .push_name
            .as_deref(),
        Some("Peer")
    );
    assert_eq!(
        store
            .load_sessions(&a, &["15552220000.0".into()])
            .await
            .unwrap()
            .len(),
        1
    );
    // Nothing to do is fine, and does nothing.
    assert_eq!(
        store.commit(&a, &Changes::default()).await.unwrap(),
        CommitOutcome::default()
    );
}

/// Inserting messages keeps one chat per JID: newest time, count, and a name from the
/// peer's push name in a 1:1 chat, set once; listed most recent first, searchable
/// (case-insensitive, Unicode too) and paged.
pub async fn chats_are_upserted_ordered_and_counted(store: DynStore) {
    let a = new_account(&store, "chats").await;
    let alice = "111@s.whatsapp.net";
    let bob = "222@s.whatsapp.net";
    let group = "999-1@g.us";
    let named = |m: NewMessage, name: &str| NewMessage {
        push_name: Some(name.into()),
        ..m
    };
    store
        .commit(
            &a,
            &with_messages(vec![
                named(incoming(alice, alice, "a1", 1000, "x"), "Zoë Alice"),
                // A participant's name does not name the group.
                named(incoming(group, bob, "g1", 3000, "x"), "Bob"),
                outgoing(bob, "b1", 2000, "x"),
            ]),
        )
        .await
        .unwrap();
    // Older, and with another name: neither the time nor the name changes.
    store
        .commit(
            &a,
            &with_messages(vec![named(incoming(alice, alice, "a2", 500, "x"), "New")]),
        )
        .await
        .unwrap();
    let chat = |jid: &str, name: Option<&str>, ms: u64, count: u64| Chat {
        jid: jid.into(),
        name: name.map(Into::into),
        last_message_at: at(ms),
        message_count: count,
        pinned: false,
        archived: false,
    };
    let all = store.list_chats(&a, &ChatQuery::default()).await.unwrap();
    assert_eq!(
        all,
        [
            chat(group, None, 3000, 1),
            chat(bob, None, 2000, 1),
            chat(alice, Some("Zoë Alice"), 1000, 2),
        ]
    );
    let search = |s: &str| ChatQuery {
        search: Some(s.into()),
        ..ChatQuery::default()
    };
    let jids = |chats: Vec<Chat>| chats.into_iter().map(|c| c.jid).collect::<Vec<_>>();
    assert_eq!(
        jids(store.list_chats(&a, &search("ZOË")).await.unwrap()),
        [alice]
    );
    assert_eq!(
        jids(store.list_chats(&a, &search("999-")).await.unwrap()),
        [group]
    );
    assert!(
        store
            .list_chats(&a, &search("nobody"))
            .await
            .unwrap()
            .is_empty()
    );
    let page = |limit, offset| ChatQuery {
        search: None,
        limit,
        offset,
    };
    assert_eq!(
        jids(store.list_chats(&a, &page(2, 0)).await.unwrap()),
        [group, bob]
    );
    assert_eq!(
        jids(store.list_chats(&a, &page(2, 2)).await.unwrap()),
        [alice]
    );
    // Bob's chat had no name: his push name sets it, and it becomes the newest.
    store
        .commit(
            &a,
            &with_messages(vec![named(incoming(bob, bob, "b2", 4000, "x"), "Bobby")]),
        )
        .await
        .unwrap();
    let all = store.list_chats(&a, &ChatQuery::default()).await.unwrap();
    assert_eq!(all[0], chat(bob, Some("Bobby"), 4000, 2));
    let b = new_account(&store, "chats-other").await;
    assert!(
        store
            .list_chats(&b, &ChatQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Receipts move our outgoing messages forward only; incoming and failed messages,
/// other chats and unknown ids are untouched; a receipt may name a message inserted
/// in the same commit.
pub async fn receipts_move_status_forward_only(store: DynStore) {
    let a = new_account(&store, "receipts").await;
    let peer = "15553330000@s.whatsapp.net";
    let other = "15554440000@s.whatsapp.net";
    let failed = NewMessage {
        status: MessageStatus::Failed,
        ..outgoing(peer, "o4", 1003, "x")
    };
    store
        .commit(
            &a,
            &with_messages(vec![
                outgoing(peer, "o1", 1000, "x"),
                outgoing(peer, "o2", 1001, "x"),
                incoming(peer, peer, "o3", 1002, "x"),
                failed,
            ]),
        )
        .await
        .unwrap();
    let created = store.get_message(&a, peer, "o1").await.unwrap().unwrap();
    let receipt = |chat: &str, ids: &[&str], status| Changes {
        receipts: vec![ReceiptUpdate {
            chat: chat.into(),
            ids: ids.iter().map(|s| s.to_string()).collect(),
            status,
        }],
        ..Changes::default()
    };
    let apply = |changes: Changes| {
        let (store, a) = (store.clone(), a.clone());
        async move { store.commit(&a, &changes).await.unwrap() }
    };
    apply(receipt(
        peer,
        &["o1", "o3", "o4", "missing"],
        MessageStatus::Read,
    ))
    .await;
    assert_eq!(status_of(&store, &a, peer, "o1").await, MessageStatus::Read);
    assert_eq!(
        status_of(&store, &a, peer, "o3").await,
        MessageStatus::Received
    );
    assert_eq!(
        status_of(&store, &a, peer, "o4").await,
        MessageStatus::Failed
    );
    apply(receipt(peer, &["o1", "o2"], MessageStatus::Delivered)).await;
    assert_eq!(status_of(&store, &a, peer, "o1").await, MessageStatus::Read);
    assert_eq!(
        status_of(&store, &a, peer, "o2").await,
        MessageStatus::Delivered
    );
    apply(receipt(peer, &["o1"], MessageStatus::Played)).await;
    apply(receipt(peer, &["o1"], MessageStatus::Read)).await;
    assert_eq!(
        status_of(&store, &a, peer, "o1").await,
        MessageStatus::Played
    );
    apply(receipt(other, &["o2"], MessageStatus::Played)).await;
    assert_eq!(
        status_of(&store, &a, peer, "o2").await,
        MessageStatus::Delivered
    );
    let moved = store.get_message(&a, peer, "o1").await.unwrap().unwrap();
    assert!(moved.updated_at >= created.updated_at);
    assert_eq!(moved.created_at, created.created_at);
    // Message and receipt in one commit: the receipt sees the message.
    let mut both = receipt(peer, &["o5"], MessageStatus::Delivered);
    both.messages = vec![outgoing(peer, "o5", 1005, "x")];
    apply(both).await;
    assert_eq!(
        status_of(&store, &a, peer, "o5").await,
        MessageStatus::Delivered
    );
    for status in [
        MessageStatus::Sent,
        MessageStatus::Pending,
        MessageStatus::Failed,
        MessageStatus::Received,
    ] {
        assert_invalid(
            store.commit(&a, &receipt(peer, &["o2"], status)).await,
            status.as_str(),
        );
    }
}

/// The outbox: enqueue (stored `Pending`, `Conflict` when repeated), due entries in
/// creation order, Retry (attempts, schedule, error), Sent and Failed.
pub async fn outbox_life_cycle(store: DynStore) {
    let a = new_account(&store, "outbox").await;
    let peer = "15555550000@s.whatsapp.net";
    let before = SystemTime::now() - Duration::from_millis(1);
    // Whatever status it says, an enqueued message is pending.
    let s1 = outgoing(peer, "s1", 1000, "first");
    let stored = store.enqueue(&a, &s1).await.unwrap();
    assert_eq!(stored.message.status, MessageStatus::Pending);
    assert_eq!(
        stored.message,
        NewMessage {
            status: MessageStatus::Pending,
            ..s1.clone()
        }
    );
    assert!(stored.created_at >= before);
    assert_eq!(
        store.get_message(&a, peer, "s1").await.unwrap().as_ref(),
        Some(&stored)
    );
    let err = store.enqueue(&a, &s1).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { entity: "message", key } if key == "s1"),
        "{err:?}"
    );
    // An older timestamp, enqueued later: due order is creation order.
    store
        .enqueue(&a, &outgoing(peer, "s2", 900, "second"))
        .await
        .unwrap();
    assert_eq!(store.count_outbox(&a).await.unwrap(), 2);
    let now = SystemTime::now();
    let due = store.due_outbox(&a, now, 10).await.unwrap();
    let ids = |entries: &[OutboxEntry]| {
        entries
            .iter()
            .map(|e| e.message.message.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&due), ["s1", "s2"]);
    assert_eq!(due[0].message, stored);
    assert_eq!((due[0].attempts, due[0].last_error.as_deref()), (0, None));
    assert!(due[0].next_attempt_at <= now);
    assert_eq!(ids(&store.due_outbox(&a, now, 1).await.unwrap()), ["s1"]);
    assert!(store.due_outbox(&a, at(0), 10).await.unwrap().is_empty());

    let outcome = |id: &str, outcome| Changes {
        outbox: vec![OutboxUpdate {
            chat: peer.into(),
            id: id.into(),
            outcome,
        }],
        ..Changes::default()
    };
    let later = at(crate::time::to_millis(now) as u64 + 3_600_000);
    store
        .commit(
            &a,
            &outcome(
                "s1",
                OutboxOutcome::Retry {
                    next_attempt_at: later,
                    error: "timeout".into(),
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(ids(&store.due_outbox(&a, now, 10).await.unwrap()), ["s2"]);
    let due = store
        .due_outbox(&a, later + Duration::from_secs(1), 10)
        .await
        .unwrap();
    assert_eq!(ids(&due), ["s1", "s2"]);
    assert_eq!(
        (
            due[0].attempts,
            due[0].next_attempt_at,
            due[0].last_error.as_deref()
        ),
        (1, later, Some("timeout"))
    );
    // A long diagnostic is kept, cut on a character boundary.
    store
        .commit(
            &a,
            &outcome(
                "s1",
                OutboxOutcome::Retry {
                    next_attempt_at: later,
                    error: "é".repeat(crate::MAX_TEXT_LEN),
                },
            ),
        )
        .await
        .unwrap();
    let due = store.due_outbox(&a, later, 10).await.unwrap();
    let error = due[0].last_error.clone().unwrap();
    assert_eq!(due[0].attempts, 2);
    assert!(error.len() <= crate::MAX_TEXT_LEN && error.len() >= crate::MAX_TEXT_LEN - 1);
    assert!(error.chars().all(|c| c == 'é'));

    store
        .commit(&a, &outcome("s1", OutboxOutcome::Sent))
        .await
        .unwrap();
    assert_eq!(status_of(&store, &a, peer, "s1").await, MessageStatus::Sent);
    assert_eq!(store.count_outbox(&a).await.unwrap(), 1);
    store
        .commit(
            &a,
            &outcome(
                "s2",
                OutboxOutcome::Failed {
                    error: "no session".into(),
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        status_of(&store, &a, peer, "s2").await,
        MessageStatus::Failed
    );
    assert_eq!(store.count_outbox(&a).await.unwrap(), 0);
    // An outcome for an entry that is gone changes nothing.
    store
        .commit(&a, &outcome("s2", OutboxOutcome::Sent))
        .await
        .unwrap();
    assert_eq!(
        status_of(&store, &a, peer, "s2").await,
        MessageStatus::Failed
    );
    // A receipt that overtook the server ack is not moved back to Sent.
    store
        .enqueue(&a, &outgoing(peer, "s3", 1100, "third"))
        .await
        .unwrap();
    store
        .commit(
            &a,
            &Changes {
                receipts: vec![ReceiptUpdate {
                    chat: peer.into(),
                    ids: vec!["s3".into()],
                    status: MessageStatus::Delivered,
                }],
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    store
        .commit(&a, &outcome("s3", OutboxOutcome::Sent))
        .await
        .unwrap();
    assert_eq!(
        status_of(&store, &a, peer, "s3").await,
        MessageStatus::Delivered
    );
    assert_eq!(store.count_outbox(&a).await.unwrap(), 0);
    let chats = store.list_chats(&a, &ChatQuery::default()).await.unwrap();
    assert_eq!((chats.len(), chats[0].message_count), (1, 3));
    let err = store
        .enqueue(&id("ghost-outbox"), &outgoing(peer, "s9", 1, "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// One log for all accounts: sequence numbers strictly increase across accounts and
/// concurrent writers; `events_after` filters by cursor, account and limit.
pub async fn events_are_ordered_across_accounts(store: DynStore) {
    assert_eq!(store.last_event_seq().await.unwrap(), 0);
    let a = new_account(&store, "ev-a").await;
    let b = new_account(&store, "ev-b").await;
    let before = SystemTime::now() - Duration::from_millis(1);
    let s1 = store
        .append_event(&a, &event("connection", r#"{"state":"open"}"#))
        .await
        .unwrap();
    let out = store
        .commit(
            &b,
            &Changes {
                events: vec![event("message", "{}"), event("message.ack", r#"{"x":"é"}"#)],
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    let s4 = store
        .append_event(&a, &event("logout", "{}"))
        .await
        .unwrap();
    let seqs = [s1, out.event_seqs[0], out.event_seqs[1], s4];
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(s1 > 0);
    let all = store.events_after(None, 0, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs);
    assert_eq!(
        all.iter()
            .map(|e| (e.account.as_str(), e.kind.as_str()))
            .collect::<Vec<_>>(),
        [
            ("ev-a", "connection"),
            ("ev-b", "message"),
            ("ev-b", "message.ack"),
            ("ev-a", "logout")
        ]
    );
    assert_eq!(all[2].payload, r#"{"x":"é"}"#);
    assert!(
        all.iter()
            .all(|e| e.created_at >= before && e.created_at <= SystemTime::now())
    );
    let only_a = store.events_after(Some(&a), 0, 100).await.unwrap();
    assert_eq!(only_a.iter().map(|e| e.seq).collect::<Vec<_>>(), [s1, s4]);
    let after = store.events_after(None, seqs[1], 100).await.unwrap();
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), &seqs[2..]);
    let limited = store.events_after(None, 0, 2).await.unwrap();
    assert_eq!(
        limited.iter().map(|e| e.seq).collect::<Vec<_>>(),
        &seqs[..2]
    );
    assert!(
        store
            .events_after(Some(&b), s4, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.last_event_seq().await.unwrap(), s4);
    let err = store
        .append_event(&id("ghost-ev"), &event("x", "{}"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_invalid(store.append_event(&a, &event("", "{}")).await, "empty kind");

    // Concurrent appenders: every number distinct, the log complete and in order.
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (store, account) = (
            store.clone(),
            if t % 2 == 0 { a.clone() } else { b.clone() },
        );
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                seqs.push(
                    store
                        .append_event(&account, &event("burst", &format!("{t}-{i}")))
                        .await
                        .unwrap(),
                );
            }
            seqs
        }));
    }
    let mut appended = Vec::new();
    for t in tasks {
        appended.extend(t.await.unwrap());
    }
    appended.sort_unstable();
    let log: Vec<i64> = store
        .events_after(None, s4, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(log, appended);
    assert_eq!(log.len(), 80);
    assert_eq!(store.last_event_seq().await.unwrap(), *log.last().unwrap());
}

/// Signal state written by commits reads back; a consumed pre-key is gone; holders
/// are added without repeats, and a reset clears a group before new holders are added.
pub async fn signal_state_round_trip(store: DynStore) {
    let a = new_account(&store, "signal").await;
    store.save_device(&a, &creds(1, 1, 32), None).await.unwrap();
    store
        .save_prekeys(&a, &[prekey(1), prekey(2), prekey(3)])
        .await
        .unwrap();
    let (g, g2) = ("120363111@g.us", "120363222@g.us");
    let key = |sender: &str| SenderKeyId {
        group: g.into(),
        sender: sender.into(),
    };
    let writes = SignalWrites {
        sessions: vec![("111.0".into(), vec![1; 40]), ("111.3".into(), vec![2; 40])],
        identities: vec![("111.0".into(), vec![5; 33])],
        sender_keys: vec![(key("111.0"), vec![9; 60])],
        consumed_prekeys: vec![2],
        sender_key_shared: vec![(g.into(), "222.1".into()), (g.into(), "111.0".into())],
        sender_key_reset: vec![],
    };
    store
        .commit(
            &a,
            &Changes {
                signal: writes,
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut sessions = store
        .load_sessions(&a, &names(&["111.0", "111.3", "999.0", "111.0"]))
        .await
        .unwrap();
    sessions.sort();
    assert_eq!(
        sessions,
        [
            ("111.0".to_string(), vec![1; 40]),
            ("111.3".to_string(), vec![2; 40])
        ]
    );
    assert_eq!(
        store
            .load_identities(&a, &names(&["111.0", "111.3"]))
            .await
            .unwrap(),
        [("111.0".to_string(), vec![5; 33])]
    );
    assert!(store.load_sessions(&a, &[]).await.unwrap().is_empty());
    assert_eq!(
        store.load_sender_key(&a, &key("111.0")).await.unwrap(),
        Some(vec![9; 60])
    );
    assert_eq!(
        store.load_sender_key(&a, &key("111.1")).await.unwrap(),
        None
    );
    assert_eq!(store.get_prekey(&a, 2).await.unwrap(), None);
    assert_eq!(store.get_prekey(&a, 1).await.unwrap(), Some(prekey(1)));
    assert_eq!(store.count_prekeys(&a).await.unwrap(), 2);
    assert_eq!(
        store.sender_key_holders(&a, g).await.unwrap(),
        ["111.0", "222.1"]
    );
    // Replace a session and a sender key; a repeated holder is ignored.
    let writes = SignalWrites {
        sessions: vec![("111.0".into(), vec![3; 41])],
        sender_keys: vec![(key("111.0"), vec![8; 61])],
        sender_key_shared: vec![(g.into(), "222.1".into()), (g2.into(), "444.0".into())],
        ..SignalWrites::default()
    };
    store
        .commit(
            &a,
            &Changes {
                signal: writes,
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.load_sessions(&a, &names(&["111.0"])).await.unwrap(),
        [("111.0".to_string(), vec![3; 41])]
    );
    assert_eq!(
        store.load_sender_key(&a, &key("111.0")).await.unwrap(),
        Some(vec![8; 61])
    );
    assert_eq!(
        store.sender_key_holders(&a, g).await.unwrap(),
        ["111.0", "222.1"]
    );
    // Rotating our key: the group's holders are reset first, then the new ones added.
    let writes = SignalWrites {
        sender_key_reset: vec![g.into()],
        sender_key_shared: vec![(g.into(), "333.2".into())],
        ..SignalWrites::default()
    };
    store
        .commit(
            &a,
            &Changes {
                signal: writes,
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.sender_key_holders(&a, g).await.unwrap(), ["333.2"]);
    assert_eq!(store.sender_key_holders(&a, g2).await.unwrap(), ["444.0"]);
    // Another account's state is separate.
    let b = new_account(&store, "signal-other").await;
    assert!(
        store
            .load_sessions(&b, &names(&["111.0"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.sender_key_holders(&b, g).await.unwrap().is_empty());
    // A session reset forgets one device's session and nothing else.
    assert!(store.delete_session(&a, "111.3").await.unwrap());
    assert!(!store.delete_session(&a, "111.3").await.unwrap());
    let left: Vec<String> = store
        .load_sessions(&a, &names(&["111.0", "111.3"]))
        .await
        .unwrap()
        .into_iter()
        .map(|(address, _)| address)
        .collect();
    assert_eq!(left, ["111.0"]);
    assert_eq!(
        store
            .load_identities(&a, &names(&["111.0"]))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Logout deletes the Signal state with the credentials, and keeps messages, chats,
/// contacts and events.
pub async fn logout_deletes_signal_state_keeps_messages(store: DynStore) {
    let a = new_account(&store, "logout").await;
    store
        .save_device(&a, &creds(1, 1, 32), Some("15556660000:2@s.whatsapp.net"))
        .await
        .unwrap();
    let g = "120363333@g.us";
    let peer = "15557770000@s.whatsapp.net";
    let sk = SenderKeyId {
        group: g.into(),
        sender: "15557770000.0".into(),
    };
    let changes = Changes {
        signal: SignalWrites {
            sessions: vec![("15557770000.0".into(), vec![1; 8])],
            identities: vec![("15557770000.0".into(), vec![2; 33])],
            sender_keys: vec![(sk.clone(), vec![3; 8])],
            sender_key_shared: vec![(g.into(), "15557770000.0".into())],
            ..SignalWrites::default()
        },
        messages: vec![incoming(peer, peer, "kept", 1000, "hello")],
        contacts: vec![ContactUpdate {
            jid: peer.into(),
            push_name: Some("Kept".into()),
            lid: None,
        }],
        events: vec![event("message", "{}")],
        ..Changes::default()
    };
    store.commit(&a, &changes).await.unwrap();
    assert!(store.delete_device(&a).await.unwrap());
    let address = vec!["15557770000.0".to_string()];
    assert!(store.load_sessions(&a, &address).await.unwrap().is_empty());
    assert!(
        store
            .load_identities(&a, &address)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.load_sender_key(&a, &sk).await.unwrap(), None);
    assert!(store.sender_key_holders(&a, g).await.unwrap().is_empty());
    assert_eq!(store.load_device(&a).await.unwrap(), None);
    assert_eq!(store.count_messages(&a).await.unwrap(), 1);
    assert_eq!(
        store
            .get_message(&a, peer, "kept")
            .await
            .unwrap()
            .unwrap()
            .message
            .text
            .as_deref(),
        Some("hello")
    );
    assert_eq!(
        store
            .list_chats(&a, &ChatQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.get_contact(&a, peer).await.unwrap().is_some());
    assert_eq!(store.events_after(Some(&a), 0, 10).await.unwrap().len(), 1);
}

/// Deleting an account deletes everything stored for it (and only for it).
pub async fn account_delete_cascades_everything(store: DynStore) {
    let (a, b) = (
        new_account(&store, "doomed").await,
        new_account(&store, "bystander").await,
    );
    let peer = "15558880000@s.whatsapp.net";
    let g = "120363444@g.us";
    for acc in [&a, &b] {
        store
            .save_device(acc, &creds(1, 1, 32), None)
            .await
            .unwrap();
        store.save_prekeys(acc, &[prekey(1)]).await.unwrap();
        let changes = Changes {
            signal: SignalWrites {
                sessions: vec![("1.0".into(), vec![1; 8])],
                identities: vec![("1.0".into(), vec![2; 33])],
                sender_keys: vec![(
                    SenderKeyId {
                        group: g.into(),
                        sender: "1.0".into(),
                    },
                    vec![3; 8],
                )],
                sender_key_shared: vec![(g.into(), "1.0".into())],
                ..SignalWrites::default()
            },
            messages: vec![incoming(peer, peer, "m", 1000, "x")],
            contacts: vec![ContactUpdate {
                jid: peer.into(),
                push_name: Some("P".into()),
                lid: Some("123@lid".into()),
            }],
            device_lists: vec![DeviceList {
                user: peer.into(),
                devices: vec![0, 1],
                updated_at: at(5000),
            }],
            events: vec![event("message", "{}")],
            ..Changes::default()
        };
        store.commit(acc, &changes).await.unwrap();
        store
            .enqueue(acc, &outgoing(peer, "out", 2000, "x"))
            .await
            .unwrap();
    }
    store.delete_account(&a).await.unwrap();
    // The id is free again, and nothing of the old account comes back with it.
    store
        .create_account(NewAccount::new(a.clone()))
        .await
        .unwrap();
    let address = vec!["1.0".to_string()];
    for (acc, n) in [(&a, 0usize), (&b, 1)] {
        assert_eq!(store.count_messages(acc).await.unwrap(), 2 * n as u64);
        assert_eq!(store.count_outbox(acc).await.unwrap(), n as u64);
        assert_eq!(
            store
                .list_chats(acc, &ChatQuery::default())
                .await
                .unwrap()
                .len(),
            n
        );
        assert_eq!(store.list_contacts(acc).await.unwrap().len(), n);
        assert_eq!(
            store
                .load_device_lists(acc, &[peer.to_string()])
                .await
                .unwrap()
                .len(),
            n
        );
        assert_eq!(store.load_sessions(acc, &address).await.unwrap().len(), n);
        assert_eq!(store.load_identities(acc, &address).await.unwrap().len(), n);
        assert_eq!(store.sender_key_holders(acc, g).await.unwrap().len(), n);
        assert_eq!(store.events_after(Some(acc), 0, 10).await.unwrap().len(), n);
        assert_eq!(store.count_prekeys(acc).await.unwrap(), n as u64);
    }
    assert_eq!(store.events_after(None, 0, 10).await.unwrap().len(), 1);
}

/// `list_messages`: newest first (insertion order breaks timestamp ties), each filter
/// alone and combined, pagination, and the page-size cap.
pub async fn list_messages_filters(store: DynStore) {
    let a = new_account(&store, "listing").await;
    let (c1, c2) = ("15551000001@s.whatsapp.net", "120363555@g.us");
    let member = "15551000002@s.whatsapp.net";
    let image = NewMessage {
        kind: "image".into(),
        text: None,
        media: Some(MediaInfo {
            mimetype: Some("image/png".into()),
            ..MediaInfo::default()
        }),
        ..incoming(c1, c1, "i2", 3000, "")
    };
    let document = NewMessage {
        kind: "document".into(),
        media: Some(MediaInfo::default()),
        ..incoming(c2, member, "j2", 4000, "report.pdf")
    };
    store
        .commit(
            &a,
            &with_messages(vec![
                incoming(c1, c1, "i1", 1000, "Hello World"),
                outgoing(c1, "o1", 2000, "ÉCOLE"),
                image,
                incoming(c2, member, "j1", 2000, "hello again"),
                outgoing(c2, "p1", 2000, "bye"),
                document,
            ]),
        )
        .await
        .unwrap();
    let q = MessageQuery::default;
    assert_eq!(
        listed(&store, &a, q()).await,
        ["j2", "i2", "p1", "j1", "o1", "i1"]
    );
    let chat = |c: &str| MessageQuery {
        chat: Some(c.into()),
        ..q()
    };
    assert_eq!(listed(&store, &a, chat(c1)).await, ["i2", "o1", "i1"]);
    let before = MessageQuery {
        before: Some(at(3000)),
        ..q()
    };
    assert_eq!(
        listed(&store, &a, before.clone()).await,
        ["p1", "j1", "o1", "i1"]
    );
    let since = MessageQuery {
        since: Some(at(2000)),
        ..q()
    };
    assert_eq!(
        listed(&store, &a, since).await,
        ["j2", "i2", "p1", "j1", "o1"]
    );
    let window = MessageQuery {
        since: Some(at(2000)),
        ..before
    };
    assert_eq!(listed(&store, &a, window).await, ["p1", "j1", "o1"]);
    let from_me = |v| MessageQuery {
        from_me: Some(v),
        ..q()
    };
    assert_eq!(listed(&store, &a, from_me(true)).await, ["p1", "o1"]);
    assert_eq!(
        listed(&store, &a, from_me(false)).await,
        ["j2", "i2", "j1", "i1"]
    );
    let media = MessageQuery {
        media_only: true,
        ..q()
    };
    assert_eq!(listed(&store, &a, media).await, ["j2", "i2"]);
    let search = |s: &str| MessageQuery {
        search: Some(s.into()),
        ..q()
    };
    assert_eq!(listed(&store, &a, search("HELLO")).await, ["j1", "i1"]);
    assert_eq!(listed(&store, &a, search("école")).await, ["o1"]);
    assert_eq!(listed(&store, &a, search("%")).await, Vec::<String>::new());
    assert_eq!(listed(&store, &a, search("")).await.len(), 6);
    let combined = MessageQuery {
        chat: Some(c2.into()),
        search: Some("hello".into()),
        from_me: Some(false),
        ..q()
    };
    assert_eq!(listed(&store, &a, combined).await, ["j1"]);
    let page = |limit, offset| MessageQuery {
        limit,
        offset,
        ..q()
    };
    assert_eq!(listed(&store, &a, page(2, 0)).await, ["j2", "i2"]);
    assert_eq!(listed(&store, &a, page(2, 2)).await, ["p1", "j1"]);
    assert!(listed(&store, &a, page(2, 10)).await.is_empty());
    let b = new_account(&store, "listing-many").await;
    assert!(listed(&store, &b, q()).await.is_empty());
    let many = (0..1001)
        .map(|i| incoming(c1, c1, &format!("m{i:04}"), 10_000 + i, "x"))
        .collect();
    let outcome = store.commit(&b, &with_messages(many)).await.unwrap();
    assert!(outcome.duplicate_messages.is_empty());
    assert_eq!(store.count_messages(&b).await.unwrap(), 1001);
    let all = listed(&store, &b, page(5000, 0)).await;
    assert_eq!(all.len(), crate::MAX_PAGE_SIZE as usize);
    assert_eq!(all[0], "m1000");
    assert_invalid(
        store.list_messages(&a, &search("nul\0")).await,
        "NUL in search",
    );
}

/// A contact update keeps the stored values its `None` fields leave out; contacts
/// list in JID order.
pub async fn contact_upsert_keeps_old_fields(store: DynStore) {
    let a = new_account(&store, "contacts").await;
    let (x, y) = ("15552000002@s.whatsapp.net", "15552000001@s.whatsapp.net");
    let update = |jid: &str, push: Option<&str>, lid: Option<&str>| Changes {
        contacts: vec![ContactUpdate {
            jid: jid.into(),
            push_name: push.map(Into::into),
            lid: lid.map(Into::into),
        }],
        ..Changes::default()
    };
    let before = SystemTime::now() - Duration::from_millis(1);
    store
        .commit(&a, &update(x, Some("Old"), Some("77@lid")))
        .await
        .unwrap();
    store
        .commit(&a, &update(x, Some("New"), None))
        .await
        .unwrap();
    let c = store.get_contact(&a, x).await.unwrap().unwrap();
    assert_eq!(
        (c.jid.as_str(), c.push_name.as_deref(), c.lid.as_deref()),
        (x, Some("New"), Some("77@lid"))
    );
    assert!(c.updated_at >= before);
    store.commit(&a, &update(x, None, None)).await.unwrap();
    store
        .commit(&a, &update(y, None, Some("88@lid")))
        .await
        .unwrap();
    let all = store.list_contacts(&a).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|c| (c.jid.as_str(), c.push_name.as_deref(), c.lid.as_deref()))
            .collect::<Vec<_>>(),
        [(y, None, Some("88@lid")), (x, Some("New"), Some("77@lid"))]
    );
    // Several updates of one contact in one commit apply in order.
    let mut both = update(y, Some("First"), None);
    both.contacts.push(ContactUpdate {
        jid: y.into(),
        push_name: Some("Second".into()),
        lid: None,
    });
    store.commit(&a, &both).await.unwrap();
    let c = store.get_contact(&a, y).await.unwrap().unwrap();
    assert_eq!(
        (c.push_name.as_deref(), c.lid.as_deref()),
        (Some("Second"), Some("88@lid"))
    );
    assert_eq!(
        store
            .get_contact(&a, "nobody@s.whatsapp.net")
            .await
            .unwrap(),
        None
    );
}

/// A device list replaces the cached one, stored sorted without repeats, with the
/// time the server listed it.
pub async fn device_list_replaces(store: DynStore) {
    let a = new_account(&store, "devices").await;
    let user = "15553000001@s.whatsapp.net";
    let list = |devices: Vec<u32>, ms| Changes {
        device_lists: vec![DeviceList {
            user: user.into(),
            devices,
            updated_at: at(ms),
        }],
        ..Changes::default()
    };
    store
        .commit(&a, &list(vec![12, 0, 12, 3], 5000))
        .await
        .unwrap();
    let users = vec![user.to_string(), "unknown@s.whatsapp.net".to_string()];
    assert_eq!(
        store.load_device_lists(&a, &users).await.unwrap(),
        [DeviceList {
            user: user.into(),
            devices: vec![0, 3, 12],
            updated_at: at(5000),
        }]
    );
    store.commit(&a, &list(vec![0, 1], 6000)).await.unwrap();
    let got = store.load_device_lists(&a, &users).await.unwrap();
    assert_eq!(
        (got[0].devices.clone(), got[0].updated_at),
        (vec![0, 1], at(6000))
    );
    store.commit(&a, &list(vec![], 7000)).await.unwrap();
    let got = store.load_device_lists(&a, &users).await.unwrap();
    assert_eq!(
        (got[0].devices.clone(), got[0].updated_at),
        (vec![], at(7000))
    );
    assert!(store.load_device_lists(&a, &[]).await.unwrap().is_empty());
}

/// Bad input anywhere in a commit (and in enqueue, reads and media keys) is
/// `InvalidInput` and writes nothing.
pub async fn commit_bad_input_is_rejected(store: DynStore) {
    let a = new_account(&store, "bad-commit").await;
    let peer = "15554000001@s.whatsapp.net";
    let good = incoming(peer, peer, "ok", 1000, "x");
    let long = "x".repeat(crate::MAX_TEXT_LEN + 1);
    let with_media = |edit: fn(&mut MediaInfo)| {
        let mut media = MediaInfo::default();
        edit(&mut media);
        NewMessage {
            media: Some(media),
            ..good.clone()
        }
    };
    let bad_messages = [
        NewMessage {
            id: String::new(),
            ..good.clone()
        },
        NewMessage {
            chat: long.clone(),
            ..good.clone()
        },
        NewMessage {
            sender: String::new(),
            ..good.clone()
        },
        NewMessage {
            kind: "k".repeat(33),
            ..good.clone()
        },
        NewMessage {
            kind: String::new(),
            ..good.clone()
        },
        NewMessage {
            text: Some("nul\0".into()),
            ..good.clone()
        },
        NewMessage {
            push_name: Some(long.clone()),
            ..good.clone()
        },
        with_media(|m| m.media_key = Some(vec![1; 31])),
        with_media(|m| m.file_sha256 = Some(vec![1; 33])),
        with_media(|m| m.file_enc_sha256 = Some(Vec::new())),
        with_media(|m| m.file_length = Some(u64::MAX)),
        with_media(|m| m.direct_path = Some("x".repeat(crate::MAX_TEXT_LEN + 1))),
    ];
    for (i, bad) in bad_messages.iter().enumerate() {
        assert_invalid(
            store
                .commit(&a, &with_messages(vec![good.clone(), bad.clone()]))
                .await,
            &format!("bad message #{i}"),
        );
        assert_invalid(store.enqueue(&a, bad).await, &format!("enqueue #{i}"));
    }
    let kind_ok = NewMessage {
        kind: "k".repeat(32),
        ..good.clone()
    };
    let mut bad_changes = vec![
        Changes {
            events: vec![event(&"e".repeat(65), "{}")],
            ..Changes::default()
        },
        Changes {
            events: vec![event("", "{}")],
            ..Changes::default()
        },
        Changes {
            events: vec![event("x", &"p".repeat(crate::MAX_EVENT_PAYLOAD_LEN + 1))],
            ..Changes::default()
        },
        Changes {
            events: vec![event("x", "nul\0")],
            ..Changes::default()
        },
        Changes {
            receipts: vec![ReceiptUpdate {
                chat: peer.into(),
                ids: vec![String::new()],
                status: MessageStatus::Read,
            }],
            ..Changes::default()
        },
        Changes {
            contacts: vec![ContactUpdate {
                jid: String::new(),
                push_name: None,
                lid: None,
            }],
            ..Changes::default()
        },
        Changes {
            outbox: vec![OutboxUpdate {
                chat: peer.into(),
                id: String::new(),
                outcome: OutboxOutcome::Sent,
            }],
            ..Changes::default()
        },
        Changes {
            device_lists: vec![DeviceList {
                user: String::new(),
                devices: vec![0],
                updated_at: at(0),
            }],
            ..Changes::default()
        },
    ];
    for signal in [
        SignalWrites {
            consumed_prekeys: vec![0],
            ..SignalWrites::default()
        },
        SignalWrites {
            consumed_prekeys: vec![crate::MAX_PREKEY_ID + 1],
            ..SignalWrites::default()
        },
        SignalWrites {
            sessions: vec![("1.0".into(), Vec::new())],
            ..SignalWrites::default()
        },
        SignalWrites {
            identities: vec![(String::new(), vec![1])],
            ..SignalWrites::default()
        },
        SignalWrites {
            sender_keys: vec![(
                SenderKeyId {
                    group: String::new(),
                    sender: "1.0".into(),
                },
                vec![1],
            )],
            ..SignalWrites::default()
        },
        SignalWrites {
            sender_key_reset: vec![long.clone()],
            ..SignalWrites::default()
        },
    ] {
        bad_changes.push(Changes {
            signal,
            ..Changes::default()
        });
    }
    for (i, mut bad) in bad_changes.into_iter().enumerate() {
        // Valid parts ride along and must not be written either.
        bad.messages.insert(0, kind_ok.clone());
        bad.events.insert(0, event("message", "{}"));
        assert_invalid(store.commit(&a, &bad).await, &format!("bad changes #{i}"));
    }
    assert_eq!(store.count_messages(&a).await.unwrap(), 0);
    assert_eq!(store.count_outbox(&a).await.unwrap(), 0);
    assert!(store.events_after(None, 0, 10).await.unwrap().is_empty());
    assert!(
        store
            .list_chats(&a, &ChatQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_invalid(
        store
            .list_chats(
                &a,
                &ChatQuery {
                    search: Some(long),
                    ..ChatQuery::default()
                },
            )
            .await,
        "over-long chat search",
    );
    // The limits themselves are accepted.
    store
        .commit(
            &a,
            &Changes {
                messages: vec![kind_ok],
                events: vec![event(&"e".repeat(64), "{}")],
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.count_messages(&a).await.unwrap(), 1);
}

/// The media store key of a downloaded file is recorded on its message.
pub async fn media_stored_key_is_recorded(store: DynStore) {
    let a = new_account(&store, "media-key").await;
    let peer = "15555000001@s.whatsapp.net";
    let media = MediaInfo {
        media_key: Some(vec![4; 32]),
        direct_path: Some("/v/x".into()),
        ..MediaInfo::default()
    };
    let m = NewMessage {
        kind: "image".into(),
        media: Some(media.clone()),
        ..incoming(peer, peer, "img", 1000, "")
    };
    store.commit(&a, &with_messages(vec![m])).await.unwrap();
    let before = store.get_message(&a, peer, "img").await.unwrap().unwrap();
    store
        .set_media_stored_key(&a, peer, "img", "sha256/0a/0b0c")
        .await
        .unwrap();
    let after = store.get_message(&a, peer, "img").await.unwrap().unwrap();
    assert_eq!(
        after.message.media,
        Some(MediaInfo {
            stored_key: Some("sha256/0a/0b0c".into()),
            ..media
        })
    );
    assert!(after.updated_at >= before.updated_at);
    let err = store
        .set_media_stored_key(&a, peer, "missing", "k")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::NotFound {
                entity: "message",
                ..
            }
        ),
        "{err:?}"
    );
    assert_invalid(
        store.set_media_stored_key(&a, peer, "img", "").await,
        "empty stored key",
    );
}

/// Opening the same database again (while the first store is still open, and after
/// it is dropped) re-applies nothing and keeps the data.
pub async fn reopen_keeps_data_and_is_idempotent<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynStore>,
{
    let first = open().await;
    first
        .create_account(NewAccount::new(id("persisted")))
        .await
        .unwrap();
    first.set_setting("k", "v").await.unwrap();
    let second = open().await;
    assert_eq!(second.kind(), first.kind());
    assert_eq!(second.list_accounts().await.unwrap().len(), 1);
    drop(first);
    drop(second);
    let third = open().await;
    assert_eq!(
        third.get_account(&id("persisted")).await.unwrap().id,
        id("persisted")
    );
    assert_eq!(third.get_setting("k").await.unwrap().as_deref(), Some("v"));
}

/// A name unique to this test process, so runs never share databases or files.
pub fn run_suffix() -> &'static str {
    static SUFFIX: OnceLock<String> = OnceLock::new();
    SUFFIX.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{:x}{:08x}", std::process::id(), (nanos as u64) as u32)
    })
}

/// A SQLite store in `dir/<name>.db` (same file for the same name).
pub async fn sqlite_test_store(dir: &Path, name: &str) -> DynStore {
    let path = dir.join(format!("{name}-{}.db", run_suffix()));
    let store = SqliteStore::open(SqliteOptions::file(path))
        .await
        .expect("open SQLite test store");
    std::sync::Arc::new(store)
}

/// The PostgreSQL server URL from [`POSTGRES_URL_ENV`]; panics with instructions
/// when it is unset, so a missing server fails the tests instead of skipping them.
pub fn postgres_url() -> String {
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{POSTGRES_URL_ENV} is not set: run `cargo xtask test`, which starts PostgreSQL \
             (or start one with `infra/postgres.sh start <dir>` and export the line it prints)"
        ),
    }
}

/// A PostgreSQL store over a database of its own, created on the server from
/// [`POSTGRES_URL_ENV`] and named after `name` and this process, so tests run in
/// parallel without seeing each other's rows.
pub async fn postgres_test_store(name: &str) -> DynStore {
    let url = postgres_url();
    let db = postgres_test_database(&url, name).await;
    let DatabaseUri::Postgres(mut options) = DatabaseUri::parse(&url).expect("valid test URL")
    else {
        panic!("{POSTGRES_URL_ENV} must be a postgres:// URL");
    };
    options.config.dbname(&db);
    options.pool_size = 4;
    std::sync::Arc::new(
        PostgresStore::open(options)
            .await
            .expect("open PostgreSQL test store"),
    )
}

/// Creates (if missing) the database for test `name` and returns its name.
pub async fn postgres_test_database(url: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let db = format!("wa_{clean}_{}", run_suffix());
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot connect to {POSTGRES_URL_ENV} ({}): {e}",
                crate::redact(url)
            )
        });
    let driver = tokio::spawn(connection);
    match client
        .batch_execute(&format!("CREATE DATABASE \"{db}\""))
        .await
    {
        Ok(()) => {}
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
        Err(e) => panic!("cannot create test database {db}: {e}"),
    }
    drop(client);
    let _ = driver.await;
    db
}

/// Webhook settings are per account, replaced whole, validated, and their
/// secret stays out of debug output.
pub async fn webhook_settings_round_trip(store: DynStore) {
    let a = new_account(&store, "wh-settings").await;
    assert_eq!(store.get_webhook_settings(&a).await.unwrap(), None);
    let settings = WebhookSettings {
        urls: vec![
            "https://example.com/hook".into(),
            "http://127.0.0.1:9/h".into(),
        ],
        events: vec!["message".into(), "connection.*".into()],
        headers: vec![("X-Api-Key".into(), "k1".into())],
        secret: Some("top-secret-value".into()),
    };
    store.set_webhook_settings(&a, &settings).await.unwrap();
    assert_eq!(
        store.get_webhook_settings(&a).await.unwrap(),
        Some(settings.clone())
    );
    let replaced = WebhookSettings {
        urls: vec!["https://example.org/only".into()],
        ..WebhookSettings::default()
    };
    store.set_webhook_settings(&a, &replaced).await.unwrap();
    assert_eq!(
        store.get_webhook_settings(&a).await.unwrap(),
        Some(replaced)
    );
    assert!(!format!("{settings:?}").contains("top-secret-value"));

    let bad = [
        WebhookSettings {
            urls: (0..11).map(|i| format!("https://h{i}.example/")).collect(),
            ..WebhookSettings::default()
        },
        WebhookSettings {
            urls: vec![format!("https://example.com/{}", "x".repeat(2100))],
            ..WebhookSettings::default()
        },
        WebhookSettings {
            urls: vec!["ftp://example.com/".into()],
            ..WebhookSettings::default()
        },
        WebhookSettings {
            headers: vec![("Bad Header".into(), "v".into())],
            ..WebhookSettings::default()
        },
        WebhookSettings {
            headers: vec![("X-Ok".into(), "line\r\nbreak".into())],
            ..WebhookSettings::default()
        },
    ];
    for settings in bad {
        let err = store.set_webhook_settings(&a, &settings).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput(_)),
            "{settings:?}: {err}"
        );
    }
    let missing = store
        .set_webhook_settings(&id("wh-nobody"), &WebhookSettings::default())
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing}");
}

/// Planning moves the cursor once, claims lease, outcomes move deliveries to
/// delivered / pending / dead, the dead are listed and replayed.
pub async fn webhook_deliveries_life_cycle(store: DynStore) {
    let a = new_account(&store, "wh-a").await;
    let b = new_account(&store, "wh-b").await;
    let start = store.webhook_cursor().await.unwrap();
    let s1 = store
        .append_event(&a, &event("message", r#"{"n":1}"#))
        .await
        .unwrap();
    let s2 = store
        .append_event(&b, &event("message.ack", r#"{"n":2}"#))
        .await
        .unwrap();
    let s3 = store
        .append_event(&a, &event("logout", r#"{"n":3}"#))
        .await
        .unwrap();
    let t0 = SystemTime::now();
    let new = |id: &str, seq: i64, account: &AccountId, due: SystemTime| NewDelivery {
        id: id.into(),
        event_seq: seq,
        account: account.clone(),
        url: "https://example.com/hook".into(),
        headers: vec![("X-Api-Key".into(), "k".into())],
        secret: Some("s3cr3t".into()),
        next_attempt_at: due,
    };
    let planned = vec![
        new("d1", s1, &a, t0 + Duration::from_millis(5)),
        new("d2", s2, &b, t0),
        new("d3", s3, &a, t0 + Duration::from_secs(3600)),
    ];
    assert!(store.plan_deliveries(start, s3, &planned).await.unwrap());
    assert_eq!(store.webhook_cursor().await.unwrap(), s3);
    // A stale planner writes nothing; re-planning the same ids adds nothing.
    let stale = vec![new("d9", s1, &a, t0)];
    assert!(!store.plan_deliveries(start, s3, &stale).await.unwrap());
    assert!(store.get_delivery("d9").await.unwrap().is_none());
    assert!(store.plan_deliveries(s3, s3, &planned).await.unwrap());
    assert_eq!(
        store
            .count_deliveries(DeliveryState::Pending)
            .await
            .unwrap(),
        3
    );
    let backwards = store.plan_deliveries(s3, s1, &[]).await.unwrap_err();
    assert!(matches!(backwards, StoreError::InvalidInput(_)));

    // Claims: due ones only, oldest due first, leased until `lease`.
    let now = t0 + Duration::from_secs(1);
    let lease = now + Duration::from_secs(60);
    let due = store.claim_due_deliveries(now, lease, 10).await.unwrap();
    let ids: Vec<&str> = due.iter().map(|d| d.delivery.id.as_str()).collect();
    assert_eq!(ids, ["d2", "d1"], "oldest due first, not event order");
    assert_eq!(due[1].payload, r#"{"n":1}"#);
    assert_eq!(due[1].delivery.event_name, "message");
    assert_eq!(due[0].delivery.account, b);
    assert_eq!(due[0].delivery.event_name, "message.ack");
    assert_eq!(
        due[1].headers,
        vec![("X-Api-Key".to_owned(), "k".to_owned())]
    );
    assert_eq!(due[1].secret.as_deref(), Some("s3cr3t"));
    assert!(!format!("{:?}", due[1]).contains("s3cr3t"));
    assert!(
        store
            .claim_due_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let limited = store
        .claim_due_deliveries(
            lease + Duration::from_secs(1),
            lease + Duration::from_secs(2),
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        limited.len(),
        1,
        "the lease ended: claimable again, one at a time"
    );

    // Outcomes.
    let retry_at = t0 + Duration::from_secs(7200);
    store
        .record_delivery_attempts(&[
            DeliveryAttempt {
                id: "d1".into(),
                number: 1,
                status: Some(200),
                outcome: AttemptOutcome::Delivered,
            },
            DeliveryAttempt {
                id: "d2".into(),
                number: 1,
                status: Some(503),
                outcome: AttemptOutcome::Retry {
                    error: "503 Service Unavailable".into(),
                    next_attempt_at: retry_at,
                },
            },
            DeliveryAttempt {
                id: "unknown".into(),
                number: 1,
                status: None,
                outcome: AttemptOutcome::Delivered,
            },
        ])
        .await
        .unwrap();
    let d1 = store.get_delivery("d1").await.unwrap().unwrap();
    assert_eq!(
        (d1.state, d1.attempts, d1.last_status),
        (DeliveryState::Delivered, 1, Some(200))
    );
    assert_eq!(d1.next_attempt_at, None);
    let d2 = store.get_delivery("d2").await.unwrap().unwrap();
    assert_eq!((d2.state, d2.attempts), (DeliveryState::Pending, 1));
    assert_eq!(d2.last_error.as_deref(), Some("503 Service Unavailable"));
    assert_eq!(
        d2.next_attempt_at
            .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_millis()),
        Some(retry_at.duration_since(UNIX_EPOCH).unwrap().as_millis())
    );
    // The same attempt reported again (a redelivered queue message) counts once,
    // and a report for an attempt not yet due is not taken either.
    for number in [1, 3] {
        store
            .record_delivery_attempts(&[DeliveryAttempt {
                id: "d2".into(),
                number,
                status: Some(500),
                outcome: AttemptOutcome::Dead {
                    error: "stale".into(),
                },
            }])
            .await
            .unwrap();
    }
    let again = store.get_delivery("d2").await.unwrap().unwrap();
    assert_eq!((again.state, again.attempts), (DeliveryState::Pending, 1));
    assert_eq!(again.last_status, Some(503));
    store
        .record_delivery_attempts(&[DeliveryAttempt {
            id: "d3".into(),
            number: 1,
            status: Some(404),
            outcome: AttemptOutcome::Dead {
                error: "404 Not Found".into(),
            },
        }])
        .await
        .unwrap();
    // A delivered or dead delivery does not change again.
    store
        .record_delivery_attempts(&[DeliveryAttempt {
            id: "d1".into(),
            number: 1,
            status: Some(500),
            outcome: AttemptOutcome::Dead {
                error: "late".into(),
            },
        }])
        .await
        .unwrap();
    assert_eq!(
        store.get_delivery("d1").await.unwrap().unwrap().state,
        DeliveryState::Delivered
    );

    // Lists and counts.
    let query = |account: Option<&AccountId>, state, limit, offset| DeliveryQuery {
        account: account.cloned(),
        state,
        limit,
        offset,
    };
    let dead = store
        .list_deliveries(&query(None, Some(DeliveryState::Dead), 10, 0))
        .await
        .unwrap();
    assert_eq!(
        dead.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["d3"]
    );
    let of_a = store
        .list_deliveries(&query(Some(&a), None, 10, 0))
        .await
        .unwrap();
    assert_eq!(of_a.len(), 2);
    let page = store
        .list_deliveries(&query(None, None, 2, 2))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(
        store.count_deliveries(DeliveryState::Dead).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .count_deliveries(DeliveryState::Delivered)
            .await
            .unwrap(),
        1
    );
    let bad_limit = store
        .list_deliveries(&query(None, None, 0, 0))
        .await
        .unwrap_err();
    assert!(matches!(bad_limit, StoreError::InvalidInput(_)));
    let over_limit = store
        .list_deliveries(&query(None, None, MAX_DELIVERIES_PAGE + 1, 0))
        .await
        .unwrap_err();
    assert!(matches!(over_limit, StoreError::InvalidInput(_)));

    // Replay: the dead come back due now with a fresh window; others refuse.
    let replay_at = t0 + Duration::from_secs(10);
    let replayed = store
        .replay_delivery("d3", replay_at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replayed.state, DeliveryState::Pending);
    assert_eq!(replayed.attempts, 1);
    assert_eq!(replayed.next_attempt_at, Some(round_millis(replay_at)));
    assert_eq!(replayed.retry_from, round_millis(replay_at));
    let refused = store.replay_delivery("d1", replay_at).await.unwrap_err();
    assert!(matches!(refused, StoreError::InvalidInput(_)), "{refused}");
    let pending = store.replay_delivery("d2", replay_at).await.unwrap_err();
    assert!(matches!(pending, StoreError::InvalidInput(_)), "{pending}");
    assert_eq!(
        store.get_delivery("d2").await.unwrap().unwrap().attempts,
        1,
        "a refused replay changes nothing"
    );
    assert!(
        store
            .replay_delivery("nope", replay_at)
            .await
            .unwrap()
            .is_none()
    );

    // Deleting the account deletes its deliveries and its settings.
    let settings = WebhookSettings {
        urls: vec!["https://example.com/b".into()],
        ..WebhookSettings::default()
    };
    store.set_webhook_settings(&b, &settings).await.unwrap();
    store.delete_account(&b).await.unwrap();
    assert!(store.get_delivery("d2").await.unwrap().is_none());
    assert_eq!(store.get_webhook_settings(&b).await.unwrap(), None);
    assert_eq!(
        store
            .count_deliveries(DeliveryState::Pending)
            .await
            .unwrap(),
        1,
        "only the replayed d3 is left pending"
    );
}

fn round_millis(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64)
}

/// Planners racing from the same cursor: exactly one wins, and only its
/// deliveries are written.
pub async fn webhook_planners_race_once(store: DynStore) {
    let a = new_account(&store, "wh-race").await;
    let start = store.webhook_cursor().await.unwrap();
    let seq = store
        .append_event(&a, &event("message", r#"{"n":1}"#))
        .await
        .unwrap();
    let mut racers = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let a = a.clone();
        racers.push(tokio::spawn(async move {
            let planned = [NewDelivery {
                id: format!("race-{i}"),
                event_seq: seq,
                account: a,
                url: "https://example.com/hook".into(),
                headers: Vec::new(),
                secret: None,
                next_attempt_at: SystemTime::now(),
            }];
            store.plan_deliveries(start, seq, &planned).await.unwrap()
        }));
    }
    let mut won = 0;
    for racer in racers {
        won += usize::from(racer.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one planner moves the cursor");
    assert_eq!(store.webhook_cursor().await.unwrap(), seq);
    assert_eq!(
        store
            .count_deliveries(DeliveryState::Pending)
            .await
            .unwrap(),
        1
    );
}
