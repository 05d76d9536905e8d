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
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    AccountId, AccountPatch, AccountStatus, DatabaseUri, DeviceCredentials, DynStore,
    MAX_PREKEY_ID, NewAccount, PostgresStore, SqliteOptions, SqliteStore, StoreError, StoredPreKey,
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
