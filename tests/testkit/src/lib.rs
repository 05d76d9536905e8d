//! Helpers shared by the gateway's integration tests.
//!
//! The tests run against real parts: the components `cargo xtask test` built,
//! the services it started, real child processes on loopback. This crate finds
//! them and fails loudly when one is missing, because a test that skips itself
//! when its service is absent would hide exactly the breakage it exists for.

#![warn(missing_docs)]

#[cfg(feature = "lambda")]
pub mod lambda_runtime_api;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStderr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The value of a variable `cargo xtask test` sets; panics with what to do if unset.
pub fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: run the suite with `cargo xtask test`, which builds and starts what it names"
        ),
    }
}

/// A file named by a variable `cargo xtask test` sets; panics if it is missing.
pub fn required_file(name: &str) -> PathBuf {
    let path = PathBuf::from(required_env(name));
    assert!(
        path.is_file(),
        "{name} names {}, which does not exist",
        path.display()
    );
    path
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("binding an ephemeral loopback port")
}

/// Polls until something accepts TCP connections on `address`.
pub fn wait_for_port(address: SocketAddr, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listened on {address} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is killed when the test ends, however it ends.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    lines: Option<mpsc::Receiver<String>>,
}

impl ChildGuard {
    /// Takes ownership of `child`; its stderr, if piped, is read line by line.
    pub fn new(mut child: Child) -> Self {
        let lines = child.stderr.take().map(spawn_line_reader);
        Self { child, lines }
    }

    /// Waits for a stderr line containing `needle` and returns it; every line
    /// read meanwhile is echoed so that a failing test shows the child's logs.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let lines = self
            .lines
            .as_ref()
            .expect("the child's stderr was not piped");
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    eprintln!("child | {line}");
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("the child never printed {needle:?} within {timeout:?}"),
            }
        }
    }

    /// Waits for the child to exit and returns its status and remaining stderr.
    pub fn wait(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().expect("waiting for the child");
        let rest = self
            .lines
            .take()
            .map(|lines| lines.into_iter().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        (status, rest)
    }

    /// The process id, e.g. to send it a signal.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_line_reader(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// A response read by [`http_request`].
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one HTTP/1.1 request over a fresh loopback connection and reads the
/// whole answer: a deliberately small client, so tests see the raw exchange.
pub fn http_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpReply> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_reply(&raw).ok_or_else(|| {
        std::io::Error::other(format!(
            "malformed HTTP reply: {:?}",
            String::from_utf8_lossy(&raw)
        ))
    })
}

fn parse_reply(raw: &[u8]) -> Option<HttpReply> {
    let split = raw.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(HttpReply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|window| window == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// The settings string x264 writes into every stream it encodes (an SEI
/// message: `x264 - core N - H.264/MPEG-4 AVC codec - ... options: ...`),
/// from `options:` on: what shows that an encoder setting reached x264.
pub fn x264_settings(bytes: &[u8]) -> String {
    let start = bytes
        .windows(8)
        .position(|w| w == b"options:")
        .expect("x264's settings string");
    let end = bytes[start..]
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes.len(), |n| start + n);
    String::from_utf8_lossy(&bytes[start..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_replies() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
        let reply = parse_reply(raw).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("x-a"), Some("b"));
        assert_eq!(reply.text(), "Wikipedia");
    }

    #[test]
    fn rejects_truncated_replies() {
        assert!(parse_reply(b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(
            parse_reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi").is_none()
        );
    }
}
