//! Storage knobs end to end, on the real `wa-connector serve` process in front of
//! the simulator: `WHATSAPP_CHAT_STORAGE=false` keeps no history while sends,
//! receipts and webhooks work (and the default keeps it), built-in retention
//! deletes old messages and media (and keeps them at 0 days), and store operation
//! times show in `/metrics`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use support::gateway::Gateway;
use support::receiver::Receiver;
use wa_media::MediaStore;
use wa_store::{AccountId, Changes, MessageStatus, NewAccount, NewMessage};

const ANN: &str = "15550600001";
const BOB: &str = "15550600002";
const LONG: Duration = Duration::from_secs(30);
const DAY: Duration = Duration::from_secs(86_400);

/// Samples of one scrape by name and labels (`name{a="x",b="y"}` → value); every
/// non-comment line must be `name[{labels}] value`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            (series.to_owned(), value)
        })
        .collect()
}

async fn scrape(gw: &Gateway) -> BTreeMap<String, f64> {
    let reply = gw.get(None, "/metrics").await;
    assert_eq!(reply.status, 200);
    samples(&String::from_utf8_lossy(&reply.bytes))
}

async fn history(gw: &Gateway, device: &str, chat: &str) -> Vec<Value> {
    let page = gw
        .get(
            Some(device),
            &format!("/chat/{chat}@s.whatsapp.net/messages"),
        )
        .await
        .ok();
    page["data"].as_array().cloned().unwrap_or_default()
}

/// Sends ann → bob and checks the webhook got bob's `message` and ann's receipt.
async fn exchange(gw: &Gateway, receiver: &Receiver, text: &str) -> String {
    let id = gw.send_text("ann", BOB, text).await;
    let got = receiver
        .wait_for(LONG, |r| {
            r.json()["event"] == "message" && r.json()["payload"]["id"] == id.as_str()
        })
        .await;
    assert_eq!(got.json()["payload"]["body"], text);
    assert_eq!(got.json()["session_id"], "bob");
    receiver
        .wait_for(LONG, |r| {
            r.json()["event"] == "message.ack"
                && r.json()["session_id"] == "ann"
                && String::from_utf8_lossy(&r.body).contains(&id)
        })
        .await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_storage_off_stores_no_history_while_traffic_flows() {
    let receiver = Receiver::start().await;
    let gw = Gateway::start(
        "chat-storage-off",
        &[
            ("WHATSAPP_WEBHOOK", &receiver.url()),
            ("WHATSAPP_CHAT_STORAGE", "false"),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    exchange(&gw, &receiver, "not kept").await;
    exchange(&gw, &receiver, "not kept either").await;

    let store = gw.database().await;
    let (ann, bob) = (
        AccountId::new("ann").unwrap(),
        AccountId::new("bob").unwrap(),
    );
    // The send's row lives until its outcome is committed, then goes.
    let deadline = tokio::time::Instant::now() + LONG;
    while store.count_messages(&ann).await.unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "ann's sends kept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.count_outbox(&ann).await.unwrap(), 0);
    assert_eq!(store.count_messages(&bob).await.unwrap(), 0);
    assert!(history(&gw, "bob", ANN).await.is_empty());
    assert!(history(&gw, "ann", BOB).await.is_empty());
    let chats = gw.get(Some("bob"), "/chats").await.ok();
    assert_eq!(chats["data"].as_array().map(Vec::len), Some(0), "{chats}");

    // Store operations are timed, by operation.
    let before = scrape(&gw).await;
    let commits = |s: &BTreeMap<String, f64>| {
        s.get(r#"whatsapp_db_query_duration_seconds_count{operation="commit"}"#)
            .copied()
            .unwrap_or(0.0)
    };
    assert!(commits(&before) > 0.0, "{before:?}");
    assert!(
        before
            .get(r#"whatsapp_db_query_duration_seconds_count{operation="account"}"#)
            .is_some_and(|n| *n > 0.0)
    );
    exchange(&gw, &receiver, "counted").await;
    let after = scrape(&gw).await;
    assert!(commits(&after) > commits(&before), "commits did not grow");
    let le_inf = r#"whatsapp_db_query_duration_seconds_bucket{operation="commit",le="+Inf"}"#;
    assert_eq!(after.get(le_inf), Some(&commits(&after)), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_storage_on_keeps_history() {
    let receiver = Receiver::start().await;
    let gw = Gateway::start("chat-storage-on", &[("WHATSAPP_WEBHOOK", &receiver.url())]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    let id = exchange(&gw, &receiver, "kept").await;
    gw.wait_for_message("bob", &format!("{ANN}@s.whatsapp.net"), |m| {
        m["id"] == id.as_str()
    })
    .await;
    let store = gw.database().await;
    assert_eq!(
        store
            .count_messages(&AccountId::new("ann").unwrap())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_messages(&AccountId::new("bob").unwrap())
            .await
            .unwrap(),
        1
    );
}

fn old_message(id: &str, age: Duration) -> NewMessage {
    NewMessage {
        id: id.into(),
        chat: format!("{BOB}@s.whatsapp.net"),
        sender: format!("{BOB}@s.whatsapp.net"),
        from_me: false,
        timestamp: SystemTime::now() - age,
        kind: "text".into(),
        text: Some(id.into()),
        media: None,
        content: id.as_bytes().to_vec(),
        push_name: None,
        status: MessageStatus::Received,
    }
}

/// A database with 5 messages of 40 days and 2 of 1 day, and a media folder with 3
/// blobs of 10 days and 1 new one.
async fn seed(db: &Path, media: &Path) {
    let store = wa_store::open(&format!("file:{}", db.display()))
        .await
        .unwrap();
    let account = AccountId::new("old").unwrap();
    store
        .create_account(NewAccount::new(account.clone()))
        .await
        .unwrap();
    let mut changes = Changes::default();
    for i in 0..5 {
        changes
            .messages
            .push(old_message(&format!("old{i}"), 40 * DAY));
    }
    for i in 0..2 {
        changes.messages.push(old_message(&format!("new{i}"), DAY));
    }
    store.commit(&account, &changes).await.unwrap();
    let folder = wa_media::FolderStore::open(media).await.unwrap();
    for name in ["a", "b", "c", "fresh"] {
        let key = wa_media::MediaKey::new(format!("media/{name}")).unwrap();
        folder.put_bytes(&key, name.as_bytes()).await.unwrap();
        if name != "fresh" {
            std::fs::File::options()
                .write(true)
                .open(folder.root().join(key.as_str()))
                .unwrap()
                .set_modified(SystemTime::now() - 10 * DAY)
                .unwrap();
        }
    }
}

fn count_files(root: &Path) -> usize {
    std::fs::read_dir(root.join("media")).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_messages_and_media_only_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let (db, media) = (dir.path().join("wa.db"), dir.path().join("media"));
    seed(&db, &media).await;
    let db_uri = format!("file:{}", db.display());
    let media_uri = media.display().to_string();
    let account = AccountId::new("old").unwrap();

    // 0 days (the default): everything stays, nothing is counted.
    let mut gw = Gateway::start(
        "retention",
        &[
            ("DB_URI", &db_uri),
            ("MEDIA_URI", &media_uri),
            ("WHATSAPP_RETENTION_INTERVAL", "1s"),
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kept = scrape(&gw).await;
    assert!(
        !kept
            .keys()
            .any(|k| k.starts_with("whatsapp_retention_deleted_total{")),
        "{kept:?}"
    );
    let store = wa_store::open(&db_uri).await.unwrap();
    assert_eq!(store.count_messages(&account).await.unwrap(), 7);
    assert_eq!(count_files(&media), 4);

    // 30 days for messages, 7 for media, in batches of 2.
    gw.restart(&[
        ("WHATSAPP_MESSAGE_RETENTION_DAYS", "30"),
        ("WHATSAPP_MEDIA_RETENTION_DAYS", "7"),
        ("WHATSAPP_RETENTION_BATCH_SIZE", "2"),
    ]);
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let s = scrape(&gw).await;
        let messages = s.get(r#"whatsapp_retention_deleted_total{kind="messages"}"#);
        let media = s.get(r#"whatsapp_retention_deleted_total{kind="media"}"#);
        if messages == Some(&5.0) && media == Some(&3.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "messages {messages:?}, media {media:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut left: Vec<String> = store
        .list_messages(&account, &wa_store::MessageQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message.id)
        .collect();
    left.sort();
    assert_eq!(left, vec!["new0", "new1"]);
    assert_eq!(count_files(&media), 1);
    assert!(media.join("media/fresh").exists());
}
