//! `POST /message/{id}/forward` end to end: the real `wa-connector serve`
//! process hosting the real `http_api.wasm`, the WhatsApp simulator behind it,
//! several accounts passing messages on. Each receiver decrypts what arrives;
//! its stored `Message` (read from the process's SQLite store) shows the
//! "forwarded" label, the score and, for media, the original's reference.

mod support;

use prost::Message as _;
use serde_json::{Value, json};
use support::gateway::{Gateway, Reply, multipart};
use wa_proto::proto::message::{ContextInfo, Message};
use wa_store::{AccountId, DynStore};

const ANN: &str = "15550410001";
const BOB: &str = "15550410002";
const CY: &str = "15550410003";

fn jid(phone: &str) -> String {
    format!("{phone}@s.whatsapp.net")
}

/// The store the running process writes (SQLite in WAL mode: read beside it).
async fn store_of(gw: &Gateway) -> DynStore {
    let path = gw.dir.join("data").join("wa.db");
    wa_store::open(&format!("file:{}", path.display()))
        .await
        .expect("the connector's store opens")
}

/// The decrypted message `id` of `chat` as `device` stored it.
async fn stored(db: &DynStore, device: &str, chat: &str, id: &str) -> Message {
    let found = db
        .get_message(&AccountId::new(device).unwrap(), &jid(chat), id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{device} has no message {id} in {chat}"));
    Message::decode(found.message.content.as_slice()).expect("stored content decodes")
}

/// The context of a forwarded text or image.
fn context(m: &Message) -> ContextInfo {
    let info = m
        .extended_text_message
        .as_ref()
        .and_then(|t| t.context_info.as_deref())
        .or_else(|| {
            m.image_message
                .as_ref()
                .and_then(|i| i.context_info.as_deref())
        })
        .unwrap_or_else(|| panic!("no context in {m:?}"));
    info.clone()
}

/// Forwards message `id` as `device` and answers the new message's id.
async fn forward(gw: &Gateway, device: &str, id: &str, body: Value) -> String {
    let results = gw
        .post(
            Some(device),
            &format!("/message/{id}/forward"),
            body.clone(),
        )
        .await
        .ok();
    let to = body["phone"].as_str().unwrap();
    assert_eq!(
        results["status"],
        format!("Message forwarded to {}", jid(to)).as_str(),
        "{results}"
    );
    results["message_id"].as_str().unwrap().to_owned()
}

#[track_caller]
fn assert_refused(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (status, code),
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_messages_carry_the_label_and_the_score() {
    let gw = Gateway::start("forward", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.link("cy", CY).await;
    let db = store_of(&gw).await;

    // A text goes round: Ann -> Bob, who forwards it to Cy, who forwards it
    // to Ann, and so on; every hop raises the score by one.
    let quoted = gw
        .send_and_receive(("ann", BOB), ("bob", ANN), "pass it on")
        .await;
    let mut id = quoted["id"].as_str().unwrap().to_owned();
    // Each hop: who forwards (and as which phone), who receives it.
    let hops = [
        (("bob", BOB), ("cy", CY)),
        (("cy", CY), ("ann", ANN)),
        (("ann", ANN), ("bob", BOB)),
    ];
    for (score, ((from, from_phone), (receiver, to))) in (1..).zip(hops.iter().cycle().take(5)) {
        // The message is named by id alone, in whichever chat it is.
        let copy = forward(&gw, from, &id, json!({"phone": to})).await;
        let seen = gw
            .wait_for_message(receiver, from_phone, |m| m["id"] == copy.as_str())
            .await;
        assert_eq!(
            (seen["message_type"].as_str(), seen["content"].as_str()),
            (Some("text"), Some("pass it on")),
            "{seen}"
        );
        let got = stored(&db, receiver, from_phone, &copy).await;
        let info = context(&got);
        assert_eq!(
            (info.is_forwarded, info.forwarding_score),
            (Some(true), Some(score)),
            "hop {score}: {got:?}"
        );
        assert_eq!(info.expiration, None);
        id = copy;
    }

    // An image is forwarded by reference: Cy's copy names the very file Bob
    // received (same path, key and hash), and it downloads to the same bytes.
    let mut jpeg = b"\xFF\xD8\xFF\xE0".to_vec();
    jpeg.extend((0..30_000u32).map(|i| (i * 13 % 251) as u8));
    let (content_type, body) = multipart(
        &[("phone", BOB), ("caption", "look")],
        &[("image", "look.jpg", "image/jpeg", &jpeg)],
    );
    let picture = gw
        .post_raw(Some("ann"), "/send/image", &content_type, body)
        .await
        .ok()["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.wait_for_message("bob", ANN, |m| m["id"] == picture.as_str())
        .await;
    let original = stored(&db, "bob", ANN, &picture).await;
    let original = original.image_message.unwrap();
    let copy = forward(
        &gw,
        "bob",
        &picture,
        json!({"phone": CY, "duration": 86400}),
    )
    .await;
    let seen = gw
        .wait_for_message("cy", BOB, |m| m["id"] == copy.as_str())
        .await;
    assert_eq!(
        (seen["message_type"].as_str(), seen["content"].as_str()),
        (Some("image"), Some("look")),
        "{seen}"
    );
    let got = stored(&db, "cy", BOB, &copy).await;
    let info = context(&got);
    assert_eq!(
        (info.is_forwarded, info.forwarding_score, info.expiration),
        (Some(true), Some(1), Some(86_400))
    );
    let image = got.image_message.unwrap();
    assert_eq!(image.direct_path, original.direct_path);
    assert_eq!(image.media_key, original.media_key);
    assert_eq!(image.file_enc_sha256, original.file_enc_sha256);
    let download = gw
        .get(Some("cy"), &format!("/message/{copy}/download?phone={BOB}"))
        .await;
    assert_eq!(download.status, 200);
    assert_eq!(download.bytes, jpeg);

    // `force_reupload`: a new file on the media server, the same bytes.
    let fresh = forward(
        &gw,
        "bob",
        &picture,
        json!({"phone": CY, "force_reupload": true}),
    )
    .await;
    gw.wait_for_message("cy", BOB, |m| m["id"] == fresh.as_str())
        .await;
    let image = stored(&db, "cy", BOB, &fresh).await.image_message.unwrap();
    assert_ne!(image.direct_path, original.direct_path);
    assert_ne!(image.media_key, original.media_key);
    let download = gw
        .get(
            Some("cy"),
            &format!("/message/{fresh}/download?phone={BOB}"),
        )
        .await;
    assert_eq!((download.status, download.bytes), (200, jpeg));

    // Refusals, in GOWA's envelope.
    assert_refused(
        &gw.post(
            Some("bob"),
            "/message/3EB0NOSUCHMESSAGE/forward",
            json!({"phone": CY}),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    assert_refused(
        &gw.post(
            Some("bob"),
            &format!("/message/{picture}/forward"),
            json!({"phone": "not-a-number"}),
        )
        .await,
        400,
        "INVALID_JID",
    );
    assert_refused(
        &gw.post(
            Some("bob"),
            &format!("/message/{picture}/forward"),
            json!({}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_refused(
        &gw.post(
            Some("bob"),
            &format!("/message/{picture}/forward"),
            json!({"phone": CY, "duration": 5}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    // A reaction has no content to forward.
    let reaction = gw
        .post(
            Some("cy"),
            &format!("/message/{copy}/reaction"),
            json!({"phone": BOB, "emoji": "👍"}),
        )
        .await
        .ok()["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = gw
        .post(
            Some("cy"),
            &format!("/message/{reaction}/forward"),
            json!({"phone": ANN}),
        )
        .await;
    assert_refused(&refused, 400, "VALIDATION_ERROR");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("cannot be forwarded"),
        "{}",
        refused.json()
    );
}
