//! Opening the WebSocket to the WhatsApp server: TLS (rustls, web PKI roots) for
//! `wss://`, plain TCP for `ws://` (the simulator on loopback).
//!
//! The Noise layer inside authenticates the server on its own (against
//! `WA_TRUST_ROOT`); TLS is kept for `wss://` because WhatsApp requires it and it
//! hides the handshake's metadata.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// The connected socket the driver reads and writes.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest WebSocket message accepted from the server (frames above the protocol's
/// own limit are refused by `wa-proto` anyway).
pub const MAX_MESSAGE: usize = 16 << 20;

/// The `Origin` WhatsApp Web's own client sends; the server checks it.
const ORIGIN: &str = "https://web.whatsapp.com";

/// Why the socket could not be opened. Each is retried with back-off by the caller.
#[derive(Debug, Error)]
pub enum SocketError {
    /// The configured URL is not a usable `ws://` / `wss://` URL.
    #[error("invalid server URL: {0}")]
    InvalidUrl(String),
    /// TCP, TLS and the WebSocket upgrade did not finish in time.
    #[error("connecting timed out after {0:?}")]
    Timeout(Duration),
    /// TCP, TLS or the WebSocket upgrade failed.
    #[error("WebSocket connect failed: {0}")]
    Connect(#[source] Box<tokio_tungstenite::tungstenite::Error>),
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            // An explicit provider: other crates in the process may enable a second
            // one, and rustls then refuses to guess.
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// Opens the WebSocket to `url` within `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> Result<WsStream, SocketError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| SocketError::InvalidUrl(e.to_string()))?;
    request
        .headers_mut()
        .insert("Origin", HeaderValue::from_static(ORIGIN));
    let mut ws_config = WebSocketConfig::default();
    ws_config.max_message_size = Some(MAX_MESSAGE);
    ws_config.max_frame_size = Some(MAX_MESSAGE);
    let connect = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(ws_config),
        true,
        Some(Connector::Rustls(tls_config())),
    );
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(e)) => Err(SocketError::Connect(Box::new(e))),
        Err(_) => Err(SocketError::Timeout(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_urls_and_refused_ports_are_typed_errors() {
        assert!(matches!(
            connect("not a url", Duration::from_secs(1)).await,
            Err(SocketError::InvalidUrl(_))
        ));
        // Port 1 on loopback: nothing listens.
        assert!(matches!(
            connect("ws://127.0.0.1:1/ws/chat", Duration::from_secs(5)).await,
            Err(SocketError::Connect(_))
        ));
    }

    #[test]
    fn tls_config_builds() {
        assert!(!tls_config().alpn_protocols.contains(&b"h2".to_vec()));
    }
}
