//! Pre-keys, device lists, 1:1 routing with offline queues and acks, receipts.

use rand_core::OsRng;
use wa_proto::binary::{Jid, Node};
use wa_proto::prekeys;

use crate::driver::user;
use crate::flows::{iq, login, online};
use crate::sim;

fn dm(id: &str, to: &Jid, device: &Jid, payload: &[u8]) -> Node {
    Node::new("message")
        .attr("id", id)
        .attr("to", to.clone())
        .attr("type", "text")
        .child(
            Node::new("participants").child(
                Node::new("to").attr("jid", device.clone()).child(
                    Node::new("enc")
                        .attr("v", "2")
                        .attr("type", "pkmsg")
                        .bytes(payload.to_vec()),
                ),
            ),
        )
}

fn enc_of(n: &Node) -> Vec<u8> {
    n.get_child("enc")
        .unwrap()
        .content_bytes()
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn prekeys_upload_count_and_bundle_fetch() {
    let sim = sim().await;
    let (mut a, a_jid, _) = online(&sim, "15551110001").await;
    let (mut b, b_jid, b_creds) = online(&sim, "15551110002").await;
    let keys = prekeys::generate(&mut OsRng, 1, 5);
    let up = b.iq(prekeys::upload_node("up-1", &b_creds, &keys)).await;
    assert_eq!(up.attr_str("type").as_deref(), Some("result"));
    assert_eq!(sim.prekey_count(&b_jid), 5);
    let count = b.iq(prekeys::count_query("cnt-1")).await;
    assert_eq!(prekeys::parse_count(&count), Some(5));

    // A learns B's devices, then fetches a bundle for each.
    let usync = a
        .iq(iq("us-1", "usync", "get", Jid::server_jid()).child(
            Node::new("usync")
                .attr("sid", "s1")
                .attr("mode", "query")
                .attr("last", "true")
                .attr("index", "0")
                .attr("context", "message")
                .children([
                    Node::new("query").child(Node::new("devices").attr("version", "2")),
                    Node::new("list").child(Node::new("user").attr("jid", user("15551110002"))),
                ]),
        ))
        .await;
    let u = usync.get_child("usync").unwrap().get_child("list").unwrap();
    let ids: Vec<String> = u
        .get_child("user")
        .unwrap()
        .get_child("devices")
        .unwrap()
        .get_child("device-list")
        .unwrap()
        .children_by_tag("device")
        .map(|d| d.attr_str("id").unwrap().into_owned())
        .collect();
    assert_eq!(ids, vec![b_jid.device.to_string()]);

    let bundle = a
        .iq(
            iq("k-1", "encrypt", "get", Jid::server_jid()).child(Node::new("key").children([
                Node::new("user").attr("jid", b_jid.clone()),
                Node::new("user").attr("jid", "15551119999:1@s.whatsapp.net"),
            ])),
        )
        .await;
    let users: Vec<&Node> = bundle
        .get_child("list")
        .unwrap()
        .children_by_tag("user")
        .collect();
    let ub = users[0];
    assert_eq!(ub.attr_jid("jid"), Some(b_jid.clone()));
    assert_eq!(
        ub.get_child("identity").unwrap().content_bytes(),
        Some(&b_creds.identity_key.public[..])
    );
    assert_eq!(
        ub.get_child("registration").unwrap().content_bytes(),
        Some(&b_creds.registration_id.to_be_bytes()[..])
    );
    let key = ub.get_child("key").unwrap();
    assert_eq!(
        key.get_child("id").unwrap().content_bytes(),
        Some(&[0u8, 0, 1][..])
    );
    assert_eq!(
        key.get_child("value").unwrap().content_bytes(),
        Some(&keys[0].key.public[..])
    );
    let skey = ub.get_child("skey").unwrap();
    assert_eq!(
        skey.get_child("signature").unwrap().content_bytes(),
        Some(&b_creds.signed_pre_key.signature[..])
    );
    assert!(
        users[1].get_child("error").is_some(),
        "unknown device → error"
    );
    // Each one-time key is handed out once.
    assert_eq!(sim.prekey_count(&b_jid), 4);
    let _ = a_jid;
}

#[tokio::test]
async fn messages_route_queue_redeliver_and_receipts_flow_back() {
    let sim = sim().await;
    let (mut a, a_jid, _) = online(&sim, "15552220001").await;
    let (mut b, b_jid, b_creds) = online(&sim, "15552220002").await;
    let b_user = user("15552220002");

    // Online: routed at once, acked to the sender.
    a.send(dm("m1", &b_user, &b_jid, b"opaque-1"));
    let ack = a
        .wait_node("ack", |n| n.attr_str("id").as_deref() == Some("m1"))
        .await;
    assert_eq!(ack.attr_str("class").as_deref(), Some("message"));
    let m = b
        .wait_node("message", |n| n.attr_str("id").as_deref() == Some("m1"))
        .await;
    assert_eq!(m.attr_jid("from"), Some(a_jid.clone()));
    assert_eq!(enc_of(&m), b"opaque-1");
    assert_eq!(
        m.get_child("enc").unwrap().attr_str("type").as_deref(),
        Some("pkmsg")
    );
    assert_eq!(sim.queued(&b_jid), 1, "kept until acknowledged");
    b.ack(&m);

    // Receipts: delivery then read go back to A.
    b.send(
        Node::new("receipt")
            .attr("id", "m1")
            .attr("to", a_jid.to_non_ad()),
    );
    b.send(
        Node::new("receipt")
            .attr("id", "m1")
            .attr("to", a_jid.to_non_ad())
            .attr("type", "read"),
    );
    let r1 = a
        .wait_node("receipt", |n| n.attr_str("type").is_none())
        .await;
    assert_eq!(r1.attr_jid("from"), Some(b_jid.clone()));
    assert_eq!(r1.attr_str("id").as_deref(), Some("m1"));
    let r2 = a
        .wait_node("receipt", |n| n.attr_str("type").as_deref() == Some("read"))
        .await;
    b.wait_node("ack", |n| n.attr_str("class").as_deref() == Some("receipt"))
        .await;
    a.ack(&r1);
    a.ack(&r2);
    // A ping round trip orders the acks before the checks.
    a.iq(iq("sync-a", "w:p", "get", Jid::server_jid()).child(Node::new("ping")))
        .await;
    b.iq(iq("sync-b", "w:p", "get", Jid::server_jid()).child(Node::new("ping")))
        .await;
    assert_eq!(sim.queued(&b_jid), 0);
    assert_eq!(sim.queued(&a_jid), 0);

    // Offline: queued, delivered at login, redelivered until acknowledged.
    b.close();
    while sim.is_online(&b_jid) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    a.send(dm("m2", &b_user, &b_jid, b"opaque-2"));
    a.wait_node("ack", |n| n.attr_str("id").as_deref() == Some("m2"))
        .await;
    assert_eq!(sim.queued(&b_jid), 1);
    let mut b = login(&sim, &b_creds).await;
    let m2 = b
        .wait_node("message", |n| n.attr_str("id").as_deref() == Some("m2"))
        .await;
    assert_eq!(enc_of(&m2), b"opaque-2");
    b.close(); // before acknowledging
    while sim.is_online(&b_jid) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut b = login(&sim, &b_creds).await;
    let again = b
        .wait_node("message", |n| n.attr_str("id").as_deref() == Some("m2"))
        .await;
    b.ack(&again);
    b.iq(iq("sync-c", "w:p", "get", Jid::server_jid()).child(Node::new("ping")))
        .await;
    assert_eq!(sim.queued(&b_jid), 0);
    b.close();
    while sim.is_online(&b_jid) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut b = login(&sim, &b_creds).await;
    let ib = b.wait_node("ib", |_| true).await;
    assert_eq!(
        ib.get_child("offline")
            .unwrap()
            .attr_str("count")
            .as_deref(),
        Some("0"),
        "nothing redelivered after the ack"
    );
}

#[tokio::test]
async fn own_devices_get_copies_naming_the_chat() {
    let sim = sim().await;
    let (mut a1, a1_jid, _) = online(&sim, "15553330001").await;
    let (mut a2, a2_jid, _) = online(&sim, "15553330001").await;
    assert_eq!(sim.devices("15553330001").len(), 2);
    let (mut b, b_jid, _) = online(&sim, "15553330002").await;
    let b_user = user("15553330002");
    a1.send(
        dm("m1", &b_user, &b_jid, b"to-b").child(Node::new("device-identity").bytes(vec![1, 2])),
    );
    // Add a copy for A's second device in the same participants list.
    let _ = &mut a1;
    let mut msg = dm("m2", &b_user, &b_jid, b"to-b-2");
    if let wa_proto::binary::Content::Nodes(children) = &mut msg.content {
        children[0] = children[0].clone().child(
            Node::new("to").attr("jid", a2_jid.clone()).child(
                Node::new("enc")
                    .attr("v", "2")
                    .attr("type", "msg")
                    .bytes(b"to-a2".to_vec()),
            ),
        );
    }
    a1.send(msg);
    let m1 = b
        .wait_node("message", |n| n.attr_str("id").as_deref() == Some("m1"))
        .await;
    assert!(m1.get_child("device-identity").is_some());
    let copy = a2
        .wait_node("message", |n| n.attr_str("id").as_deref() == Some("m2"))
        .await;
    assert_eq!(copy.attr_jid("from"), Some(a1_jid.clone()));
    assert_eq!(copy.attr_jid("recipient"), Some(b_user.clone()));
    assert_eq!(enc_of(&copy), b"to-a2");
}
