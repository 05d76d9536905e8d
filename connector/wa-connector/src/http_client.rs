//! The connector's outbound HTTP client settings, in one place: how long a
//! transfer may take and how connections are kept for reuse
//! (`HTTP_CLIENT_TIMEOUT`, `HTTP_CLIENT_MAX_IDLE_PER_HOST`,
//! `HTTP_CLIENT_IDLE_TIMEOUT`).
//!
//! The connector's own transfers (media uploads to and downloads from
//! WhatsApp's media hosts) use a client built here. Reusing a warm
//! connection saves a TCP and TLS handshake per transfer; an idle one holds
//! a socket and a file descriptor, hence the bounds.

use std::time::Duration;

/// How outbound HTTP clients are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpClientConfig {
    /// The longest one request may take, connecting to the last body byte.
    pub timeout: Duration,
    /// Idle connections kept per host for reuse (0: a new connection for
    /// every request).
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept before it is closed.
    pub idle_timeout: Duration,
}

/// How long establishing a connection may take, within [`HttpClientConfig::timeout`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

impl Default for HttpClientConfig {
    /// Five minutes per transfer (a 100 MiB video on a slow uplink), eight
    /// idle connections per host, closed after 90 s idle.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            max_idle_per_host: 8,
            idle_timeout: Duration::from_secs(90),
        }
    }
}

impl HttpClientConfig {
    /// A client with these settings.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(self.timeout))
            .timeout(self.timeout)
            .pool_max_idle_per_host(self.max_idle_per_host)
            .pool_idle_timeout(self.idle_timeout)
            .build()
            .expect("the TLS backend is compiled in")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A loopback HTTP/1.1 server answering `ok` after `delay`, keeping
    /// connections open; returns its URL and the connections it accepted.
    async fn server(delay: Duration) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 4096];
                    let mut pending = Vec::new();
                    loop {
                        let Ok(n) = stream.read(&mut buffer).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        pending.extend_from_slice(&buffer[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            tokio::time::sleep(delay).await;
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if stream.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    async fn get_three(config: HttpClientConfig, gap: Duration) -> usize {
        let (url, accepted) = server(Duration::ZERO).await;
        let client = config.client();
        for _ in 0..3 {
            let body = client.get(&url).send().await.unwrap().text().await.unwrap();
            assert_eq!(body, "ok");
            tokio::time::sleep(gap).await;
        }
        accepted.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn an_idle_pool_reuses_one_connection() {
        let pooled = HttpClientConfig::default();
        assert_eq!(get_three(pooled, Duration::from_millis(20)).await, 1);
    }

    #[tokio::test]
    async fn no_idle_pool_connects_every_time() {
        let unpooled = HttpClientConfig {
            max_idle_per_host: 0,
            ..HttpClientConfig::default()
        };
        assert_eq!(get_three(unpooled, Duration::from_millis(20)).await, 3);
    }

    #[tokio::test]
    async fn connections_idle_past_the_idle_timeout_are_closed() {
        let short = HttpClientConfig {
            idle_timeout: Duration::from_millis(100),
            ..HttpClientConfig::default()
        };
        assert_eq!(get_three(short, Duration::from_millis(600)).await, 3);
    }

    #[tokio::test]
    async fn a_slow_server_times_out() {
        let (url, _) = server(Duration::from_secs(5)).await;
        let client = HttpClientConfig {
            timeout: Duration::from_millis(300),
            ..HttpClientConfig::default()
        }
        .client();
        let error = client.get(&url).send().await.unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
    }
}
