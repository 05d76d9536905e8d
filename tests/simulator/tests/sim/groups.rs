//! Group creation, membership and the fan-out of `skmsg` + per-device `pkmsg`.

use wa_proto::binary::{Jid, Node};

use crate::driver::user;
use crate::flows::{iq, online};
use crate::sim;

fn enc(ty: &str, payload: &[u8]) -> Node {
    Node::new("enc")
        .attr("v", "2")
        .attr("type", ty)
        .bytes(payload.to_vec())
}

#[tokio::test]
async fn group_create_fan_out_and_membership() {
    let sim = sim().await;
    let (mut a, a_jid, _) = online(&sim, "15556660001").await;
    let (mut b, b_jid, _) = online(&sim, "15556660002").await;
    let (mut c, c_jid, _) = online(&sim, "15556660003").await;
    let (mut d, d_jid, _) = online(&sim, "15556660004").await;

    let res = a
        .iq(iq("g-1", "w:g2", "set", Jid::server("g.us")).child(
            Node::new("create")
                .attr("subject", "Team")
                .attr("key", "k1")
                .children([
                    Node::new("participant").attr("jid", user("15556660002")),
                    Node::new("participant").attr("jid", user("15556660003")),
                ]),
        ))
        .await;
    let g = res.get_child("group").unwrap();
    let gid = Jid::new(g.attr_str("id").unwrap().into_owned(), "g.us");
    assert_eq!(g.attr_str("subject").as_deref(), Some("Team"));
    assert_eq!(g.children_by_tag("participant").count(), 3);
    assert_eq!(
        sim.group_members(&gid).unwrap(),
        vec!["15556660001", "15556660002", "15556660003"]
    );
    for cl in [&mut b, &mut c] {
        let n = cl
            .wait_node("notification", |n| n.get_child("create").is_some())
            .await;
        assert_eq!(n.attr_jid("from"), Some(gid.clone()));
        cl.ack(&n);
    }

    // Metadata query by a member.
    let meta = b
        .iq(iq("q-1", "w:g2", "get", gid.clone())
            .child(Node::new("query").attr("request", "interactive")))
        .await;
    assert_eq!(
        meta.get_child("group")
            .unwrap()
            .attr_str("subject")
            .as_deref(),
        Some("Team")
    );

    // Fan-out: skmsg to every member device, pkmsg only where addressed.
    a.send(
        Node::new("message")
            .attr("id", "g1")
            .attr("to", gid.clone())
            .attr("type", "text")
            .children([
                Node::new("participants").children([
                    Node::new("to")
                        .attr("jid", b_jid.clone())
                        .child(enc("pkmsg", b"skdm-b")),
                    Node::new("to")
                        .attr("jid", c_jid.clone())
                        .child(enc("pkmsg", b"skdm-c")),
                ]),
                enc("skmsg", b"group-ct"),
            ]),
    );
    a.wait_node("ack", |n| n.attr_str("id").as_deref() == Some("g1"))
        .await;
    for (cl, skdm) in [(&mut b, &b"skdm-b"[..]), (&mut c, &b"skdm-c"[..])] {
        let m = cl
            .wait_node("message", |n| n.attr_str("id").as_deref() == Some("g1"))
            .await;
        assert_eq!(m.attr_jid("from"), Some(gid.clone()));
        assert_eq!(m.attr_jid("participant"), Some(a_jid.clone()));
        let encs: Vec<(String, Vec<u8>)> = m
            .children_by_tag("enc")
            .map(|e| {
                (
                    e.attr_str("type").unwrap().into_owned(),
                    e.content_bytes().unwrap().to_vec(),
                )
            })
            .collect();
        assert_eq!(
            encs,
            vec![
                ("pkmsg".to_owned(), skdm.to_vec()),
                ("skmsg".to_owned(), b"group-ct".to_vec())
            ]
        );
        cl.ack(&m);
    }

    // Non-admins cannot add; the admin adds D and removes C.
    let refused = b
        .iq(iq("add-0", "w:g2", "set", gid.clone()).child(
            Node::new("add").child(Node::new("participant").attr("jid", user("15556660004"))),
        ))
        .await;
    assert_eq!(refused.attr_str("type").as_deref(), Some("error"));
    let added = a
        .iq(iq("add-1", "w:g2", "set", gid.clone()).child(
            Node::new("add").child(Node::new("participant").attr("jid", user("15556660004"))),
        ))
        .await;
    let p = added
        .get_child("add")
        .unwrap()
        .get_child("participant")
        .unwrap();
    assert!(p.attr_str("error").is_none());
    for cl in [&mut d, &mut c] {
        let n = cl
            .wait_node("notification", |n| n.get_child("add").is_some())
            .await;
        cl.ack(&n);
    }
    a.iq(iq("rm-1", "w:g2", "set", gid.clone()).child(
        Node::new("remove").child(Node::new("participant").attr("jid", user("15556660003"))),
    ))
    .await;
    let n = c
        .wait_node("notification", |n| n.get_child("remove").is_some())
        .await;
    c.ack(&n);
    assert_eq!(
        sim.group_members(&gid).unwrap(),
        vec!["15556660001", "15556660002", "15556660004"]
    );

    // The next message reaches B and D, not C.
    c.iq(iq("sync-c", "w:p", "get", Jid::server_jid()).child(Node::new("ping")))
        .await;
    assert_eq!(sim.queued(&c_jid), 0);
    a.send(
        Node::new("message")
            .attr("id", "g2")
            .attr("to", gid.clone())
            .attr("type", "text")
            .child(enc("skmsg", b"group-ct-2")),
    );
    a.wait_node("ack", |n| n.attr_str("id").as_deref() == Some("g2"))
        .await;
    let m = d
        .wait_node("message", |n| n.attr_str("id").as_deref() == Some("g2"))
        .await;
    assert_eq!(m.children_by_tag("enc").count(), 1);
    b.wait_node("message", |n| n.attr_str("id").as_deref() == Some("g2"))
        .await;
    assert_eq!(sim.queued(&c_jid), 0, "removed member gets nothing");
    // C, no longer a member, cannot send to the group.
    c.send(
        Node::new("message")
            .attr("id", "g3")
            .attr("to", gid.clone())
            .attr("type", "text")
            .child(enc("skmsg", b"x")),
    );
    let ack = c
        .wait_node("ack", |n| n.attr_str("id").as_deref() == Some("g3"))
        .await;
    assert_eq!(ack.attr_str("error").as_deref(), Some("403"));

    // B leaves; participating lists only A's groups for A.
    b.iq(iq("lv-1", "w:g2", "set", Jid::server("g.us"))
        .child(Node::new("leave").child(Node::new("group").attr("id", gid.clone()))))
        .await;
    assert_eq!(
        sim.group_members(&gid).unwrap(),
        vec!["15556660001", "15556660004"]
    );
    let list = a
        .iq(iq("pt-1", "w:g2", "get", Jid::server("g.us"))
            .child(Node::new("participating").child(Node::new("participants"))))
        .await;
    assert_eq!(
        list.get_child("groups")
            .unwrap()
            .children_by_tag("group")
            .count(),
        1
    );
    let _ = d_jid;
}
