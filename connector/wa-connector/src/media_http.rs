//! The HTTP side of media: WhatsApp's media hosts (from `media_conn`), the client
//! that talks to them, and the errors of a transfer. Uploads are in
//! [`crate::upload`], downloads in [`crate::download`].
//!
//! Media hosts are HTTPS. A connector whose chat socket is plain `ws://` (only ever a
//! local simulator) uses plain HTTP for media too, so tests need no certificates.

use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::Mutex;
use wa_proto::mediaconn::{self, MediaConn};

use crate::http_client::HttpClientConfig;
use crate::requests::{RequestError, Requester};

/// Why a media transfer failed.
#[derive(Debug, Error)]
pub enum MediaTransferError {
    /// Asking the server for media hosts failed.
    #[error("media hosts: {0}")]
    Request(#[from] RequestError),
    /// The server's `media_conn` answer had no usable host.
    #[error("the server offered no media host")]
    NoHost,
    /// The media host refused or failed.
    #[error("media host: {0}")]
    Http(String),
    /// Reading or writing the media store failed.
    #[error("media store: {0}")]
    Store(#[from] wa_media::MediaError),
    /// The downloaded file failed verification (MAC or hashes): nothing was kept.
    #[error("downloaded media failed verification: {0}")]
    Verify(String),
    /// The message lacks what a download needs (path, key, hashes).
    #[error("the message has no downloadable media: {0}")]
    NotDownloadable(&'static str),
}

/// The media client of one account: an HTTP client and the cached `media_conn`.
#[derive(Debug)]
pub struct MediaHttp {
    pub(crate) http: reqwest::Client,
    pub(crate) scheme: &'static str,
    conn: Mutex<Option<(MediaConn, Instant)>>,
}

impl MediaHttp {
    /// A client for a connector whose chat socket is `server_url`, with the
    /// default [`HttpClientConfig`].
    pub fn new(server_url: &str) -> Self {
        Self::with_config(server_url, &HttpClientConfig::default())
    }

    /// A client for a connector whose chat socket is `server_url`, built
    /// with `config` (timeout and connection reuse).
    pub fn with_config(server_url: &str, config: &HttpClientConfig) -> Self {
        let http = config.client();
        Self {
            http,
            scheme: if server_url.starts_with("ws://") {
                "http"
            } else {
                "https"
            },
            conn: Mutex::new(None),
        }
    }

    /// The media hosts and upload token, cached until the server's TTL runs out.
    pub async fn media_conn(&self, requester: &Requester) -> Result<MediaConn, MediaTransferError> {
        let mut cached = self.conn.lock().await;
        if let Some((conn, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(conn.clone());
        }
        let node = requester.iq(mediaconn::media_conn_query).await?;
        let conn = mediaconn::parse_media_conn(&node).map_err(|_| MediaTransferError::NoHost)?;
        if conn.hosts.is_empty() {
            return Err(MediaTransferError::NoHost);
        }
        // Renewed a little early so an upload never starts with an expiring token.
        let ttl = Duration::from_secs(conn.ttl_secs).saturating_sub(Duration::from_secs(30));
        *cached = Some((conn.clone(), Instant::now() + ttl));
        Ok(conn)
    }

    /// Forgets the cached hosts (after a host refused our token).
    pub async fn invalidate(&self) {
        *self.conn.lock().await = None;
    }
}

/// Plain bytes per read from the media store.
pub(crate) const CHUNK: usize = 64 * 1024;
