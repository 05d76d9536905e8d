//! Newsletters (channels) end to end: the real `wa-connector serve` process
//! hosting the real `http_api.wasm`, the WhatsApp simulator behind it holding
//! the channels and who follows them. `GET /user/my/newsletters` asks
//! WhatsApp (`w:mex`) each time; `POST /newsletter/unfollow` changes what the
//! server keeps.

mod support;

use serde_json::{Value, json};
use support::gateway::Gateway;
use wa_proto::binary::Jid;
use wa_proto::newsletter::{Newsletter, NewsletterPicture, NewsletterText};

const ANN: &str = "15550510001";
const BOB: &str = "15550510002";

fn channel(id: &Jid, name: &str, subscribers: u64) -> Newsletter {
    Newsletter {
        id: id.clone(),
        state: "active".into(),
        name: NewsletterText {
            text: name.into(),
            id: "1688746895480511".into(),
            update_time_us: 1_688_746_895_480_511,
        },
        description: NewsletterText {
            text: format!("All about {name}"),
            id: "1689653839450668".into(),
            update_time_us: 1_689_653_839_450_668,
        },
        invite: format!("0029Va{name}"),
        subscribers,
        verification: "verified".into(),
        creation_time: 1_688_746_895,
        picture: Some(NewsletterPicture {
            id: "1707950960975554".into(),
            kind: "IMAGE".into(),
            direct_path: "/v/t61.24694-24/416962407_n.jpg".into(),
            url: String::new(),
        }),
        preview: None,
        reaction_codes: Some("BASIC".into()),
        viewer: None,
    }
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {list}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followed_newsletters_and_unfollow() {
    let gw = Gateway::start("newsletters", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    let rust: Jid = "120363144038483540@newsletter".parse().unwrap();
    let tea: Jid = "120363144038483541@newsletter".parse().unwrap();
    gw.sim.create_newsletter(channel(&rust, "Rust", 41));
    gw.sim.create_newsletter(channel(&tea, "Tea", 0));
    assert!(gw.sim.follow_newsletter(ANN, &rust));
    assert!(gw.sim.follow_newsletter(ANN, &tea));

    // Ann follows both, in GOWA's (WhatsApp's) shape; Bob follows none.
    let list = gw.get(Some("ann"), "/user/my/newsletters").await.ok();
    assert_eq!(ids(&list), [rust.to_string(), tea.to_string()]);
    assert_eq!(
        list["data"][0],
        json!({
            "id": rust.to_string(),
            "state": {"type": "active"},
            "thread_metadata": {
                "creation_time": "1688746895",
                "invite": "0029VaRust",
                "name": {"text": "Rust", "id": "1688746895480511", "update_time": "1688746895480511"},
                "description": {
                    "text": "All about Rust",
                    "id": "1689653839450668",
                    "update_time": "1689653839450668",
                },
                "subscribers_count": "42",
                "verification": "verified",
                "picture": {
                    "url": "",
                    "id": "1707950960975554",
                    "type": "IMAGE",
                    "direct_path": "/v/t61.24694-24/416962407_n.jpg",
                },
                "preview": {"url": "", "id": "", "type": "", "direct_path": ""},
                "settings": {"reaction_codes": {"value": "BASIC"}},
            },
            "viewer_metadata": {"mute": "off", "role": "subscriber"},
        })
    );
    let empty = gw.get(Some("bob"), "/user/my/newsletters").await.ok();
    assert_eq!(empty, json!({"data": []}));

    // Unfollow: the server forgets the follow, the list shrinks, again is harmless.
    let done = gw
        .post(
            Some("ann"),
            "/newsletter/unfollow",
            json!({"newsletter_id": rust.to_string()}),
        )
        .await;
    assert_eq!(done.ok(), Value::Null);
    assert_eq!(done.json()["message"], "Success unfollow newsletter");
    assert_eq!(gw.sim.followed_newsletters(ANN), [tea.to_string()]);
    let list = gw.get(Some("ann"), "/user/my/newsletters").await.ok();
    assert_eq!(ids(&list), [tea.to_string()]);
    gw.post(
        Some("ann"),
        "/newsletter/unfollow",
        json!({"newsletter_id": rust.to_string()}),
    )
    .await
    .ok();

    // Refusals: a channel WhatsApp does not have, not a channel JID, nothing.
    let unknown = gw
        .post(
            Some("ann"),
            "/newsletter/unfollow",
            json!({"newsletter_id": "120363000000000404@newsletter"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (404, "NOT_FOUND")
    );
    let user = gw
        .post(
            Some("ann"),
            "/newsletter/unfollow",
            json!({"newsletter_id": format!("{BOB}@s.whatsapp.net")}),
        )
        .await;
    assert_eq!((user.status, user.code().as_str()), (400, "INVALID_JID"));
    let blank = gw
        .post(Some("ann"), "/newsletter/unfollow", json!({}))
        .await;
    assert_eq!(
        (blank.status, blank.code().as_str()),
        (400, "VALIDATION_ERROR")
    );
    assert_eq!(gw.sim.followed_newsletters(ANN), [tea.to_string()]);
}
