//! The remaining GOWA routes end to end (the real `wa-connector serve` process
//! hosting the real `http_api.wasm`, the WhatsApp simulator behind it): group
//! member export, membership requests, business profiles.

mod support;

use serde_json::{Value, json};
use support::gateway::Gateway;
use wa_proto::binary::Jid;

const ANN: &str = "15550100001";
const BOB: &str = "15550100002";
const CY: &str = "15550100003";
const DEE: &str = "15550100004";

fn jid(phone: &str) -> String {
    format!("{phone}@s.whatsapp.net")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_export_as_gowa_csv() {
    let gw = Gateway::start("export", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.link("cy", CY).await;
    let group = gw
        .post(
            Some("ann"),
            "/group",
            json!({"title": "Export", "participants": [BOB, CY]}),
        )
        .await
        .ok()["group_id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.post(
        Some("ann"),
        "/group/participants/promote",
        json!({"group_id": group, "participants": [BOB]}),
    )
    .await
    .ok();

    let export = gw
        .get(
            Some("bob"),
            &format!("/group/participants/export?group_id={group}"),
        )
        .await;
    assert_eq!(export.status, 200, "{export:?}");
    assert_eq!(
        export.headers["content-type"], "text/csv; charset=utf-8",
        "{export:?}"
    );
    assert_eq!(
        export.headers["content-disposition"].to_str().unwrap(),
        format!(
            "attachment; filename=\"group-{}-participants.csv\"",
            group.replace('@', "_")
        )
    );
    let csv = String::from_utf8(export.bytes.clone()).unwrap();
    let mut lines: Vec<&str> = csv.lines().collect();
    assert!(csv.ends_with('\n'), "{csv:?}");
    assert_eq!(
        lines.remove(0),
        "participant_jid,phone_number,lid,display_name,role"
    );
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            format!("{},{ANN},,,super_admin", jid(ANN)),
            format!("{},{BOB},,,admin", jid(BOB)),
            format!("{},{CY},,,member", jid(CY)),
        ]
    );

    // GOWA's error shapes: a missing group id, a JID that is not a group.
    let blank = gw.get(Some("bob"), "/group/participants/export").await;
    assert_eq!(
        (blank.status, blank.code().as_str()),
        (400, "VALIDATION_ERROR")
    );
    let user = gw
        .get(
            Some("bob"),
            &format!("/group/participants/export?group_id={}", jid(CY)),
        )
        .await;
    assert_eq!((user.status, user.code().as_str()), (400, "INVALID_JID"));
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn is_rfc3339_utc(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_requests_wait_for_an_admin() {
    let gw = Gateway::start("join-requests", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.link("cy", CY).await;
    gw.link("dee", DEE).await;
    let group = gw
        .post(
            Some("ann"),
            "/group",
            json!({"title": "Gated", "participants": [BOB]}),
        )
        .await
        .ok()["group_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group_jid: Jid = group.parse().unwrap();
    assert!(gw.sim.set_join_approval(&group_jid, true));
    let link = gw
        .get(Some("ann"), &format!("/group/invite-link?group_id={group}"))
        .await
        .ok()["invite_link"]
        .as_str()
        .unwrap()
        .to_owned();

    // Joining by link asks; nobody becomes a member yet.
    for device in ["cy", "dee"] {
        let asked = gw
            .post(Some(device), "/group/join-with-link", json!({"link": link}))
            .await
            .ok();
        assert_eq!(asked["group_id"], group.as_str(), "{asked}");
    }
    assert_eq!(
        gw.sim.join_requests(&group_jid).unwrap(),
        [CY.to_owned(), DEE.to_owned()]
    );
    assert_eq!(
        gw.sim.group_members(&group_jid).unwrap(),
        [ANN.to_owned(), BOB.to_owned()]
    );

    // The admin sees who asked and when, in GOWA's shape.
    let listed = gw
        .get(
            Some("ann"),
            &format!("/group/participant-requests?group_id={group}"),
        )
        .await;
    assert_eq!(
        listed.json()["message"],
        "Success getting list requested participants"
    );
    let listed = listed.ok();
    let mut asked: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let at = r["requested_at"].as_str().unwrap();
            assert!(is_rfc3339_utc(at) && !at.starts_with("0001"), "{r}");
            (
                r["jid"].as_str().unwrap().to_owned(),
                r["phone_number"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [(jid(CY), CY.to_owned()), (jid(DEE), DEE.to_owned())]
    );
    // Members who are not admins may not look.
    let refused = gw
        .get(
            Some("bob"),
            &format!("/group/participant-requests?group_id={group}"),
        )
        .await;
    assert_eq!(refused.status, 400, "{refused:?}");

    // Approve Cy: a member now, who gets the group's messages.
    let approved = gw
        .post(
            Some("ann"),
            "/group/participant-requests/approve",
            json!({"group_id": group, "participants": [CY]}),
        )
        .await;
    assert_eq!(
        approved.json()["message"],
        "Success approve requested participants"
    );
    assert_eq!(
        approved.ok(),
        json!([{"participant": jid(CY), "status": "success", "message": "Action approve success"}])
    );
    let info = gw
        .get(Some("bob"), &format!("/group/info?group_id={group}"))
        .await
        .ok();
    let members: Vec<&str> = info["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["jid"].as_str().unwrap())
        .collect();
    assert!(members.contains(&jid(CY).as_str()), "{info}");
    gw.send_and_receive(("ann", &group), ("cy", &group), "welcome in")
        .await;

    // Reject Dee (form-encoded, as GOWA also accepts): the request is gone,
    // Dee is no member.
    let rejected = gw
        .post_raw(
            Some("ann"),
            "/group/participant-requests/reject",
            "application/x-www-form-urlencoded",
            format!("group_id={group}&participants={DEE}").into_bytes(),
        )
        .await
        .ok();
    assert_eq!(rejected[0]["status"], "success", "{rejected}");
    assert_eq!(
        gw.sim.join_requests(&group_jid).unwrap(),
        Vec::<String>::new()
    );
    assert!(
        !gw.sim
            .group_members(&group_jid)
            .unwrap()
            .contains(&DEE.to_owned())
    );
    let none = gw
        .get(
            Some("ann"),
            &format!("/group/participant-requests?group_id={group}"),
        )
        .await
        .ok();
    assert_eq!(none, json!([]));

    // A participant who never asked: WhatsApp's per-member refusal.
    let never = gw
        .post(
            Some("ann"),
            "/group/participant-requests/approve",
            json!({"group_id": group, "participants": [DEE]}),
        )
        .await
        .ok();
    assert_eq!(
        never,
        json!([{"participant": jid(DEE), "status": "error", "message": "Action approve failed (code 404)"}])
    );
    // Bad input.
    let blank: Value = gw
        .post(
            Some("ann"),
            "/group/participant-requests/reject",
            json!({"group_id": group, "participants": []}),
        )
        .await
        .json();
    assert_eq!(blank["code"], "VALIDATION_ERROR", "{blank}");
    let no_group = gw.get(Some("ann"), "/group/participant-requests").await;
    assert_eq!(no_group.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_profiles_of_business_accounts() {
    use wa_proto::business::{BusinessProfile, Category, HoursConfig};
    let gw = Gateway::start("business", &[]).await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    gw.sim.set_business_profile(
        BOB,
        Some(BusinessProfile {
            jid: None,
            address: "1 Main St, Springfield".into(),
            email: "hello@bakery.example".into(),
            description: "Bread, \"fresh\" & <warm>".into(),
            websites: vec!["https://bakery.example".into()],
            categories: vec![Category {
                id: "133436743388217".into(),
                name: "Bakery".into(),
            }],
            profile_options: vec![("commerce_experience".into(), "catalog".into())],
            hours_time_zone: "Europe/Berlin".into(),
            hours: vec![HoursConfig {
                day_of_week: "mon".into(),
                mode: "specific_hours".into(),
                open_time: "480".into(),
                close_time: "1080".into(),
            }],
        }),
    );

    let reply = gw
        .get(Some("ann"), &format!("/user/business-profile?phone={BOB}"))
        .await;
    assert_eq!(reply.json()["message"], "Success get business profile");
    assert_eq!(
        reply.ok(),
        json!({
            "jid": jid(BOB),
            "email": "hello@bakery.example",
            "address": "1 Main St, Springfield",
            "categories": [{"id": "133436743388217", "name": "Bakery"}],
            "profile_options": {"commerce_experience": "catalog"},
            "business_hours_timezone": "Europe/Berlin",
            "business_hours": [{"day_of_week": "mon", "mode": "specific_hours", "open_time": "480", "close_time": "1080"}],
            "description": "Bread, \"fresh\" & <warm>",
            "websites": ["https://bakery.example"],
        })
    );

    // An ordinary account is no business; a group is no user.
    let plain = gw
        .get(Some("bob"), &format!("/user/business-profile?phone={ANN}"))
        .await;
    assert_eq!((plain.status, plain.code().as_str()), (404, "NOT_FOUND"));
    let group = gw
        .get(
            Some("bob"),
            "/user/business-profile?phone=120363000000000001@g.us",
        )
        .await;
    assert_eq!((group.status, group.code().as_str()), (400, "INVALID_JID"));
    let blank = gw.get(Some("bob"), "/user/business-profile").await;
    assert_eq!(blank.status, 400);
}
