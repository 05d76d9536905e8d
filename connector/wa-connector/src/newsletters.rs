//! Newsletters (WhatsApp channels): the ones the account follows, and
//! unfollowing one, asked through the account's connection (`w:mex`).

use wa_proto::binary::Jid;
use wa_proto::newsletter::{self, Newsletter};
use wa_proto::stanza::StanzaError;

use crate::requests::{RequestError, Requester};

/// The channels the account follows.
pub async fn followed(requester: &Requester) -> Result<Vec<Newsletter>, RequestError> {
    let node = requester.iq(newsletter::query_subscribed).await?;
    newsletter::parse_subscribed(&node).map_err(refused)
}

/// Stops following `channel`.
pub async fn unfollow(requester: &Requester, channel: &Jid) -> Result<(), RequestError> {
    let node = requester.iq(|id| newsletter::unfollow(id, channel)).await?;
    newsletter::parse_unfollow(&node).map_err(refused)
}

/// A GraphQL error keeps its code (a `404` is an unknown channel); an answer
/// that cannot be read is a refusal of its own kind.
fn refused(error: StanzaError) -> RequestError {
    match error {
        StanzaError::Server { code, .. } if !code.is_empty() => RequestError::Refused { code },
        other => RequestError::Refused {
            code: format!("malformed newsletter answer: {other}"),
        },
    }
}
