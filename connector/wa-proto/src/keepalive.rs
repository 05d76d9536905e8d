//! Keep-alive pings (`<iq xmlns=w:p type=get><ping/></iq>`), tracked in caller time.

use std::time::{Duration, Instant};

use crate::binary::{Jid, Node};

/// Time between pings.
pub const INTERVAL: Duration = Duration::from_secs(25);
/// How long to wait for the pong before declaring the link dead.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The ping iq.
pub fn ping(iq_id: &str) -> Node {
    Node::new("iq")
        .attr("id", iq_id)
        .attr("to", Jid::server_jid())
        .attr("type", "get")
        .attr("xmlns", "w:p")
        .child(Node::new("ping"))
}

/// Ping schedule and outstanding-ping bookkeeping.
#[derive(Debug, Clone)]
pub struct KeepAlive {
    next_ping: Instant,
    outstanding: Option<(String, Instant)>,
}

/// What the connection should do at a keep-alive deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepAliveAction {
    /// Nothing is due.
    Idle,
    /// Send a ping (build it with [`ping`] and register it with [`KeepAlive::sent`]).
    Ping,
    /// The last ping went unanswered.
    TimedOut,
}

impl KeepAlive {
    /// Starts the schedule at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            next_ping: now + INTERVAL,
            outstanding: None,
        }
    }

    /// The next deadline.
    pub fn deadline(&self) -> Instant {
        match &self.outstanding {
            Some((_, sent)) => *sent + RESPONSE_TIMEOUT,
            None => self.next_ping,
        }
    }

    /// What is due at `now`.
    pub fn poll(&self, now: Instant) -> KeepAliveAction {
        match &self.outstanding {
            Some((_, sent)) if now >= *sent + RESPONSE_TIMEOUT => KeepAliveAction::TimedOut,
            Some(_) => KeepAliveAction::Idle,
            None if now >= self.next_ping => KeepAliveAction::Ping,
            None => KeepAliveAction::Idle,
        }
    }

    /// Records a ping sent at `now` with `id`.
    pub fn sent(&mut self, id: String, now: Instant) {
        self.outstanding = Some((id, now));
    }

    /// Handles an iq result/error; returns true if it answered our ping.
    pub fn handle_response(&mut self, id: &str, now: Instant) -> bool {
        if self.outstanding.as_ref().is_some_and(|(o, _)| o == id) {
            self.outstanding = None;
            self.next_ping = now + INTERVAL;
            true
        } else {
            false
        }
    }
}
