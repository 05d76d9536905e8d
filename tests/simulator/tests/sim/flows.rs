//! Reusable flows: link by QR, log in, run an iq.

use rand_core::OsRng;
use wa_proto::binary::{Jid, Node};
use wa_proto::{CloseReason, Credentials, Event};
use wa_simulator::SimulatorHandle;

use crate::driver::{Client, Ev};

/// Links a fresh companion to `phone` by QR; returns its credentials (paired).
pub async fn link_by_qr(sim: &SimulatorHandle, phone: &str) -> Credentials {
    let mut c = Client::connect(sim, Credentials::generate(&mut OsRng)).await;
    let qr = c
        .wait("QrCode", |e| match e {
            Ev::Proto(Event::QrCode { code, .. }) => Some(code.clone()),
            _ => None,
        })
        .await;
    let jid = sim.scan_qr(&qr, phone).expect("scan accepted");
    let paired = c
        .wait("Paired", |e| match e {
            Ev::Proto(Event::Paired { jid, .. }) => Some(jid.clone()),
            _ => None,
        })
        .await;
    assert_eq!(paired, jid);
    let creds = c
        .wait("Creds", |e| match e {
            Ev::Creds(c) => Some((**c).clone()),
            _ => None,
        })
        .await;
    assert_eq!(c.wait_closed().await, CloseReason::RestartRequired);
    creds
}

/// Logs in with paired credentials and waits for `LoggedIn` and the pre-key count.
pub async fn login(sim: &SimulatorHandle, creds: &Credentials) -> Client {
    let mut c = Client::connect(sim, creds.clone()).await;
    c.wait("LoggedIn", |e| {
        matches!(e, Ev::Proto(Event::LoggedIn { .. })).then_some(())
    })
    .await;
    c.wait("PreKeyCount", |e| {
        matches!(e, Ev::Proto(Event::PreKeyCount { .. })).then_some(())
    })
    .await;
    c
}

/// A linked and logged-in account: (client, device JID, credentials).
pub async fn online(sim: &SimulatorHandle, phone: &str) -> (Client, Jid, Credentials) {
    let creds = link_by_qr(sim, phone).await;
    let me = creds.me.clone().expect("paired");
    (login(sim, &creds).await, me, creds)
}

/// An iq to the server with a fresh id.
pub fn iq(id: &str, xmlns: &str, ty: &str, to: Jid) -> Node {
    Node::new("iq")
        .attr("id", id)
        .attr("xmlns", xmlns)
        .attr("type", ty)
        .attr("to", to)
}
