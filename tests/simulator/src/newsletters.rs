//! Newsletters (channels) over `w:mex`: the channels that exist (see
//! [`crate::SimulatorHandle::create_newsletter`]) and which accounts follow
//! them. The followed-list query answers the account's channels with its
//! viewer metadata; unfollowing a channel that does not exist is a GraphQL
//! `404`, unfollowing one not followed changes nothing.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value as Json;
use wa_proto::binary::Node;
use wa_proto::newsletter::{
    Newsletter, NewsletterViewer, SUBSCRIBED_FIELD, SUBSCRIBED_QUERY_ID, UNFOLLOW_FIELD,
    UNFOLLOW_QUERY_ID, mex_error, mex_result, newsletter_json, parse_mex_query,
};

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};

/// The channels and their followers.
#[derive(Debug, Default)]
pub(crate) struct Newsletters {
    /// Channels by JID (`…@newsletter`), as created (subscriber counts live).
    channels: HashMap<String, Newsletter>,
    /// Followed channels (JIDs) by phone.
    followed: HashMap<String, BTreeSet<String>>,
}

impl Newsletters {
    /// Adds (or replaces) a channel.
    pub fn create(&mut self, channel: Newsletter) {
        self.channels.insert(channel.id.to_string(), channel);
    }

    /// Makes `phone` follow `channel`; false if the channel does not exist.
    pub fn follow(&mut self, phone: &str, channel: &str) -> bool {
        let Some(c) = self.channels.get_mut(channel) else {
            return false;
        };
        if self
            .followed
            .entry(phone.to_owned())
            .or_default()
            .insert(channel.to_owned())
        {
            c.subscribers += 1;
        }
        true
    }

    /// The channels `phone` follows, sorted by JID.
    pub fn followed_by(&self, phone: &str) -> Vec<String> {
        self.followed
            .get(phone)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn unfollow(&mut self, phone: &str, channel: &str) {
        let removed = self
            .followed
            .get_mut(phone)
            .is_some_and(|set| set.remove(channel));
        if removed && let Some(c) = self.channels.get_mut(channel) {
            c.subscribers = c.subscribers.saturating_sub(1);
        }
    }

    /// The followed list as the server writes it for `phone`.
    fn subscribed_json(&self, phone: &str) -> Json {
        Json::Array(
            self.followed_by(phone)
                .iter()
                .filter_map(|jid| self.channels.get(jid))
                .map(|c| {
                    newsletter_json(&Newsletter {
                        viewer: Some(NewsletterViewer {
                            muted: false,
                            role: "subscriber".into(),
                        }),
                        ..c.clone()
                    })
                })
                .collect(),
        )
    }
}

/// `get` `<query query_id>` of `w:mex`: the newsletter queries the simulator
/// knows; any other query id is not implemented.
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let (query_id, variables) =
        parse_mex_query(node).map_err(|_| StanzaError::BadRequest("mex query"))?;
    let phone = ctx.me()?.user;
    let result = match query_id.as_str() {
        SUBSCRIBED_QUERY_ID => mex_result(
            SUBSCRIBED_FIELD,
            ctx.state.newsletters.subscribed_json(&phone),
        ),
        UNFOLLOW_QUERY_ID => {
            let channel = variables["newsletter_id"]
                .as_str()
                .ok_or(StanzaError::BadRequest("newsletter_id"))?;
            if ctx.state.newsletters.channels.contains_key(channel) {
                ctx.state.newsletters.unfollow(&phone, channel);
                mex_result(UNFOLLOW_FIELD, serde_json::json!({ "id": channel }))
            } else {
                mex_error(404, "newsletter not found")
            }
        }
        _ => return Err(StanzaError::NotImplemented),
    };
    ctx.replies.push(iq_result(node).child(result));
    Ok(())
}
