//! Presence: show this account online or offline, and typing / recording /
//! stopped in a chat. The server answers neither, so these complete once the
//! stanza is on its way.

use wa_proto::binary::Jid;
use wa_proto::presence::{self, ChatState};

use crate::requests::{RequestError, Requester};

/// Shows the account online (`available`) or offline to its contacts, under
/// its push name when it has one.
pub async fn send_presence(
    requester: &Requester,
    available: bool,
    push_name: Option<&str>,
) -> Result<(), RequestError> {
    requester
        .send(presence::presence(available, push_name))
        .await
}

/// Shows what the account is doing in the chat `to`.
pub async fn send_chat_state(
    requester: &Requester,
    to: &Jid,
    state: ChatState,
) -> Result<(), RequestError> {
    requester.send(presence::chat_state(to, state)).await
}
