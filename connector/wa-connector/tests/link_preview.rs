//! `POST /send/link` end to end: the real `wa-connector serve` hosting the
//! real `http_api.wasm`, a web site on loopback serving an article with Open
//! Graph tags and a real PNG (made by ffmpeg), and the WhatsApp simulator.
//! The receiving account decrypts the message; its stored `Message` shows the
//! card (title, description, a real JPEG thumbnail). Every way the page can
//! fail (missing, not HTML, its tags past the read limit, too slow, a private
//! address, previews off) still delivers the text, and the answer says why
//! there is no card. The receiver's `message` webhook names the card too.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::gateway::Gateway;
use support::receiver::Receiver;
use support::site::{Page, Site};
use wa_proto::link_preview::preview_of;
use wa_proto::proto::message::Message;

const ANN: &str = "15550610001";
const BOB: &str = "15550610002";

/// A 640×360 PNG test card, made by ffmpeg.
fn png(dir: &Path) -> Vec<u8> {
    let out = dir.join("cover.png");
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", "testsrc=size=640x360:duration=1", "-frames:v", "1"])
        .arg(&out)
        .status()
        .expect("ffmpeg is installed (cargo xtask test installs it)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// What ffprobe sees in `jpeg`: codec, width and height.
fn probe(dir: &Path, jpeg: &[u8]) -> String {
    let path = dir.join("thumbnail.jpg");
    std::fs::write(&path, jpeg).unwrap();
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-of", "csv=p=0"])
        .arg(&path)
        .output()
        .expect("ffprobe is installed with ffmpeg");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn article(image: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Fallback title</title>
<meta content="Tom &amp; Jerry&#39;s café" property="og:title">
<meta property='og:description' content='A chase, in
  three acts.'>
<meta property=og:image content="{image}">
<meta property="og:url" content="https://example.org/articles/chase">
</head><body><h1>The chase</h1></body></html>"#
    )
}

/// The site every case reads from.
async fn site(dir: &Path) -> Site {
    let html = "text/html; charset=utf-8";
    // The tags sit past the first 512 KiB, in a head that never ends there.
    let mut huge = String::from("<html><head><!--");
    huge.push_str(&"x".repeat(600 * 1024));
    huge.push_str(r#"--><meta property="og:title" content="Too far"></head></html>"#);
    Site::start(vec![
        ("/article", Page::ok(html, article("/img/cover.png"))),
        ("/img/cover.png", Page::ok("image/png", png(dir))),
        ("/moved", Page::redirect("/article")),
        (
            "/report.pdf",
            Page::ok("application/pdf", &b"%PDF-1.4 not a page"[..]),
        ),
        ("/huge", Page::ok(html, huge)),
        (
            "/slow",
            Page::ok(html, article("/img/cover.png")).after(Duration::from_secs(3)),
        ),
        ("/lost-picture", Page::ok(html, article("/img/gone.png"))),
    ])
    .await
}

/// What one `/send/link` answered and what Bob's account decrypted.
struct Sent {
    /// The message's id.
    id: String,
    /// The answer's `link_preview`.
    report: Value,
    /// The message as Bob stored it.
    received: Message,
}

/// Sends `link` from Ann to Bob with a caption and waits until Bob has it.
async fn send_link(gw: &Gateway, link: &str) -> Sent {
    let results = gw
        .post(
            Some("ann"),
            "/send/link",
            json!({"phone": BOB, "link": link, "caption": "look"}),
        )
        .await
        .ok();
    let id = results["message_id"]
        .as_str()
        .expect("message_id")
        .to_owned();
    assert_eq!(
        results["status"],
        format!("Message queued for {BOB}@s.whatsapp.net").as_str()
    );
    gw.wait_for_message("bob", ANN, |m| m["id"] == id.as_str())
        .await;
    Sent {
        received: gw.stored_message("bob", ANN, &id).await,
        id,
        report: results["link_preview"].clone(),
    }
}

/// Asserts the text went out whole, without a card, for `reason`.
#[track_caller]
fn assert_text_only(sent: &Sent, link: &str, reason: &str) {
    assert_eq!(sent.report["attached"], false, "{}", sent.report);
    let why = sent.report["reason"].as_str().unwrap_or_default();
    assert!(
        why.contains(reason),
        "expected `{reason}` in {}",
        sent.report
    );
    assert_eq!(preview_of(&sent.received), None, "{:?}", sent.received);
    let summary = wa_proto::content::summarize(&sent.received);
    assert_eq!(summary.kind, "text");
    assert_eq!(summary.text, Some(format!("look\n{link}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_previews_show_the_page_and_never_hold_the_text_back() {
    let hooks = Receiver::start().await;
    let mut gw = Gateway::start(
        "link-preview",
        &[
            ("WHATSAPP_WEBHOOK", &hooks.url()),
            ("WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS", "true"),
            // Past it, the slow page (3 s) is given up; the default (5 s) would wait for it.
            ("WHATSAPP_LINK_PREVIEW_TIMEOUT", "2s"),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    let site = site(&gw.dir).await;

    // The card: Open Graph's title and description, and the picture (a
    // relative og:image) made into a small JPEG by the connector.
    let link = site.url("/article");
    let sent = send_link(&gw, &link).await;
    assert_eq!(
        sent.report,
        json!({
            "attached": true,
            "title": "Tom & Jerry's café",
            "description": "A chase, in three acts.",
            "url": "https://example.org/articles/chase",
            "image": site.url("/img/cover.png"),
        })
    );
    let text = sent
        .received
        .extended_text_message
        .as_deref()
        .expect("an extended text");
    assert_eq!(text.text, Some(format!("look\n{link}")));
    assert_eq!(text.matched_text.as_deref(), Some(link.as_str()));
    assert_eq!(text.title.as_deref(), Some("Tom & Jerry's café"));
    assert_eq!(text.description.as_deref(), Some("A chase, in three acts."));
    assert_eq!(text.preview_type, Some(0));
    let jpeg = text.jpeg_thumbnail.as_deref().expect("a thumbnail");
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "not a JPEG");
    assert_eq!(
        (text.thumbnail_width, text.thumbnail_height),
        (Some(192), Some(108))
    );
    assert_eq!(probe(&gw.dir, jpeg), "mjpeg,192,108");
    // Bob's `message` webhook names the card.
    let id = sent.id.clone();
    let hook = hooks
        .wait_for(Duration::from_secs(30), |r| {
            let body = r.json();
            body["event"] == "message"
                && body["session_id"] == "bob"
                && body["payload"]["id"] == id.as_str()
        })
        .await
        .json();
    assert_eq!(
        hook["payload"]["link_preview"],
        json!({
            "url": link,
            "title": "Tom & Jerry's café",
            "description": "A chase, in three acts.",
            "has_thumbnail": true,
        }),
        "{hook}"
    );

    // Redirects are followed to the page.
    let moved = site.url("/moved");
    let sent = send_link(&gw, &moved).await;
    assert_eq!(
        sent.report["title"], "Tom & Jerry's café",
        "{}",
        sent.report
    );
    let card = preview_of(&sent.received).expect("a card");
    assert_eq!(card.matched_text, moved);
    assert!(card.thumbnail.is_some());

    // A picture that cannot be fetched leaves the card without one.
    let sent = send_link(&gw, &site.url("/lost-picture")).await;
    assert_eq!(sent.report["attached"], true, "{}", sent.report);
    let why = sent.report["reason"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("no picture:") && why.contains("404"),
        "{}",
        sent.report
    );
    let card = preview_of(&sent.received).expect("a card");
    assert_eq!(card.title.as_deref(), Some("Tom & Jerry's café"));
    assert_eq!(card.thumbnail, None);

    // Whatever goes wrong with the page, the text goes out alone.
    for (path, reason) in [
        ("/missing", "the page answered 404"),
        ("/report.pdf", "not HTML (application/pdf)"),
        ("/huge", "no title, description or picture"),
        ("/slow", "did not answer within 2s"),
    ] {
        let link = site.url(path);
        let sent = send_link(&gw, &link).await;
        assert_text_only(&sent, &link, reason);
    }

    // A private address is refused unless the operator allows it: the page
    // is never asked for.
    gw.restart(&[("WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS", "false")]);
    gw.wait_connected("ann").await;
    gw.wait_connected("bob").await;
    let asked = site.asked().len();
    let sent = send_link(&gw, &link).await;
    assert_text_only(&sent, &link, "local or private address");
    assert_eq!(site.asked().len(), asked, "{:?}", site.asked());

    // Previews switched off: no fetch at all.
    gw.restart(&[
        ("WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS", "true"),
        ("WHATSAPP_LINK_PREVIEW", "false"),
    ]);
    gw.wait_connected("ann").await;
    gw.wait_connected("bob").await;
    let sent = send_link(&gw, &link).await;
    assert_text_only(&sent, &link, "turned off");
    assert_eq!(site.asked().len(), asked, "{:?}", site.asked());

    // Refusals come before any fetch.
    let refused = gw
        .post(
            Some("ann"),
            "/send/link",
            json!({"phone": BOB, "link": "ftp://example.org/x"}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (400, "VALIDATION_ERROR")
    );
    let refused = gw
        .post(
            Some("ann"),
            "/send/link",
            json!({"phone": "12", "link": link}),
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.json());
    assert_eq!(site.asked().len(), asked, "{:?}", site.asked());
}
