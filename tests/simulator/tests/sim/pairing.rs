//! Linking by QR and by code, login, keep-alive, refused logins.

use rand_core::OsRng;
use wa_proto::binary::{Jid, Node};
use wa_proto::{CloseReason, Credentials, Event};

use crate::driver::{Client, Ev};
use crate::flows::{iq, link_by_qr, login};
use crate::sim;

#[tokio::test]
async fn qr_pairing_restart_login_and_ping() {
    let sim = sim().await;
    let creds = link_by_qr(&sim, "15550001111").await;
    let me = creds.me.clone().unwrap();
    assert_eq!(me.user, "15550001111");
    assert_eq!(sim.devices("15550001111"), vec![me.clone()]);
    let mut c = login(&sim, &creds).await;
    assert!(sim.is_online(&me));
    let pong = c
        .iq(iq("ping-1", "w:p", "get", Jid::server_jid()).child(Node::new("ping")))
        .await;
    assert_eq!(pong.attr_str("type").as_deref(), Some("result"));
    // A second login of the same device replaces the first connection.
    let mut c2 = login(&sim, &creds).await;
    assert!(matches!(
        c.wait_closed().await,
        CloseReason::StreamError { .. }
    ));
    c2.send(iq("p2", "w:p", "get", Jid::server_jid()).child(Node::new("ping")));
    c2.wait_node("iq", |n| n.attr_str("id").as_deref() == Some("p2"))
        .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn qr_scan_refuses_bad_input() {
    let sim = sim().await;
    let mut c = Client::connect(&sim, Credentials::generate(&mut OsRng)).await;
    let qr = c
        .wait("QrCode", |e| match e {
            Ev::Proto(Event::QrCode { code, .. }) => Some(code.clone()),
            _ => None,
        })
        .await;
    use wa_simulator::ApiError;
    assert_eq!(sim.scan_qr("nonsense", "1555"), Err(ApiError::MalformedQr));
    assert_eq!(sim.scan_qr(&qr, "+1555"), Err(ApiError::BadPhone));
    let other = qr.replacen(qr.split(',').next().unwrap(), "2@unknown", 1);
    assert_eq!(sim.scan_qr(&other, "1555"), Err(ApiError::UnknownRef));
    // Keys that are not the registering connection's are refused.
    let fake = Credentials::generate(&mut OsRng);
    let forged = wa_proto::pair::qr_string(qr.split(',').next().unwrap(), &fake, false);
    assert_eq!(sim.scan_qr(&forged, "1555"), Err(ApiError::QrKeyMismatch));
}

#[tokio::test]
async fn pairing_code_links_an_account() {
    let sim = sim().await;
    let phone = "15550002222";
    let mut c = Client::connect(&sim, Credentials::generate(&mut OsRng)).await;
    c.wait("QrCode", |e| {
        matches!(e, Ev::Proto(Event::QrCode { .. })).then_some(())
    })
    .await;
    let code = c.request_pairing_code(phone).await;
    // The server answers the companion_hello with a ref.
    c.wait_node("iq", |n| n.get_child("link_code_companion_reg").is_some())
        .await;
    sim.enter_pairing_code(phone, &code).expect("code accepted");
    let jid = c
        .wait("Paired", |e| match e {
            Ev::Proto(Event::Paired { jid, .. }) => Some(jid.clone()),
            _ => None,
        })
        .await;
    assert_eq!(jid.user, phone);
    let creds = c
        .wait("Creds", |e| match e {
            Ev::Creds(c) => Some((**c).clone()),
            _ => None,
        })
        .await;
    assert_eq!(c.wait_closed().await, CloseReason::RestartRequired);
    let _c = login(&sim, &creds).await;
    assert!(sim.is_online(&jid));
}

#[tokio::test]
async fn unknown_device_login_is_logged_out() {
    let sim = sim().await;
    let mut creds = Credentials::generate(&mut OsRng);
    creds.me = Some("15550009999:3@s.whatsapp.net".parse().unwrap());
    let mut c = Client::connect(&sim, creds).await;
    assert_eq!(c.wait_closed().await, CloseReason::LoggedOut);
    // A paired device presenting another Noise key is refused too.
    let paired = link_by_qr(&sim, "15550003333").await;
    let mut stolen = Credentials::generate(&mut OsRng);
    stolen.me = paired.me.clone();
    let mut c = Client::connect(&sim, stolen).await;
    assert_eq!(c.wait_closed().await, CloseReason::LoggedOut);
}
