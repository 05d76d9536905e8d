//! Retention on both backends: bounded deletes of old messages (outbox entries and
//! newer rows kept, chat counts settled), forgetting one message, and reclaiming
//! SQLite pages. PostgreSQL needs `WA_TEST_POSTGRES_URL`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wa_store::testing::{postgres_test_store, run_suffix, sqlite_test_store};
use wa_store::{
    AccountId, Changes, ChatQuery, DynStore, MessageQuery, MessageStatus, NewAccount, NewMessage,
};

const DAY: Duration = Duration::from_secs(86_400);

fn test_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-store-retention");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn message(chat: &str, id: &str, age: Duration) -> NewMessage {
    NewMessage {
        id: id.into(),
        chat: chat.into(),
        sender: chat.into(),
        from_me: false,
        timestamp: SystemTime::now() - age,
        kind: "text".into(),
        text: Some(format!("text {id}")),
        media: None,
        content: id.as_bytes().to_vec(),
        push_name: None,
        status: MessageStatus::Received,
    }
}

async fn account(store: &DynStore, id: &str) -> AccountId {
    let id = AccountId::new(id).unwrap();
    store
        .create_account(NewAccount::new(id.clone()))
        .await
        .unwrap();
    id
}

async fn ids(store: &DynStore, account: &AccountId) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_messages(account, &MessageQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message.id)
        .collect();
    ids.sort();
    ids
}

async fn old_messages_go_in_batches(store: DynStore) {
    let a = account(&store, "a").await;
    let b = account(&store, "b").await;
    let old = "111@s.whatsapp.net";
    let mixed = "222@s.whatsapp.net";
    let mut changes = Changes::default();
    for i in 0..5 {
        changes
            .messages
            .push(message(old, &format!("old{i}"), 40 * DAY));
    }
    changes.messages.push(message(mixed, "mixed-old", 31 * DAY));
    changes.messages.push(message(mixed, "mixed-new", 29 * DAY));
    store.commit(&a, &changes).await.unwrap();
    store
        .commit(
            &b,
            &Changes {
                messages: vec![message(old, "b-old", 50 * DAY)],
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    // An old send still waiting in the outbox must survive retention.
    let mut pending = message(mixed, "pending-old", 45 * DAY);
    pending.from_me = true;
    pending.sender = "999@s.whatsapp.net".into();
    store.enqueue(&a, &pending).await.unwrap();

    let cutoff = SystemTime::now() - 30 * DAY;
    let mut batches = Vec::new();
    loop {
        let n = store.delete_messages_before(cutoff, 3).await.unwrap();
        batches.push(n);
        if n < 3 {
            break;
        }
    }
    assert_eq!(batches, vec![3, 3, 1], "7 old rows in batches of at most 3");
    assert_eq!(ids(&store, &a).await, vec!["mixed-new", "pending-old"]);
    assert!(ids(&store, &b).await.is_empty());
    assert_eq!(store.count_outbox(&a).await.unwrap(), 1);

    // The emptied chat is gone; the other one counts what is left.
    let chats = store.list_chats(&a, &ChatQuery::default()).await.unwrap();
    let counts: Vec<(String, u64)> = chats
        .iter()
        .map(|c| (c.jid.clone(), c.message_count))
        .collect();
    assert_eq!(counts, vec![(mixed.to_string(), 2)]);
    assert!(
        store
            .list_chats(&b, &ChatQuery::default())
            .await
            .unwrap()
            .is_empty()
    );

    // Nothing older left: the next run deletes nothing.
    assert_eq!(store.delete_messages_before(cutoff, 3).await.unwrap(), 0);
    // A cutoff before everything keeps everything.
    assert_eq!(
        store
            .delete_messages_before(UNIX_EPOCH + DAY, 100)
            .await
            .unwrap(),
        0
    );
    store.reclaim_space().await.unwrap();
}

async fn forget_keeps_outbox_entries(store: DynStore) {
    let a = account(&store, "a").await;
    let chat = "333@s.whatsapp.net";
    store
        .commit(
            &a,
            &Changes {
                messages: vec![message(chat, "in", DAY)],
                ..Changes::default()
            },
        )
        .await
        .unwrap();
    let mut out = message(chat, "out", Duration::ZERO);
    out.from_me = true;
    out.sender = "999@s.whatsapp.net".into();
    store.enqueue(&a, &out).await.unwrap();
    assert!(
        !store.forget_message(&a, chat, "out").await.unwrap(),
        "still in the outbox"
    );
    assert!(store.forget_message(&a, chat, "in").await.unwrap());
    assert!(!store.forget_message(&a, chat, "in").await.unwrap());
    assert_eq!(ids(&store, &a).await, vec!["out"]);
    let chats = store.list_chats(&a, &ChatQuery::default()).await.unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].message_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_old_messages_go_in_batches() {
    old_messages_go_in_batches(sqlite_test_store(&test_dir(), "batches").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_messages_go_in_batches() {
    old_messages_go_in_batches(postgres_test_store("retention_batches").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_forget_keeps_outbox_entries() {
    forget_keeps_outbox_entries(sqlite_test_store(&test_dir(), "forget").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_forget_keeps_outbox_entries() {
    forget_keeps_outbox_entries(postgres_test_store("retention_forget").await).await;
}

/// A new SQLite file uses incremental auto-vacuum, so deleted history gives its pages
/// back to the file system.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reclaims_pages_after_deletes() {
    let path = test_dir().join(format!("reclaim-{}.db", run_suffix()));
    let store = wa_store::open(&format!("file:{}", path.display()))
        .await
        .unwrap();
    let a = account(&store, "a").await;
    let big = "x".repeat(3000);
    for batch in 0..10 {
        let mut changes = Changes::default();
        for i in 0..50 {
            let mut m = message("444@s.whatsapp.net", &format!("m{batch}-{i}"), 40 * DAY);
            m.text = Some(big.clone());
            changes.messages.push(m);
        }
        store.commit(&a, &changes).await.unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(pragma("auto_vacuum"), 2, "INCREMENTAL on a new database");
    while store
        .delete_messages_before(SystemTime::now() - DAY, 100)
        .await
        .unwrap()
        > 0
    {}
    assert!(pragma("freelist_count") > 100, "deletes left free pages");
    let before = pragma("page_count");
    let reclaimed = store.reclaim_space().await.unwrap();
    assert!(reclaimed.pages > 100, "{reclaimed:?}");
    assert_eq!(pragma("page_count"), before - reclaimed.pages as i64);
    assert_eq!(pragma("freelist_count"), 0);
}
