//! Fault injection toward clients, and malformed input from clients.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use wa_proto::CloseReason;
use wa_proto::binary::{Jid, Node};

use crate::driver::Ev;
use crate::flows::{iq, login, online};
use crate::sim;

#[tokio::test]
async fn stream_error_disconnect_and_raw_frames_reach_the_client() {
    let sim = sim().await;
    let (mut a, a_jid, a_creds) = online(&sim, "15557770001").await;
    sim.stream_error(&a_jid, "503").unwrap();
    assert_eq!(
        a.wait_closed().await,
        CloseReason::StreamError {
            code: Some("503".into())
        }
    );
    assert!(
        a.seen
            .iter()
            .any(|e| matches!(e, Ev::Proto(wa_proto::Event::StreamError { .. })))
    );

    let mut a = login(&sim, &a_creds).await;
    sim.disconnect(&a_jid).unwrap();
    a.wait("SocketClosed", |e| {
        matches!(e, Ev::SocketClosed).then_some(())
    })
    .await;

    let mut a = login(&sim, &a_creds).await;
    sim.send_raw(&a_jid, vec![0, 0, 5, 1, 2, 3, 4, 5]).unwrap();
    assert!(matches!(a.wait_closed().await, CloseReason::Protocol(_)));
    assert!(
        sim.stream_error(&Jid::new("1", "s.whatsapp.net"), "500")
            .is_err()
    );
}

#[tokio::test]
async fn malformed_client_input_does_not_crash_the_simulator() {
    let sim = sim().await;
    // Garbage before any handshake.
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url())
        .await
        .unwrap();
    ws.send(Message::Binary(vec![9u8; 64].into()))
        .await
        .unwrap();
    ws.send(Message::Text("hello".into())).await.ok();
    drop(ws);
    // Garbage after login, on an authenticated connection.
    let (mut a, a_jid, a_creds) = online(&sim, "15557770002").await;
    a.send_raw(vec![0, 0, 4, 0xde, 0xad, 0xbe, 0xef]);
    a.wait("SocketClosed", |e| {
        matches!(e, Ev::SocketClosed).then_some(())
    })
    .await;
    // A stanza the server does not know, and an iq in an unknown namespace.
    let mut a = login(&sim, &a_creds).await;
    a.send(Node::new("bogus").attr("id", "x"));
    let err = a.iq(iq("u-1", "nope:ns", "get", Jid::server_jid())).await;
    assert_eq!(err.attr_str("type").as_deref(), Some("error"));
    // Still serving.
    let pong = a
        .iq(iq("p-1", "w:p", "get", Jid::server_jid()).child(Node::new("ping")))
        .await;
    assert_eq!(pong.attr_str("type").as_deref(), Some("result"));
    assert!(sim.is_online(&a_jid));
    sim.shutdown().await;
}
