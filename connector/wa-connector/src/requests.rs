//! Requests that wait for the server's answer (an `iq` result, or the server's `ack`
//! of a sent message), made from outside the connection's task.
//!
//! The sender and other workers hold a [`Requester`]; each request travels to the
//! driver as a [`Command::Request`], which sends the node and records it in
//! [`PendingRequests`]. When the matching answer arrives the driver hands it back
//! instead of passing it to the event handler; a request unanswered by its deadline
//! fails with [`RequestError::Timeout`], and every request still pending when the
//! connection ends fails with [`RequestError::Disconnected`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use wa_proto::SendError;
use wa_proto::binary::Node;

use crate::driver::Command;

/// How long a request may wait for its answer unless the caller says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Which answer completes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// An `<iq type=result|error id=…>` with the request's id.
    IqResult,
    /// The server's `<ack class=message id=…>` for a sent message.
    MessageAck,
}

/// Why a request got no usable answer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The account is not connected (or not logged in) right now.
    #[error("not connected")]
    NotConnected,
    /// The connection ended before the answer came.
    #[error("the connection ended before the server answered")]
    Disconnected,
    /// No answer within the deadline.
    #[error("the server did not answer in time")]
    Timeout,
    /// The server answered with an error (`<iq type=error>` or an `ack` with `error`).
    #[error("the server refused the request (code {code})")]
    Refused {
        /// The error code (`404`, `403`, …; `unknown` when absent).
        code: String,
    },
    /// The request itself is unusable (a node without an `id`).
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// The node could not be sent.
    #[error("send: {0}")]
    Send(#[from] SendError),
}

/// One request waiting for its answer.
#[derive(Debug)]
struct Pending {
    expect: Expect,
    deadline: Instant,
    reply: oneshot::Sender<Result<Node, RequestError>>,
}

/// The driver's table of requests in flight, by stanza id.
#[derive(Debug, Default)]
pub struct PendingRequests {
    by_id: HashMap<String, Pending>,
}

impl PendingRequests {
    /// Records a sent request.
    pub fn insert(
        &mut self,
        id: String,
        expect: Expect,
        deadline: Instant,
        reply: oneshot::Sender<Result<Node, RequestError>>,
    ) {
        self.by_id.insert(
            id,
            Pending {
                expect,
                deadline,
                reply,
            },
        );
    }

    /// If `node` answers a pending request, completes it and returns true (the node
    /// is consumed: it is not an event for anyone else).
    pub fn resolve(&mut self, node: &Node) -> bool {
        let expect = match node.tag.as_str() {
            "iq" if matches!(node.attr_str("type").as_deref(), Some("result" | "error")) => {
                Expect::IqResult
            }
            "ack" if node.attr_str("class").as_deref() == Some("message") => Expect::MessageAck,
            _ => return false,
        };
        let Some(id) = node.attr_str("id") else {
            return false;
        };
        if self.by_id.get(id.as_ref()).map(|p| p.expect) != Some(expect) {
            return false;
        }
        let Some(pending) = self.by_id.remove(id.as_ref()) else {
            return false;
        };
        let _ = pending.reply.send(answer(node));
        true
    }

    /// The earliest deadline, to arm the driver's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_id.values().map(|p| p.deadline).min()
    }

    /// Fails every request whose deadline has passed.
    pub fn expire(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .by_id
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(p) = self.by_id.remove(&id) {
                let _ = p.reply.send(Err(RequestError::Timeout));
            }
        }
    }

    /// Fails every pending request: the connection is gone.
    pub fn fail_all(&mut self) {
        for (_, p) in self.by_id.drain() {
            let _ = p.reply.send(Err(RequestError::Disconnected));
        }
    }

    /// How many requests are waiting.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no request is waiting.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Drop for PendingRequests {
    fn drop(&mut self) {
        self.fail_all();
    }
}

/// The answer as the requester sees it: the node, or the server's refusal.
fn answer(node: &Node) -> Result<Node, RequestError> {
    let refused = match node.tag.as_str() {
        "iq" => (node.attr_str("type").as_deref() == Some("error")).then(|| {
            node.get_child("error")
                .and_then(|e| e.attr_str("code").map(|c| c.into_owned()))
        }),
        _ => node.attr_str("error").map(|c| Some(c.into_owned())),
    };
    match refused {
        Some(code) => Err(RequestError::Refused {
            code: code.unwrap_or_else(|| "unknown".into()),
        }),
        None => Ok(node.clone()),
    }
}

/// Sends requests through an account's task and awaits their answers; cheap to clone.
#[derive(Debug, Clone)]
pub struct Requester {
    cmds: mpsc::Sender<Command>,
    ids: Arc<IdSource>,
}

/// Unique ids for our own iqs: a random per-process prefix and a counter, distinct
/// from the ids the connection itself generates.
#[derive(Debug)]
struct IdSource {
    prefix: String,
    next: AtomicU64,
}

impl Requester {
    /// A requester over the account task's command channel.
    pub fn new(cmds: mpsc::Sender<Command>) -> Self {
        Self {
            cmds,
            ids: Arc::new(IdSource {
                prefix: format!("r{:08x}", OsRng.next_u32()),
                next: AtomicU64::new(1),
            }),
        }
    }

    /// A fresh id for an iq.
    pub fn next_id(&self) -> String {
        let n = self.ids.next.fetch_add(1, Ordering::Relaxed);
        format!("{}.{n}", self.ids.prefix)
    }

    /// Sends `node` (its `id` attribute names it) and waits up to `timeout` for the
    /// answer `expect` describes.
    pub async fn request(
        &self,
        node: Node,
        expect: Expect,
        timeout: Duration,
    ) -> Result<Node, RequestError> {
        let (reply, rx) = oneshot::channel();
        self.cmds
            .send(Command::Request {
                node,
                expect,
                timeout,
                reply,
            })
            .await
            .map_err(|_| RequestError::NotConnected)?;
        rx.await.unwrap_or(Err(RequestError::Disconnected))
    }

    /// Sends a node the server does not answer; done once it is on its way.
    pub async fn send(&self, node: Node) -> Result<(), RequestError> {
        let (reply, rx) = oneshot::channel();
        self.cmds
            .send(Command::Send { node, reply })
            .await
            .map_err(|_| RequestError::NotConnected)?;
        rx.await.unwrap_or(Err(RequestError::Disconnected))
    }

    /// Sends an iq built by `build` from a fresh id, with the default timeout.
    pub async fn iq(&self, build: impl FnOnce(&str) -> Node) -> Result<Node, RequestError> {
        let node = build(&self.next_id());
        self.request(node, Expect::IqResult, DEFAULT_REQUEST_TIMEOUT)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_with(
        id: &str,
        expect: Expect,
    ) -> (
        PendingRequests,
        oneshot::Receiver<Result<Node, RequestError>>,
    ) {
        let mut t = PendingRequests::default();
        let (tx, rx) = oneshot::channel();
        t.insert(
            id.into(),
            expect,
            Instant::now() + Duration::from_secs(5),
            tx,
        );
        (t, rx)
    }

    #[test]
    fn iq_result_resolves_its_request_only() {
        let (mut t, mut rx) = table_with("a.1", Expect::IqResult);
        let other = Node::new("iq").attr("type", "result").attr("id", "a.2");
        assert!(!t.resolve(&other));
        // A message ack with the same id is not an iq answer.
        let ack = Node::new("ack").attr("class", "message").attr("id", "a.1");
        assert!(!t.resolve(&ack));
        let ok = Node::new("iq")
            .attr("type", "result")
            .attr("id", "a.1")
            .child(Node::new("x"));
        assert!(t.resolve(&ok));
        assert!(t.is_empty());
        let got = rx.try_recv().unwrap().unwrap();
        assert!(got.get_child("x").is_some());
    }

    #[test]
    fn errors_carry_the_server_code() {
        let (mut t, mut rx) = table_with("m1", Expect::MessageAck);
        let refused = Node::new("ack")
            .attr("class", "message")
            .attr("id", "m1")
            .attr("error", "403");
        assert!(t.resolve(&refused));
        assert_eq!(
            rx.try_recv().unwrap(),
            Err(RequestError::Refused { code: "403".into() })
        );
        let (mut t, mut rx) = table_with("q", Expect::IqResult);
        let err = Node::new("iq")
            .attr("type", "error")
            .attr("id", "q")
            .child(Node::new("error").attr("code", "404"));
        assert!(t.resolve(&err));
        assert_eq!(
            rx.try_recv().unwrap(),
            Err(RequestError::Refused { code: "404".into() })
        );
    }

    #[test]
    fn expiry_and_disconnect_fail_requests() {
        let (mut t, mut rx) = table_with("q", Expect::IqResult);
        let deadline = t.next_deadline().unwrap();
        t.expire(deadline - Duration::from_millis(1));
        assert_eq!(t.len(), 1);
        t.expire(deadline);
        assert_eq!(rx.try_recv().unwrap(), Err(RequestError::Timeout));
        let (t, mut rx) = table_with("q", Expect::IqResult);
        drop(t);
        assert_eq!(rx.try_recv().unwrap(), Err(RequestError::Disconnected));
    }
}
