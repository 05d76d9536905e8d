//! The GOWA-compatible REST API end to end: the real `wa-connector serve`
//! process hosting the real `http_api.wasm`, over HTTP on loopback, with the
//! WhatsApp simulator behind it. Field names are GOWA's.

mod support;

use serde_json::{Value, json};
use support::gateway::{Gateway, PASSWORD, USER, multipart};

const ANN: &str = "15550100001";
const BOB: &str = "15550100002";

/// SHA-256 hex by coreutils, independent of the gateway's own hashing.
fn coreutils_sha256(text: &str) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn jid(phone: &str) -> String {
    format!("{phone}@s.whatsapp.net")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_and_device_routes_speak_gowa() {
    const KEY: &str = "ci-robot-key-0123456789";
    const OPS_KEY: &str = "ops-key-kept-as-a-digest";
    let gw = Gateway::start(
        "app",
        &[(
            "APP_API_KEYS",
            // One key in plain, one by its SHA-256 digest.
            &format!("ci:{KEY},ops:sha256:{}", coreutils_sha256(OPS_KEY)),
        )],
    )
    .await;

    // Liveness needs no credentials; everything else does.
    let health = gw
        .http
        .get(format!("{}/health", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let anonymous = gw
        .http
        .get(format!("{}/app/devices", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = gw
        .http
        .get(format!("{}/app/devices", gw.base))
        .basic_auth(USER, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_ne!(PASSWORD, "wrong");
    let challenge = wrong.headers().get("www-authenticate").cloned();
    assert_eq!(challenge.unwrap(), r#"Basic realm="wa-gateway""#);
    let refusal: Value = wrong.json().await.unwrap();
    assert_eq!(refusal["code"], "AUTHENTICATION_ERROR", "{refusal}");

    // API keys, in X-Api-Key or as a bearer token; a wrong key is refused even
    // with valid basic credentials beside it.
    let with_key = |key: &str, bearer: bool| {
        let request = gw.http.get(format!("{}/app/devices", gw.base));
        if bearer {
            request.bearer_auth(key)
        } else {
            request.header("X-Api-Key", key)
        }
    };
    for (key, bearer) in [(KEY, false), (KEY, true), (OPS_KEY, false)] {
        let answer = with_key(key, bearer).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{key} bearer={bearer}");
    }
    let digest_as_key = format!("sha256:{}", coreutils_sha256(OPS_KEY));
    for key in ["not-a-key-0123456789", digest_as_key.as_str()] {
        let answer = with_key(key, false)
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "{key}");
    }

    let info = gw.get(None, "/app/info").await.ok();
    assert_eq!(info["api"], "gowa-v9");
    assert_eq!(info["contract"], "wa:gateway@0.1.0");
    assert_eq!(info["host"], "wa-connector");
    assert_eq!(info["store"], "sqlite");
    assert_eq!(info["media"], "folder");

    // No device yet: account-bound routes say so.
    let none = gw.get(None, "/app/status").await;
    assert_eq!(
        (none.status, none.code().as_str()),
        (404, "DEVICE_NOT_FOUND")
    );

    // Devices: create two, list them, and see the selection rules.
    let created = gw
        .post(None, "/devices", json!({"device_id": "ann"}))
        .await
        .ok();
    assert_eq!(created["id"], "ann");
    assert!(
        ["connecting", "waiting_for_pairing"].contains(&created["state"].as_str().unwrap()),
        "{created}"
    );
    assert_eq!(created["is_logged_in"], false);
    gw.post(None, "/devices", json!({"device_id": "bob"}))
        .await
        .ok();
    let list = gw.get(None, "/devices").await.ok();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["ann", "bob"]);
    let ambiguous = gw.get(None, "/app/status").await;
    assert_eq!(
        (ambiguous.status, ambiguous.code().as_str()),
        (400, "DEVICE_ID_REQUIRED")
    );
    let unknown = gw.get(Some("nobody"), "/app/status").await;
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (404, "DEVICE_NOT_FOUND")
    );
    let bad_id = gw.get(Some("bad id!"), "/app/status").await;
    assert_eq!(bad_id.status, 400, "{:?}", bad_id.json());

    // QR login: the raw string, a PNG link that serves a PNG, and its lifetime.
    let login = gw.get(Some("ann"), "/app/login").await.ok();
    let qr = login["qr_code"].as_str().unwrap();
    assert!(qr.split(',').count() >= 4, "GOWA-style QR payload: {qr}");
    assert!(login["qr_duration"].as_u64().unwrap() > 0);
    let link = login["qr_link"].as_str().unwrap();
    assert!(link.starts_with(&gw.base), "{link}");
    let png = gw.request(gw.http.get(link)).await;
    assert_eq!(png.status, 200);
    assert_eq!(png.headers["content-type"], "image/png");
    assert!(png.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));

    // Pairing code: validated, then issued.
    let bad_phone = gw.get(Some("bob"), "/app/login-with-code?phone=12").await;
    assert_eq!(bad_phone.status, 400, "{:?}", bad_phone.json());
    let code = gw
        .get(Some("bob"), &format!("/app/login-with-code?phone={BOB}"))
        .await
        .ok();
    let pair_code = code["pair_code"].as_str().unwrap();
    assert_eq!(pair_code.len(), 9, "{pair_code}");
    assert_eq!(&pair_code[4..5], "-");
    gw.sim
        .enter_pairing_code(BOB, &pair_code.replace('-', ""))
        .unwrap();

    // Ann links by QR; both end up connected and listed by /app/devices.
    gw.sim.scan_qr(qr, ANN).unwrap();
    let ann_jid = gw.wait_connected("ann").await;
    let bob_jid = gw.wait_connected("bob").await;
    assert!(ann_jid.starts_with(ANN), "{ann_jid}");
    assert!(bob_jid.starts_with(BOB), "{bob_jid}");
    let status = gw.get(Some("ann"), "/app/status").await.ok();
    assert_eq!(status["is_connected"], true);
    assert_eq!(status["is_logged_in"], true);
    let app_devices = gw.get(None, "/app/devices").await.ok();
    assert_eq!(app_devices.as_array().unwrap().len(), 2);
    assert!(app_devices[0]["device"].as_str().is_some());
    assert!(app_devices[0]["name"].as_str().is_some());

    // Unknown routes and methods keep the envelope.
    let missing = gw.get(None, "/no/such/route").await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "NOT_FOUND")
    );
    let method = gw.get(None, "/send/message").await;
    assert_eq!(
        (method.status, method.code().as_str()),
        (405, "METHOD_NOT_ALLOWED")
    );

    // Logout, then delete.
    gw.request(gw.http.post(format!("{}/devices/bob/logout", gw.base)))
        .await
        .ok();
    let deleted = gw
        .request(gw.http.delete(format!("{}/devices/bob", gw.base)))
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.json());
    let gone = gw.get(None, "/devices/bob").await;
    assert_eq!(
        (gone.status, gone.code().as_str()),
        (404, "DEVICE_NOT_FOUND")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_messages_both_ways_with_replies_and_history() {
    let gw = Gateway::start("text", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    let sent = gw
        .post(
            Some("ann"),
            "/send/message",
            json!({"phone": BOB, "message": "hello bob"}),
        )
        .await
        .ok();
    let id = sent["message_id"].as_str().unwrap().to_owned();
    assert!(sent["status"].as_str().is_some());
    let received = gw
        .wait_for_message("bob", ANN, |m| m["id"] == id.as_str())
        .await;
    assert_eq!(received["content"], "hello bob");
    assert_eq!(received["is_from_me"], false);
    assert_eq!(received["chat_jid"], jid(ANN));

    // Bob replies (quoting) through GOWA's load-test alias; Ann sees it.
    let reply = gw
        .post(
            Some("bob"),
            "/send/text",
            json!({"phone": format!("+{BOB}").replace(BOB, ANN), "message": "hi ann", "reply_message_id": id}),
        )
        .await
        .ok();
    let reply_id = reply["message_id"].as_str().unwrap().to_owned();
    gw.wait_for_message("ann", BOB, |m| m["id"] == reply_id.as_str())
        .await;

    // Ann's own message is in her history with its delivery status.
    let own = gw
        .wait_for_message("ann", BOB, |m| {
            m["id"] == id.as_str() && m["status"] != "pending"
        })
        .await;
    assert_eq!(own["is_from_me"], true);

    // Chats list both sides.
    let chats = gw.get(Some("ann"), "/chats").await.ok();
    assert_eq!(chats["data"][0]["jid"], jid(BOB));
    assert!(chats["pagination"]["limit"].as_u64().is_some());

    // Filters: only Ann's own, and a search.
    let mine = gw
        .get(
            Some("ann"),
            &format!("/chat/{BOB}/messages?is_from_me=true"),
        )
        .await
        .ok();
    assert!(
        mine["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["is_from_me"] == true)
    );
    let search = gw
        .get(
            Some("ann"),
            &format!("/chat/{BOB}/messages?search=HI%20ANN"),
        )
        .await
        .ok();
    assert_eq!(search["data"].as_array().unwrap().len(), 1);

    // A caller-chosen id makes a retried send idempotent.
    let first = gw
        .post(
            Some("ann"),
            "/send/message",
            json!({"phone": BOB, "message": "once", "message_id": "3EB0CAFE0001"}),
        )
        .await
        .ok();
    let again = gw
        .post(
            Some("ann"),
            "/send/message",
            json!({"phone": BOB, "message": "once", "message_id": "3EB0CAFE0001"}),
        )
        .await
        .ok();
    assert_eq!(first["message_id"], again["message_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let gw = Gateway::start("bad-input", &[("WHATSAPP_MAX_FILE_SIZE_IMAGE", "1024")]).await;
    gw.link("ann", ANN).await;

    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "/send/message",
            b"{not json".to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        ("/send/message", b"[1,2]".to_vec(), 400, "VALIDATION_ERROR"),
        (
            "/send/message",
            br#"{"phone": "15550100002"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/message",
            br#"{"message": "hi"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/message",
            br#"{"phone": "12ab", "message": "hi"}"#.to_vec(),
            400,
            "INVALID_JID",
        ),
        (
            "/send/message",
            br#"{"phone": "0812345678", "message": "hi"}"#.to_vec(),
            400,
            "INVALID_JID",
        ),
        (
            "/send/message",
            br#"{"phone": "x@broadcast", "message": "hi"}"#.to_vec(),
            400,
            "INVALID_JID",
        ),
        (
            "/send/message",
            br#"{"phone": 15550100002, "message": {"a": 1}}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/message",
            br#"{"phone": "15550100002", "message": "hi", "is_forwarded": "maybe"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/location",
            br#"{"phone": "15550100002", "latitude": "north", "longitude": 1}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/location",
            br#"{"phone": "15550100002", "latitude": 91, "longitude": 1}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/poll",
            br#"{"phone": "15550100002", "question": "q", "options": ["only"]}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/contact",
            br#"{"phone": "15550100002", "contact_name": "A", "contact_phone": "12"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/image",
            br#"{"phone": "15550100002"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/image",
            br#"{"phone": "15550100002", "image_url": "http://127.0.0.1:9/x.png"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/image",
            br#"{"phone": "15550100002", "image_url": "http://10.1.2.3/x.png"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "/send/image",
            br#"{"phone": "15550100002", "image_url": "file:///etc/passwd"}"#.to_vec(),
            400,
            "VALIDATION_ERROR",
        ),
    ];
    for (path, body, status, code) in cases {
        let reply = gw
            .post_raw(Some("ann"), path, "application/json", body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{path} {} -> {}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&reply.bytes)
        );
        assert!(
            reply.json()["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    // An image over the configured limit (1 KiB here).
    let big = vec![0xFFu8; 4096];
    let (content_type, body) = multipart(
        &[("phone", BOB)],
        &[("image", "big.jpg", "image/jpeg", &big)],
    );
    let too_big = gw
        .post_raw(Some("ann"), "/send/image", &content_type, body)
        .await;
    assert_eq!(too_big.status, 413, "{:?}", too_big.json());

    // A body far over any limit is refused before it is read.
    let huge = vec![b'x'; 3 * 1024 * 1024];
    let refused = gw
        .post_raw(Some("ann"), "/send/message", "application/json", huge)
        .await;
    assert_eq!(refused.status, 413);

    // Broken multipart.
    let broken = gw
        .post_raw(
            Some("ann"),
            "/send/image",
            "multipart/form-data; boundary=zzz",
            b"--zzz\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n1555".to_vec(),
        )
        .await;
    assert_eq!(
        (broken.status, broken.code().as_str()),
        (400, "VALIDATION_ERROR")
    );

    // Nothing of the above was stored or queued.
    let chats = gw.get(Some("ann"), "/chats").await.ok();
    assert_eq!(chats["data"], Value::Array(vec![]));
}

/// One second of a 440 Hz tone as WAV, made by ffmpeg.
fn generated_audio(dir: &std::path::Path) -> Vec<u8> {
    generated(dir, "tone.wav", &["-i", "sine=frequency=440:duration=1"])
}

/// One second of video in AVI (MPEG-4 Part 2), made by ffmpeg.
fn generated_video(dir: &std::path::Path) -> Vec<u8> {
    generated(
        dir,
        "clip.avi",
        &[
            "-i",
            "testsrc=duration=1:size=160x120:rate=10",
            "-c:v",
            "mpeg4",
        ],
    )
}

/// What ffmpeg writes to `dir/name` from a lavfi source and `args`.
fn generated(dir: &std::path::Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg is installed (cargo xtask test installs it)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// Deterministic filler so files are distinguishable and incompressible enough.
fn file_bytes(magic: &[u8], len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    let mut x = seed as u32 | 1;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_and_rich_messages_arrive_and_download_byte_identical() {
    let gw = Gateway::start("media", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    // Image (multipart), voice note (ptt), document and video.
    let image = file_bytes(b"\xFF\xD8\xFF\xE0", 40_000, 1);
    let voice = generated_audio(&gw.dir);
    let document = file_bytes(b"%PDF-1.4\n", 30_000, 3);
    let video = generated_video(&gw.dir);
    /// Route, form field, file name, MIME type, bytes, extra fields.
    type Upload<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a [u8],
        Vec<(&'a str, &'a str)>,
    );
    let uploads: Vec<Upload<'_>> = vec![
        (
            "/send/image",
            "image",
            "photo.jpg",
            "image/jpeg",
            &image,
            vec![("caption", "a photo")],
        ),
        (
            "/send/audio",
            "audio",
            "note.wav",
            "audio/wav",
            &voice,
            vec![("ptt", "true")],
        ),
        (
            "/send/file",
            "file",
            "report.pdf",
            "application/pdf",
            &document,
            vec![("caption", "the report")],
        ),
        (
            "/send/video",
            "video",
            "clip.mp4",
            "video/mp4",
            &video,
            vec![],
        ),
    ];
    for (path, field, name, mime, bytes, extra) in uploads {
        let mut fields = vec![("phone", BOB)];
        fields.extend(extra);
        let (content_type, body) = multipart(&fields, &[(field, name, mime, bytes)]);
        let sent = gw
            .post_raw(Some("ann"), path, &content_type, body)
            .await
            .ok();
        let id = sent["message_id"].as_str().unwrap().to_owned();
        let received = gw
            .wait_for_message("bob", ANN, |m| m["id"] == id.as_str())
            .await;
        let url = received["url"].as_str().unwrap();
        let downloaded = gw
            .request(gw.http.get(url).header("X-Device-Id", "bob"))
            .await;
        assert_eq!(
            downloaded.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&downloaded.bytes)
        );
        // The sender can read its own media back too.
        let own = gw
            .get(Some("ann"), &format!("/message/{id}/download?phone={BOB}"))
            .await;
        assert!(
            own.bytes == downloaded.bytes,
            "{path}: the sender's copy differs"
        );
        if path == "/send/audio" {
            // Voice notes are re-encoded to Opus in OGG, whatever was uploaded.
            assert!(downloaded.bytes.starts_with(b"OggS"), "not OGG");
            assert_eq!(received["file_length"], downloaded.bytes.len());
            continue;
        }
        if path == "/send/video" {
            // Converted to H.264 in MP4 (tests/video.rs checks how).
            assert_eq!(&downloaded.bytes[4..8], b"ftyp", "not MP4");
            assert_eq!(received["file_length"], downloaded.bytes.len());
            continue;
        }
        assert_eq!(received["file_length"], bytes.len(), "{path}: {received}");
        assert!(
            downloaded.bytes == *bytes,
            "{path}: the download differs from the upload"
        );
        if path == "/send/file" {
            assert_eq!(received["filename"], "report.pdf");
            assert_eq!(received["content"], "the report");
        }
        if path == "/send/image" {
            assert_eq!(received["content"], "a photo");
            assert_eq!(received["media_type"], "image");
        }
    }

    // View-once: wrapped as WhatsApp clients send it; the receiving gateway
    // sees through the wrapper and the media downloads as sent.
    let (content_type, body) = multipart(
        &[
            ("phone", BOB),
            ("caption", "seen once"),
            ("view_once", "true"),
        ],
        &[("image", "once.jpg", "image/jpeg", &image)],
    );
    let sent = gw
        .post_raw(Some("ann"), "/send/image", &content_type, body)
        .await
        .ok();
    let id = sent["message_id"].as_str().unwrap().to_owned();
    let received = gw
        .wait_for_message("bob", ANN, |m| m["id"] == id.as_str())
        .await;
    assert_eq!(
        (&received["message_type"], &received["content"]),
        (&json!("image"), &json!("seen once")),
        "{received}"
    );
    let downloaded = gw
        .request(
            gw.http
                .get(received["url"].as_str().unwrap())
                .header("X-Device-Id", "bob"),
        )
        .await;
    assert!(downloaded.bytes == image, "the view-once image differs");

    // Audio that is not audio cannot become a voice note.
    let junk = file_bytes(b"OggS", 5_000, 9);
    let (content_type, body) = multipart(
        &[("phone", BOB), ("ptt", "true")],
        &[("audio", "junk.ogg", "audio/ogg", &junk)],
    );
    let refused = gw
        .post_raw(Some("ann"), "/send/audio", &content_type, body)
        .await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (400, "VALIDATION_ERROR"),
        "{:?}",
        refused.json()
    );

    // Location, contact card and poll, in JSON.
    for (path, body, kind) in [
        (
            "/send/location",
            json!({"phone": BOB, "latitude": "-6.2", "longitude": 106.8}),
            "location",
        ),
        (
            "/send/contact",
            json!({"phone": BOB, "contact_name": "Cy", "contact_phone": "+1 555 010 0003"}),
            "contact",
        ),
        (
            "/send/poll",
            json!({"phone": BOB, "question": "Lunch?", "options": ["pizza", "sushi"], "max_answer": 1}),
            "poll",
        ),
    ] {
        let sent = gw.post(Some("ann"), path, body).await.ok();
        let id = sent["message_id"].as_str().unwrap().to_owned();
        let received = gw
            .wait_for_message("bob", ANN, |m| m["id"] == id.as_str())
            .await;
        assert_eq!(received["message_type"], kind, "{received}");
    }

    // Bob reacts to Ann's poll; Ann edits and revokes her own messages; Bob may
    // not revoke Ann's.
    let first = gw
        .send_and_receive(("ann", BOB), ("bob", ANN), "edit me")
        .await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    gw.post(
        Some("bob"),
        &format!("/message/{first_id}/reaction"),
        json!({"phone": ANN, "emoji": "👍"}),
    )
    .await
    .ok();
    let reactions = wait_for_event(&gw, "ann", "message.reaction").await;
    assert!(reactions.to_string().contains("👍"), "{reactions}");
    gw.post(
        Some("ann"),
        &format!("/message/{first_id}/update"),
        json!({"phone": BOB, "message": "edited"}),
    )
    .await
    .ok();
    gw.post(
        Some("ann"),
        &format!("/message/{first_id}/revoke"),
        json!({"phone": BOB}),
    )
    .await
    .ok();
    let foreign = gw
        .post(
            Some("bob"),
            &format!("/message/{first_id}/revoke"),
            json!({"phone": ANN}),
        )
        .await;
    assert_eq!(foreign.status, 400, "{:?}", foreign.json());
    let unknown = gw
        .post(
            Some("ann"),
            "/message/NOSUCHID/revoke",
            json!({"phone": BOB}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.json());
}

/// Polls `/events` until one named `name` shows for `device`; returns its payload.
/// Waits until `done` holds (for what the simulator reads asynchronously).
async fn eventually(done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + support::gateway::WAIT;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition never held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn wait_for_event(gw: &Gateway, device: &str, name: &str) -> Value {
    wait_for_event_where(gw, device, name, |_| true).await
}

/// The payload of the first `name` event of `device` that `pred` accepts.
async fn wait_for_event_where(
    gw: &Gateway,
    device: &str,
    name: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + support::gateway::WAIT;
    loop {
        let events = gw
            .get(None, &format!("/events?device_id={device}&limit=1000"))
            .await
            .ok();
        let found = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == name)
            .map(|e| serde_json::from_str::<Value>(e["payload"].as_str().unwrap()).unwrap())
            .find(|payload| pred(payload));
        if let Some(payload) = found {
            return payload;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {name} event for {device}: {events}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_created_read_and_changed() {
    let gw = Gateway::start("groups", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.link("cy", "15550100003").await;

    let created = gw
        .post(
            Some("ann"),
            "/group",
            json!({"title": "Team", "participants": [BOB]}),
        )
        .await
        .ok();
    let group = created["group_id"].as_str().unwrap().to_owned();
    assert!(group.ends_with("@g.us"), "{group}");
    let info = gw
        .get(Some("ann"), &format!("/group/info?group_id={group}"))
        .await
        .ok();
    assert_eq!(info["name"], "Team");
    let members: Vec<&str> = info["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["jid"].as_str().unwrap())
        .collect();
    assert!(members.contains(&jid(BOB).as_str()), "{info}");

    // A message to the group reaches Bob; Cy is added and gets the next one.
    gw.send_and_receive(("ann", &group), ("bob", &group), "welcome")
        .await;
    let added = gw
        .post(
            Some("ann"),
            "/group/participants",
            json!({"group_id": group, "participants": ["15550100003"]}),
        )
        .await
        .ok();
    assert_eq!(added[0]["status"], "success", "{added}");
    gw.send_and_receive(("ann", &group), ("cy", &group), "hi cy")
        .await;
    // Adding a member twice: WhatsApp's per-member refusal, GOWA's shape.
    let again = gw
        .post(
            Some("ann"),
            "/group/participants",
            json!({"group_id": group, "participants": ["15550100003"]}),
        )
        .await
        .ok();
    assert_eq!(again[0]["status"], "error", "{again}");
    assert!(
        again[0]["message"].as_str().unwrap().contains("409"),
        "{again}"
    );

    // Name, topic and settings; every member sees them in the group's info.
    let info_of = |device: &'static str| {
        let path = format!("/group/info?group_id={group}");
        let gw = &gw;
        async move { gw.get(Some(device), &path).await.ok() }
    };
    let group_post = |device: &'static str, path: &'static str, body: Value| {
        let gw = &gw;
        async move { gw.post(Some(device), path, body).await }
    };
    let renamed = group_post(
        "bob",
        "/group/name",
        json!({"group_id": group, "name": "Crew"}),
    )
    .await;
    assert_eq!(renamed.ok(), Value::Null);
    assert_eq!(
        renamed.json()["message"],
        "Success update group name to 'Crew'"
    );
    group_post(
        "ann",
        "/group/topic",
        json!({"group_id": group, "topic": "Be kind"}),
    )
    .await
    .ok();
    // A second edit replaces the first (it names the version it replaces).
    group_post(
        "bob",
        "/group/topic",
        json!({"group_id": group, "topic": "Be very kind"}),
    )
    .await
    .ok();
    let participants = gw
        .get(Some("cy"), &format!("/group/participants?group_id={group}"))
        .await
        .ok();
    assert_eq!(participants["name"], "Crew");
    assert_eq!(participants["participants"].as_array().unwrap().len(), 3);
    let info = info_of("cy").await;
    assert_eq!(
        (
            &info["name"],
            &info["topic"],
            &info["is_locked"],
            &info["is_announce"]
        ),
        (
            &json!("Crew"),
            &json!("Be very kind"),
            &json!(false),
            &json!(false)
        ),
        "{info}"
    );

    // Disappearing messages: a member may set them while the group is open.
    let timer = gw
        .post(
            Some("bob"),
            &format!("/chat/{group}/disappearing"),
            json!({"timer_seconds": 604800}),
        )
        .await
        .ok();
    assert_eq!(timer["timer_seconds"], 604800);
    assert_eq!(info_of("cy").await["disappearing_seconds"], 604800);
    let odd = gw
        .post(
            Some("bob"),
            &format!("/chat/{group}/disappearing"),
            json!({"timer_seconds": 1234}),
        )
        .await;
    assert_eq!((odd.status, odd.code().as_str()), (400, "VALIDATION_ERROR"));

    // Settings are for admins; once locked, members cannot rename.
    let by_member = group_post(
        "bob",
        "/group/locked",
        json!({"group_id": group, "locked": true}),
    )
    .await;
    assert_eq!(by_member.status, 400, "{:?}", by_member.json());
    for (path, field) in [("/group/locked", "locked"), ("/group/announce", "announce")] {
        group_post("ann", path, json!({"group_id": group, field: true}))
            .await
            .ok();
    }
    let missing = group_post("ann", "/group/locked", json!({"group_id": group})).await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (400, "VALIDATION_ERROR")
    );
    let info = info_of("bob").await;
    assert_eq!(
        (&info["is_locked"], &info["is_announce"]),
        (&json!(true), &json!(true)),
        "{info}"
    );
    let locked_out = group_post(
        "bob",
        "/group/name",
        json!({"group_id": group, "name": "Mine"}),
    )
    .await;
    assert_eq!(locked_out.status, 400, "{:?}", locked_out.json());
    // The group's photo: the admin sets it (a JPEG); a member of a locked group
    // cannot; anyone reads where it is.
    let photo = file_bytes(&[0xFF, 0xD8, 0xFF, 0xE0], 3_000, 11);
    let set_photo = |device: &'static str, bytes: Vec<u8>| {
        let gw = &gw;
        let group = group.clone();
        async move {
            let (content_type, body) = multipart(
                &[("group_id", group.as_str())],
                &[("photo", "group.jpg", "image/jpeg", &bytes)],
            );
            gw.post_raw(Some(device), "/group/photo", &content_type, body)
                .await
        }
    };
    let set = set_photo("ann", photo.clone()).await.ok();
    let picture_id = set["picture_id"].as_str().unwrap().to_owned();
    let group_jid: wa_proto::binary::Jid = group.parse().unwrap();
    assert_eq!(gw.sim.picture_of(&group_jid), Some(photo.clone()));
    let refused = set_photo("bob", photo.clone()).await;
    assert_eq!(refused.status, 400, "{:?}", refused.json());
    let avatar = gw
        .get(Some("cy"), &format!("/user/avatar?phone={group}"))
        .await
        .ok();
    assert_eq!(avatar["id"], picture_id.as_str(), "{avatar}");
    // Announcement-only: the admin still sends; a member's send is queued,
    // refused by WhatsApp, and reported as failed.
    gw.send_and_receive(("ann", &group), ("bob", &group), "admins only now")
        .await;
    let muted = gw.send_text("bob", &group, "me too").await;
    let failed = wait_for_event(&gw, "bob", "message.failed").await;
    assert!(failed.to_string().contains(&muted), "{failed}");
    group_post(
        "ann",
        "/group/topic",
        json!({"group_id": group, "topic": ""}),
    )
    .await
    .ok();
    assert_eq!(info_of("ann").await["topic"], Value::Null);

    // Everyone's own group list has it, with the same view.
    let mine = gw.get(Some("bob"), "/user/my/groups").await.ok();
    let listed = &mine["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{mine}");
    assert_eq!(listed[0], info_of("bob").await);

    // Cy leaves: the group no longer lists them, and they can no longer read it.
    let left = group_post("cy", "/group/leave", json!({"group_id": group})).await;
    assert_eq!(left.json()["message"], "Success leave group");
    let mine = gw.get(Some("cy"), "/user/my/groups").await.ok();
    assert_eq!(mine["data"], json!([]));

    // Invite links: admins get one; anyone with it previews and joins; a
    // reset revokes the old one.
    let by_member = gw
        .get(Some("bob"), &format!("/group/invite-link?group_id={group}"))
        .await;
    assert_eq!(by_member.status, 400, "{:?}", by_member.json());
    let invite = gw
        .get(Some("ann"), &format!("/group/invite-link?group_id={group}"))
        .await
        .ok();
    let link = invite["invite_link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("https://chat.whatsapp.com/"), "{invite}");
    let preview = gw
        .get(Some("cy"), &format!("/group/info-from-link?link={link}"))
        .await
        .ok();
    assert_eq!(
        (
            &preview["group_id"],
            &preview["name"],
            &preview["participant_count"]
        ),
        (&json!(group), &json!("Crew"), &json!(2)),
        "{preview}"
    );
    let joined = group_post("cy", "/group/join-with-link", json!({"link": link}))
        .await
        .ok();
    assert_eq!(joined["group_id"], group.as_str());
    gw.send_and_receive(("ann", &group), ("cy", &group), "welcome back")
        .await;
    let reset = gw
        .get(
            Some("ann"),
            &format!("/group/invite-link?group_id={group}&reset=true"),
        )
        .await
        .ok();
    assert_ne!(reset["invite_link"], link.as_str());
    let stale = gw
        .get(Some("cy"), &format!("/group/info-from-link?link={link}"))
        .await;
    assert_eq!((stale.status, stale.code().as_str()), (404, "NOT_FOUND"));
    let bad = group_post(
        "cy",
        "/group/join-with-link",
        json!({"link": "https://evil.example/x"}),
    )
    .await;
    assert_eq!(bad.status, 400);
    group_post("cy", "/group/leave", json!({"group_id": group}))
        .await
        .ok();
    let info = info_of("ann").await;
    assert_eq!(info["participants"].as_array().unwrap().len(), 2, "{info}");

    // Bad group input.
    let not_group = gw
        .get(Some("ann"), &format!("/group/info?group_id={BOB}"))
        .await;
    assert_eq!(
        (not_group.status, not_group.code().as_str()),
        (400, "INVALID_JID")
    );
    let empty_title = gw
        .post(
            Some("ann"),
            "/group",
            json!({"title": " ", "participants": [BOB]}),
        )
        .await;
    assert_eq!(empty_title.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_read_receipts_and_user_lookups() {
    let gw = Gateway::start("presence", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    // Who is on WhatsApp, and with which devices.
    let check = gw
        .get(Some("ann"), &format!("/user/check?phone={BOB}"))
        .await
        .ok();
    assert_eq!(
        (&check["is_on_whatsapp"], &check["jid"]),
        (&json!(true), &json!(jid(BOB)))
    );
    let stranger = gw
        .get(Some("ann"), "/user/check?phone=15559990000")
        .await
        .ok();
    assert_eq!(stranger["is_on_whatsapp"], false);
    let info = gw
        .get(Some("ann"), &format!("/user/info?phone=%2B{BOB}"))
        .await
        .ok();
    let devices = info["data"][0]["devices"].as_array().unwrap();
    assert!(!devices.is_empty(), "{info}");
    assert!(
        devices
            .iter()
            .all(|d| d["User"] == BOB && d["Server"] == "s.whatsapp.net"),
        "{info}"
    );
    assert!(
        devices.iter().any(|d| d["AD"] == true),
        "bob's gateway is a linked device: {info}"
    );
    let unknown = gw.get(Some("ann"), "/user/info?phone=15559990000").await;
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (404, "NOT_FOUND")
    );
    let bad = gw.get(Some("ann"), "/user/check?phone=12ab").await;
    assert_eq!(bad.status, 400);

    // Presence and chat states reach WhatsApp.
    let online = gw
        .post(Some("ann"), "/send/presence", json!({"type": "available"}))
        .await
        .ok();
    assert_eq!(online["message_id"], "presence");
    // Sent means on its way: the simulator reads it a moment later.
    eventually(|| gw.sim.presence_of(ANN).as_deref() == Some("available")).await;
    gw.post(
        Some("ann"),
        "/send/presence",
        json!({"type": "unavailable"}),
    )
    .await
    .ok();
    eventually(|| gw.sim.presence_of(ANN).as_deref() == Some("unavailable")).await;
    let wrong = gw
        .post(Some("ann"), "/send/presence", json!({"type": "away"}))
        .await;
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (400, "VALIDATION_ERROR")
    );
    for action in ["start", "recording", "stop"] {
        let sent = gw
            .post(
                Some("ann"),
                "/send/chat-presence",
                json!({"phone": BOB, "action": action}),
            )
            .await
            .ok();
        assert_eq!(sent["message_id"], format!("chat-presence-{action}"));
    }
    let states = || -> Vec<(String, String, String)> {
        gw.sim
            .chat_states()
            .into_iter()
            .map(|s| (s.from.user, s.to.to_string(), s.state))
            .collect()
    };
    eventually(|| states().len() == 3).await;
    assert_eq!(
        states(),
        ["composing", "recording", "paused"].map(|s| (ANN.to_owned(), jid(BOB), s.to_owned()))
    );
    let wrong = gw
        .post(
            Some("ann"),
            "/send/chat-presence",
            json!({"phone": BOB, "action": "dance"}),
        )
        .await;
    assert_eq!(wrong.status, 400);

    // Bob reads Ann's message: Ann's copy turns `read`.
    let message = gw
        .send_and_receive(("ann", BOB), ("bob", ANN), "read me")
        .await;
    let id = message["id"].as_str().unwrap().to_owned();
    let read = gw
        .post(
            Some("bob"),
            &format!("/message/{id}/read"),
            json!({"phone": ANN}),
        )
        .await
        .ok();
    assert_eq!(read["message_id"], id.as_str());
    let ack = wait_for_event_where(&gw, "ann", "message.ack", |p| {
        p["receipt_type"] == "read" && p["ids"].to_string().contains(&id)
    })
    .await;
    assert_eq!(ack["chat_id"], jid(BOB), "{ack}");
    // Disappearing messages in a one-to-one chat: a message both sides apply.
    let off = gw
        .post(
            Some("ann"),
            &format!("/chat/{BOB}/disappearing"),
            json!({"timer_seconds": 86400}),
        )
        .await
        .ok();
    assert_eq!(off["message"], "Disappearing messages set to 86400 seconds");
    gw.wait_for_message("bob", ANN, |m| m["message_type"] == "protocol")
        .await;

    // Profile pictures: Ann sets hers (JPEG only); Bob finds where it is; Bob
    // has none.
    let jpeg = file_bytes(&[0xFF, 0xD8, 0xFF, 0xE0], 2_000, 5);
    let (content_type, body) = multipart(&[], &[("avatar", "me.jpg", "image/jpeg", &jpeg)]);
    gw.post_raw(Some("ann"), "/user/avatar", &content_type, body)
        .await
        .ok();
    assert_eq!(gw.sim.picture_of(&jid(ANN).parse().unwrap()), Some(jpeg));
    let avatar = gw
        .get(
            Some("bob"),
            &format!("/user/avatar?phone={ANN}&is_preview=true"),
        )
        .await
        .ok();
    assert_eq!(avatar["type"], "preview", "{avatar}");
    assert!(
        avatar["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );
    let none = gw
        .get(Some("ann"), &format!("/user/avatar?phone={BOB}"))
        .await;
    assert_eq!((none.status, none.code().as_str()), (404, "NOT_FOUND"));
    let png = file_bytes(b"\x89PNG\r\n\x1a\n", 2_000, 9);
    let (content_type, body) = multipart(&[], &[("avatar", "me.png", "image/png", &png)]);
    let refused = gw
        .post_raw(Some("ann"), "/user/avatar", &content_type, body)
        .await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (400, "INVALID_IMAGE_FORMAT")
    );

    // Privacy settings, as WhatsApp reports them (the simulator's defaults).
    let privacy = gw.get(Some("bob"), "/user/my/privacy").await.ok();
    assert_eq!(
        (
            &privacy["last_seen"],
            &privacy["read_receipts"],
            &privacy["group_add"]
        ),
        (&json!("all"), &json!("all"), &json!("all")),
        "{privacy}"
    );

    // Bob's contacts: the people he has chatted with.
    let contacts = gw.get(Some("bob"), "/user/my/contacts").await.ok();
    assert_eq!(contacts["data"][0]["jid"], jid(ANN), "{contacts}");
    // Only received messages, and only known ones, can be marked read.
    let own = gw
        .post(
            Some("ann"),
            &format!("/message/{id}/read"),
            json!({"phone": BOB}),
        )
        .await;
    assert_eq!((own.status, own.code().as_str()), (400, "VALIDATION_ERROR"));
    let missing = gw
        .post(Some("bob"), "/message/NOPE123/read", json!({"phone": ANN}))
        .await;
    assert_eq!(missing.status, 404);
}
