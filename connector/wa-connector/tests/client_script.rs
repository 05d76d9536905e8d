//! The README's promise, run as written: `examples/gowa-client.sh` (curl, GOWA's
//! requests unchanged) sends a text, an image and a voice note, and the replies
//! come back as signed webhooks to `examples/webhook-receiver.py`, which checks
//! every signature with Python's `hmac` before recording the event.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::gateway::{Gateway, PASSWORD, USER, multipart};
use wa_testkit::{ChildGuard, free_port, wait_for_port};

const ANN: &str = "15550500001";
const BOB: &str = "15550500002";
const SECRET: &str = "curl-client-secret";

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curl_client_sends_text_image_and_voice_and_gets_signed_replies() {
    // The receiver from examples/, on its own port, writing what it verified.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let events_file = dir.path().join("events.jsonl");
    let receiver = Command::new("python3")
        .arg(examples().join("webhook-receiver.py"))
        .arg(port.to_string())
        .arg(&events_file)
        .env("WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs the example receiver");
    let _receiver = ChildGuard::new(receiver);
    wait_for_port(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(30),
    );

    let gw = Gateway::start(
        "curl",
        &[
            ("WHATSAPP_WEBHOOK", &format!("http://127.0.0.1:{port}/hook")),
            ("WHATSAPP_WEBHOOK_SECRET", SECRET),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    // Inputs: a JPEG-looking picture and one second of audio made by ffmpeg.
    let image = dir.path().join("photo.jpg");
    let mut jpeg = b"\xFF\xD8\xFF\xE0".to_vec();
    jpeg.extend((0..20_000u32).map(|i| (i * 7 % 251) as u8));
    std::fs::write(&image, &jpeg).unwrap();
    let audio = dir.path().join("note.wav");
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", "sine=frequency=330:duration=1"])
        .arg(&audio)
        .status()
        .unwrap();
    assert!(made.success());

    // The client script, as a user runs it.
    let output = tokio::task::block_in_place(|| {
        Command::new("bash")
            .arg(examples().join("gowa-client.sh"))
            .env("GATEWAY_URL", &gw.base)
            .env("GATEWAY_AUTH", format!("{USER}:{PASSWORD}"))
            .env("DEVICE_ID", "ann")
            .env("TO_PHONE", BOB)
            .env("IMAGE_FILE", &image)
            .env("AUDIO_FILE", &audio)
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 3, "{stdout}");
    assert!(answers.iter().all(|a| a["code"] == "SUCCESS"), "{stdout}");
    let sent_ids: Vec<String> = answers
        .iter()
        .map(|a| a["results"]["message_id"].as_str().unwrap().to_owned())
        .collect();

    // Bob got all three (the voice note as Opus in OGG).
    for id in &sent_ids {
        gw.wait_for_message("bob", ANN, |m| m["id"] == id.as_str())
            .await;
    }

    // Bob replies with a text and a picture; Ann's webhook receives both, signed.
    let reply = gw
        .post(
            Some("bob"),
            "/send/message",
            json!({"phone": ANN, "message": "got them, thanks"}),
        )
        .await
        .ok();
    let (content_type, body) = multipart(
        &[("phone", ANN), ("caption", "here is mine")],
        &[("image", "reply.jpg", "image/jpeg", &jpeg)],
    );
    let picture = gw
        .post_raw(Some("bob"), "/send/image", &content_type, body)
        .await
        .ok();
    let wanted = [
        reply["message_id"].as_str().unwrap().to_owned(),
        picture["message_id"].as_str().unwrap().to_owned(),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let events = loop {
        let text = std::fs::read_to_string(&events_file).unwrap_or_default();
        let events: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].clone())
            .collect();
        let found = wanted.iter().all(|id| {
            events.iter().any(|e| {
                e["event"] == "message"
                    && e["device_id"] == format!("{ANN}@s.whatsapp.net").as_str()
                    && e["session_id"] == "ann"
                    && e["payload"]["id"] == id.as_str()
            })
        });
        if found {
            break events;
        }
        if tokio::time::Instant::now() >= deadline {
            let deliveries = gw.get(None, "/webhook/deliveries?limit=20").await.json();
            panic!("the replies never reached the receiver: {text}\ndeliveries: {deliveries}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text_event = events
        .iter()
        .find(|e| e["payload"]["id"] == wanted[0].as_str())
        .unwrap();
    assert_eq!(text_event["payload"]["body"], "got them, thanks");
    let image_event = events
        .iter()
        .find(|e| e["payload"]["id"] == wanted[1].as_str())
        .unwrap();
    assert_eq!(image_event["payload"]["image"]["caption"], "here is mine");
}
