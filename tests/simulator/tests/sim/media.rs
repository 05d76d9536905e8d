//! Media upload and download through the HTTP endpoints, with the media_conn auth.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wa_proto::binary::{Jid, Node};

use crate::flows::{iq, online};
use crate::sim;

/// A minimal HTTP/1.1 exchange: (status, body).
async fn http(host: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let rest = out[split + 4..].to_vec();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&rest)
    } else {
        rest
    };
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

#[tokio::test]
async fn media_upload_and_download_with_auth() {
    let sim = sim().await;
    let (mut a, _, _) = online(&sim, "15554440001").await;
    let res = a
        .iq(iq("mc-1", "w:m", "set", Jid::server_jid()).child(Node::new("media_conn")))
        .await;
    let mc = res.get_child("media_conn").unwrap();
    let auth = mc.attr_str("auth").unwrap().into_owned();
    let host = mc
        .get_child("host")
        .unwrap()
        .attr_str("hostname")
        .unwrap()
        .into_owned();
    assert_eq!(host, sim.media_addr().to_string());

    let body: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let token = URL_SAFE_NO_PAD.encode(Sha256::digest(&body));
    // Wrong auth, then a body that does not match its hash, are refused.
    let (st, _) = http(
        &host,
        "POST",
        &format!("/mms/image/{token}?auth=nope"),
        &body,
    )
    .await;
    assert_eq!(st, 401);
    let (st, _) = http(
        &host,
        "POST",
        &format!("/mms/image/{token}?auth={auth}"),
        b"other",
    )
    .await;
    assert_eq!(st, 400);
    let (st, resp) = http(
        &host,
        "POST",
        &format!("/mms/image/{token}?auth={auth}&token={token}"),
        &body,
    )
    .await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&resp));
    let json: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    let direct = json["direct_path"].as_str().unwrap().to_owned();
    assert!(json["url"].as_str().unwrap().ends_with(&direct));
    let (st, got) = http(&host, "GET", &direct, b"").await;
    assert_eq!(st, 200);
    assert_eq!(got, body);
    // The download signature is checked.
    let forged = format!("{}?oh=forged", direct.split('?').next().unwrap());
    let (st, _) = http(&host, "GET", &forged, b"").await;
    assert_eq!(st, 403);
    let (st, _) = http(&host, "GET", "/v/image/missing?oh=x", b"").await;
    assert_eq!(st, 404);
}
