//! A small web site on loopback: fixed answers per path (status, type,
//! body, an optional delay before answering), and the paths asked for.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One path's answer.
#[derive(Debug, Clone)]
pub struct Page {
    /// The status.
    pub status: u16,
    /// Response headers (`Content-Type`, `Location`, ...).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Bytes,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Page {
    /// `200` with `body` of `content_type`.
    pub fn ok(content_type: &str, body: impl Into<Bytes>) -> Page {
        Page {
            status: 200,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// `status` with a short text body.
    pub fn status(status: u16) -> Page {
        Page {
            status,
            headers: vec![("content-type", "text/html".to_owned())],
            body: Bytes::from_static(b"<html><head><title>Error</title></head></html>"),
            delay: Duration::ZERO,
        }
    }

    /// A `301` to `location`.
    pub fn redirect(location: &str) -> Page {
        Page {
            status: 301,
            headers: vec![("location", location.to_owned())],
            body: Bytes::new(),
            delay: Duration::ZERO,
        }
    }

    /// The same answer after `delay`.
    pub fn after(mut self, delay: Duration) -> Page {
        self.delay = delay;
        self
    }
}

/// The running site.
#[derive(Clone)]
pub struct Site {
    /// Where it listens.
    pub address: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Site {
    /// Serves `pages` (unknown paths: `404`).
    pub async fn start(pages: Vec<(&str, Page)>) -> Site {
        let pages: Arc<HashMap<String, Page>> = Arc::new(
            pages
                .into_iter()
                .map(|(path, page)| (path.to_owned(), page))
                .collect(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let pages = pages.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: http::Request<_>| {
                        let pages = pages.clone();
                        let log = log.clone();
                        async move {
                            let _: &hyper::body::Incoming = request.body();
                            let path = request.uri().path().to_owned();
                            log.lock().unwrap().push(path.clone());
                            let page = pages.get(&path).cloned().unwrap_or(Page::status(404));
                            tokio::time::sleep(page.delay).await;
                            let mut response = http::Response::new(Full::new(page.body));
                            *response.status_mut() =
                                http::StatusCode::from_u16(page.status).unwrap();
                            for (name, value) in page.headers {
                                response.headers_mut().insert(name, value.parse().unwrap());
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Site { address, asked }
    }

    /// The address of `path` on the site.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The paths asked for so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}
