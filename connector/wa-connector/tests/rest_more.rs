//! The remaining GOWA routes end to end (the real `wa-connector serve` process
//! hosting the real `http_api.wasm`, the WhatsApp simulator behind it): group
//! member export, membership requests, business profiles.

mod support;

use serde_json::json;
use support::gateway::Gateway;

const ANN: &str = "15550100001";
const BOB: &str = "15550100002";
const CY: &str = "15550100003";

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
