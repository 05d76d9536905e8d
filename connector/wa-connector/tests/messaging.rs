//! Messaging between accounts through the WhatsApp server simulator, in-process, over
//! real WebSockets on loopback, on SQLite and on the real PostgreSQL
//! (`WA_TEST_POSTGRES_URL`): sends are committed to the outbox, encrypted end to end
//! (the simulator only routes ciphertext), stored once by the receiver with their
//! events, and acknowledged by receipts that move the sender's status forward.

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use wa_connector::{AccountHandle, AccountManager, AccountState, Backoff, ConnectorOptions};
use wa_proto::binary::Jid;
use wa_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use wa_store::{AccountId, DynStore, MessageQuery, MessageStatus, StoredMessage};

const WAIT: Duration = Duration::from_secs(30);

fn test_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wa-connector-messaging");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

async fn sqlite(name: &str) -> DynStore {
    wa_store::testing::sqlite_test_store(test_dir(), name).await
}

async fn postgres(name: &str) -> DynStore {
    wa_store::testing::postgres_test_store(name).await
}

async fn simulator() -> SimulatorHandle {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator starts")
}

fn options(sim: &SimulatorHandle) -> ConnectorOptions {
    ConnectorOptions {
        server_url: sim.ws_url(),
        trust_root: sim.trust_root(),
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(400),
            multiplier: 2.0,
            jitter: 0.5,
        },
        ..ConnectorOptions::default()
    }
}

fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

/// Links `account` by QR as `phone`; returns its handle and user JID.
async fn link(
    sim: &SimulatorHandle,
    manager: &AccountManager,
    account: &str,
    phone: &str,
) -> (AccountHandle, Jid) {
    let handle = manager.start(&id(account)).await.unwrap();
    let waiting = handle
        .wait_for_state(AccountState::WaitingForPairing, WAIT)
        .await
        .unwrap();
    let jid = sim.scan_qr(&waiting.qr_code.unwrap(), phone).unwrap();
    handle
        .wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    // Wait for the pre-key upload: a peer's first message needs a bundle.
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim.prekey_count(&jid) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "pre-keys uploaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (handle, jid.to_non_ad())
}

/// Links `account` by pairing code as `phone`; returns its handle and user JID.
async fn link_by_code(
    sim: &SimulatorHandle,
    manager: &AccountManager,
    account: &str,
    phone: &str,
) -> (AccountHandle, Jid) {
    let handle = manager.start(&id(account)).await.unwrap();
    let code = handle.request_pairing_code(phone).await.unwrap();
    sim.enter_pairing_code(phone, &code).unwrap();
    handle
        .wait_for_state(AccountState::LoggedIn, WAIT)
        .await
        .unwrap();
    let device = sim.devices(phone).pop().expect("linked device");
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim.prekey_count(&device) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "pre-keys uploaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (handle, device.to_non_ad())
}

/// Waits until `account` has a message matching `pred` and returns it.
async fn wait_message(
    store: &DynStore,
    account: &str,
    mut pred: impl FnMut(&StoredMessage) -> bool,
) -> StoredMessage {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all = store
            .list_messages(
                &id(account),
                &MessageQuery {
                    limit: 1000,
                    ..MessageQuery::default()
                },
            )
            .await
            .unwrap();
        if let Some(m) = all.into_iter().find(|m| pred(m)) {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for a message on {account}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_status(
    store: &DynStore,
    account: &str,
    chat: &Jid,
    msg_id: &str,
    at_least: MessageStatus,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let m = store
            .get_message(&id(account), &chat.to_string(), msg_id)
            .await
            .unwrap()
            .expect("sent message stored");
        if m.message.status.progress_rank() >= at_least.progress_rank() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {msg_id} stuck at {:?}",
            m.message.status
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A sends B text both ways; each side stores the other's message once, with its
/// `message` event; receipts move the sender's status to delivered with a
/// `message.ack` event.
async fn text_both_ways<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynStore>,
{
    let sim = simulator().await;
    let store = open().await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let (a, a_jid) = link(&sim, &manager, "ann", "15550002001").await;
    let (b, b_jid) = link(&sim, &manager, "bob", "15550002002").await;

    let sent = a.send_text(&b_jid, "hello bob").await.unwrap();
    assert_eq!(sent.message.status, MessageStatus::Pending);
    assert_eq!(sent.message.chat, b_jid.to_string());
    let got = wait_message(&store, "bob", |m| m.message.id == sent.message.id).await;
    assert_eq!(got.message.text.as_deref(), Some("hello bob"));
    assert_eq!(got.message.chat, a_jid.to_string());
    assert_eq!(got.message.sender, a_jid.to_string());
    assert!(!got.message.from_me);
    assert_eq!(got.message.kind, "text");
    assert_eq!(got.message.status, MessageStatus::Received);
    wait_status(
        &store,
        "ann",
        &b_jid,
        &sent.message.id,
        MessageStatus::Delivered,
    )
    .await;

    // The reply goes the other way over the session Bob now has.
    let reply = b.send_text(&a_jid, "hi ann").await.unwrap();
    let got = wait_message(&store, "ann", |m| m.message.id == reply.message.id).await;
    assert_eq!(got.message.text.as_deref(), Some("hi ann"));
    wait_status(
        &store,
        "bob",
        &a_jid,
        &reply.message.id,
        MessageStatus::Delivered,
    )
    .await;

    // Events: Bob's inbox has the message, Ann's the delivery receipt.
    let events = store.events_after(Some(&id("bob")), 0, 100).await.unwrap();
    let msg_event = events
        .iter()
        .find(|e| e.kind == "message" && e.payload.contains(&sent.message.id))
        .expect("message event for bob");
    let payload: serde_json::Value = serde_json::from_str(&msg_event.payload).unwrap();
    assert_eq!(payload["body"], "hello bob");
    assert_eq!(payload["from"], a_jid.to_string());
    let acks = store.events_after(Some(&id("ann")), 0, 100).await.unwrap();
    assert!(
        acks.iter()
            .any(|e| e.kind == "message.ack" && e.payload.contains(&sent.message.id)),
        "delivery receipt event for ann: {acks:?}"
    );

    // Exactly once, and nothing left queued for either device.
    let count = store
        .list_messages(&id("bob"), &MessageQuery::default())
        .await
        .unwrap()
        .iter()
        .filter(|m| m.message.id == sent.message.id)
        .count();
    assert_eq!(count, 1);
    assert_eq!(store.count_outbox(&id("ann")).await.unwrap(), 0);
    manager.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_both_ways_on_sqlite() {
    text_both_ways(|| sqlite("text-both-ways")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_both_ways_on_postgres() {
    text_both_ways(|| postgres("text_both_ways")).await;
}

/// A message sent while the recipient is offline waits in the simulator and is
/// stored when the recipient comes back; a send accepted while the sender is offline
/// waits in the outbox and goes out after reconnecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_both_sides_lose_nothing() {
    let sim = simulator().await;
    let store = sqlite("offline-both-sides").await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let (a, _a_jid) = link(&sim, &manager, "ann", "15550003001").await;
    let (_b, b_jid) = link(&sim, &manager, "bob", "15550003002").await;

    assert!(manager.stop(&id("bob")).await);
    let first = a.send_text(&b_jid, "while you were away").await.unwrap();
    wait_status(
        &store,
        "ann",
        &b_jid,
        &first.message.id,
        MessageStatus::Sent,
    )
    .await;

    assert!(manager.stop(&id("ann")).await);
    let a = manager.start(&id("ann")).await.unwrap();
    let queued = a
        .send_text(&b_jid, "queued while connecting")
        .await
        .unwrap();
    manager.start(&id("bob")).await.unwrap();
    for want in [&first, &queued] {
        let got = wait_message(&store, "bob", |m| m.message.id == want.message.id).await;
        assert_eq!(got.message.text, want.message.text);
    }
    manager.shutdown().await;
    sim.shutdown().await;
}

/// Three accounts (two linked by QR, one by pairing code) in a group: messages go out once as a sender-key `skmsg` and every
/// member stores them; a member added later reads the next message too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_of_three_with_a_late_member() {
    let sim = simulator().await;
    let store = sqlite("group-of-three").await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let (a, a_jid) = link(&sim, &manager, "ann", "15550004001").await;
    let (b, b_jid) = link(&sim, &manager, "bob", "15550004002").await;
    let (_c, c_jid) = link_by_code(&sim, &manager, "cat", "15550004003").await;

    let group = a
        .create_group("tea", std::slice::from_ref(&b_jid))
        .await
        .unwrap();
    let gid = group.jid.clone();
    let first = a.send_text(&gid, "welcome").await.unwrap();
    let got = wait_message(&store, "bob", |m| m.message.id == first.message.id).await;
    assert_eq!(got.message.chat, gid.to_string());
    assert_eq!(got.message.sender, a_jid.to_string());
    assert_eq!(got.message.text.as_deref(), Some("welcome"));

    // Bob answers in the group with his own sender key.
    let answer = b.send_text(&gid, "thanks").await.unwrap();
    let got = wait_message(&store, "ann", |m| m.message.id == answer.message.id).await;
    assert_eq!(got.message.sender, b_jid.to_string());

    a.add_group_members(&gid, std::slice::from_ref(&c_jid))
        .await
        .unwrap();
    let later = a.send_text(&gid, "cat joined").await.unwrap();
    for member in ["bob", "cat"] {
        let got = wait_message(&store, member, |m| m.message.id == later.message.id).await;
        assert_eq!(got.message.text.as_deref(), Some("cat joined"));
    }
    manager.shutdown().await;
    sim.shutdown().await;
}

/// Ann sends Bob an image and a voice note: they are encrypted with fresh media keys,
/// uploaded through the simulator's media endpoints, and Bob's connector stores the
/// messages and downloads the files (verified, content-addressed) into his media
/// store; the media events carry the stored path, never the key.
async fn image_and_voice_note(
    label: &str,
    ann_media: wa_media::DynMediaStore,
    bob_media: wa_media::DynMediaStore,
) {
    use wa_media::MediaKey;
    use wa_proto::content::{MediaExtra, MediaKind, media_message};
    use wa_proto::media::MediaType;

    let sim = simulator().await;
    let store = sqlite(&format!("media-{label}")).await;
    // Ann's files and Bob's downloads live in separate media stores (two connectors).
    let ann_manager = AccountManager::new(store.clone(), options(&sim));
    let bob_manager = AccountManager::new(
        store.clone(),
        ConnectorOptions {
            media: Some(bob_media.clone()),
            ..options(&sim)
        },
    );
    let (a, _) = link(&sim, &ann_manager, "ann", "15550005001").await;
    let (_b, b_jid) = link(&sim, &bob_manager, "bob", "15550005002").await;

    // 300 KB of "photo" and 40 KB of "voice", not multiples of the cipher block.
    let photo: Vec<u8> = (0..300_001u32).map(|i| (i * 7 % 251) as u8).collect();
    let voice: Vec<u8> = (0..40_009u32).map(|i| (i * 13 % 253) as u8).collect();
    let mut sent = Vec::new();
    for (plain, ty, kind, mime) in [
        (&photo, MediaType::Image, MediaKind::Image, "image/jpeg"),
        (
            &voice,
            MediaType::Audio,
            MediaKind::Audio { ptt: true },
            "audio/ogg; codecs=opus",
        ),
    ] {
        let key = MediaKey::for_content(plain);
        ann_media.put_bytes(&key, plain).await.unwrap();
        let uploaded = a.upload_media(&ann_media, &key, ty, mime).await.unwrap();
        assert_eq!(uploaded.file_length, plain.len() as u64);
        let caption = matches!(ty, MediaType::Image).then(|| "look".to_owned());
        let extra = MediaExtra {
            seconds: Some(3),
            ..MediaExtra::default()
        };
        let msg = media_message(kind, &uploaded, caption, extra);
        sent.push((a.send_message(&b_jid, msg).await.unwrap(), key));
    }

    for (m, key) in &sent {
        let got = wait_message(&store, "bob", |s| s.message.id == m.message.id).await;
        let info = got.message.media.clone().expect("media reference stored");
        assert_eq!(info.media_key.as_ref().map(Vec::len), Some(32));
        assert!(info.direct_path.is_some());
        // Downloaded automatically into Bob's media store, under the plain file's hash.
        let deadline = tokio::time::Instant::now() + WAIT;
        let stored = loop {
            let now = store
                .get_message(&id("bob"), &got.message.chat, &got.message.id)
                .await
                .unwrap()
                .unwrap();
            if let Some(k) = now.message.media.and_then(|i| i.stored_key) {
                break k;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "media never downloaded"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        assert_eq!(stored, key.as_str());
        let downloaded = bob_media.get_bytes(key, 1 << 20).await.unwrap();
        let original = ann_media.get_bytes(key, 1 << 20).await.unwrap();
        assert_eq!(downloaded, original);
        assert_eq!(downloaded.len() as u64, info.file_length.unwrap());
        let kind = &got.message.kind;
        assert!(kind == "image" || kind == "audio", "{kind}");
    }
    let events = store.events_after(Some(&id("bob")), 0, 100).await.unwrap();
    let image_event = events
        .iter()
        .find(|e| e.payload.contains(&sent[0].0.message.id))
        .expect("image event");
    let payload: serde_json::Value = serde_json::from_str(&image_event.payload).unwrap();
    assert_eq!(payload["image"]["caption"], "look");
    assert_eq!(payload["image"]["mime_type"], "image/jpeg");
    assert!(!image_event.payload.contains("media_key"));
    ann_manager.shutdown().await;
    bob_manager.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_and_voice_note_in_media_folders() {
    let folder = |who: &str| test_dir().join(format!("media-{who}-{}", std::process::id()));
    let open = |who: &'static str| {
        let path = folder(who);
        async move {
            let store: wa_media::DynMediaStore =
                std::sync::Arc::new(wa_media::FolderStore::open(&path).await.unwrap());
            store
        }
    };
    image_and_voice_note("folder", open("ann").await, open("bob").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_and_voice_note_in_s3() {
    use wa_media::testing::s3_test_store;
    image_and_voice_note(
        "s3",
        s3_test_store("messaging-ann").await,
        s3_test_store("messaging-bob").await,
    )
    .await;
}

/// Stanzas a client does not know and messages it cannot decrypt never take the
/// account down: both are acknowledged (so they are not redelivered forever); the
/// undecryptable one becomes a `message.undecryptable` event and a retry receipt to
/// its sender; ordinary messages keep flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_undecryptable_stanzas_are_handled() {
    use wa_proto::binary::Node;

    let sim = simulator().await;
    let store = sqlite("bad-stanzas").await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let (a, a_jid) = link(&sim, &manager, "ann", "15550006001").await;
    let (b, b_jid) = link(&sim, &manager, "bob", "15550006002").await;
    let b_device = sim.devices("15550006002").pop().unwrap();
    let a_device = sim.devices("15550006001").pop().unwrap();

    sim.inject(
        &b_device,
        Node::new("weird")
            .attr("id", "W1")
            .attr("from", a_device.clone()),
    )
    .unwrap();
    sim.inject(
        &b_device,
        Node::new("message")
            .attr("id", "BADC0FFEE")
            .attr("from", a_device.clone())
            .attr("type", "text")
            .attr("t", "1700000000")
            .child(
                Node::new("enc")
                    .attr("v", "2")
                    .attr("type", "msg")
                    .bytes(vec![0x33, 1, 2, 3]),
            ),
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let events = store.events_after(Some(&id("bob")), 0, 100).await.unwrap();
        if let Some(e) = events.iter().find(|e| e.kind == "message.undecryptable") {
            let v: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            assert_eq!(v["id"], "BADC0FFEE");
            assert_eq!(v["from"], a_jid.to_string());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no undecryptable event"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The message was acknowledged; whether the unknown stanza stays queued is the
    // server's business, but the account is alive and messages flow both ways.
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim
        .acked_messages(&b_device)
        .iter()
        .all(|i| i != "BADC0FFEE")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "undecryptable message not acked"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(b.state(), AccountState::LoggedIn);
    let m = a.send_text(&b_jid, "still here?").await.unwrap();
    wait_message(&store, "bob", |s| s.message.id == m.message.id).await;
    let r = b.send_text(&a_jid, "yes").await.unwrap();
    wait_message(&store, "ann", |s| s.message.id == r.message.id).await;
    manager.shutdown().await;
    sim.shutdown().await;
}

/// Bob loses his session with Ann's device (a reset while stopped). Ann's next message
/// still uses the old session, so Bob cannot decrypt it: he asks for a retry, Ann
/// encrypts it again from Bob's pre-key bundle, and Bob stores it under the same id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_session_is_recovered_by_a_retry() {
    let sim = simulator().await;
    let store = sqlite("lost-session").await;
    let manager = AccountManager::new(store.clone(), options(&sim));
    let (a, a_jid) = link(&sim, &manager, "ann", "15550007001").await;
    let (_b, b_jid) = link(&sim, &manager, "bob", "15550007002").await;
    let a_device = sim.devices("15550007001").pop().unwrap();

    let first = a.send_text(&b_jid, "first").await.unwrap();
    wait_message(&store, "bob", |s| s.message.id == first.message.id).await;
    let reply = _b.send_text(&a_jid, "ack").await.unwrap();
    wait_message(&store, "ann", |s| s.message.id == reply.message.id).await;

    assert!(manager.stop(&id("bob")).await);
    let address = format!("{}.{}", a_device.user, a_device.device);
    assert!(store.delete_session(&id("bob"), &address).await.unwrap());
    manager.start(&id("bob")).await.unwrap();

    let second = a.send_text(&b_jid, "after the reset").await.unwrap();
    let got = wait_message(&store, "bob", |s| s.message.id == second.message.id).await;
    assert_eq!(got.message.text.as_deref(), Some("after the reset"));
    let events = store.events_after(Some(&id("bob")), 0, 100).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "message.undecryptable" && e.payload.contains(&second.message.id)),
        "the first copy was undecryptable: {events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "message" && e.payload.contains(&second.message.id))
            .count(),
        1
    );
    manager.shutdown().await;
    sim.shutdown().await;
}
