//! Login, logout and connection changes as events, so webhooks carry them
//! (GOWA reports them only on its WebSocket).
//!
//! A watcher follows an account's status channel and appends an event for each
//! change it observes. The channel keeps only the latest status, so a flap
//! shorter than the time to append one event may be seen as no change: these
//! events report states, not every transition.

use std::time::SystemTime;

use tokio::sync::watch;
use tracing::warn;
use wa_store::{AccountId, DynStore};

use crate::accounts::{AccountState, AccountStatus};
use crate::events::{connection_event, kind};

/// Appends connection events for `account` until its status channel closes.
pub async fn watch_account(
    store: DynStore,
    account: AccountId,
    mut status: watch::Receiver<AccountStatus>,
) {
    let mut last = status.borrow_and_update().clone();
    while status.changed().await.is_ok() {
        let now = status.borrow_and_update().clone();
        for event in changes(&last, &now) {
            if let Err(error) = store.append_event(&account, &event).await {
                warn!(%account, %error, kind = %event.kind, "cannot log a connection event");
            }
        }
        last = now;
    }
}

/// The events that describe going from `before` to `after`.
fn changes(before: &AccountStatus, after: &AccountStatus) -> Vec<wa_store::NewEvent> {
    let at = SystemTime::now();
    let jid = after.jid.as_deref().or(before.jid.as_deref());
    let mut events = Vec::new();
    if before.jid.is_none() && after.jid.is_some() {
        events.push(connection_event(kind::LOGIN, jid, None, at));
    }
    if before.state == after.state {
        return events;
    }
    match after.state {
        AccountState::LoggedIn => events.push(connection_event(kind::CONNECTED, jid, None, at)),
        AccountState::Disconnected if before.state == AccountState::LoggedIn => {
            events.push(connection_event(
                kind::DISCONNECTED,
                jid,
                after.last_disconnect.as_deref(),
                at,
            ))
        }
        AccountState::LoggedOut => events.push(connection_event(
            kind::LOGOUT,
            jid,
            after.last_disconnect.as_deref(),
            at,
        )),
        _ => {}
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: AccountState, jid: Option<&str>) -> AccountStatus {
        AccountStatus {
            state,
            qr_code: None,
            jid: jid.map(str::to_owned),
            reconnect_attempt: 0,
            logins: 0,
            last_disconnect: Some("stream end".into()),
        }
    }

    #[test]
    fn pairing_then_login_then_loss_then_logout() {
        let jid = Some("15550001111:3@s.whatsapp.net");
        let waiting = status(AccountState::WaitingForPairing, None);
        let linked = status(AccountState::Connecting, jid);
        let up = status(AccountState::LoggedIn, jid);
        let down = status(AccountState::Disconnected, jid);
        let gone = status(AccountState::LoggedOut, jid);
        let kinds = |a, b| {
            changes(a, b)
                .into_iter()
                .map(|e| e.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&waiting, &linked), vec!["login.success"]);
        assert_eq!(kinds(&linked, &up), vec!["connection.connected"]);
        assert_eq!(kinds(&up, &down), vec!["connection.disconnected"]);
        assert_eq!(kinds(&down, &gone), vec!["logout"]);
        // A failed connect before any login is not a disconnection.
        assert!(kinds(&linked, &down).is_empty());
        let payload: serde_json::Value =
            serde_json::from_str(&changes(&up, &down)[0].payload).unwrap();
        assert_eq!(payload["jid"], "15550001111:3@s.whatsapp.net");
        assert_eq!(payload["reason"], "stream end");
    }
}
