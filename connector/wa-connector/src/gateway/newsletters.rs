//! `wa:gateway/newsletters`: the WhatsApp channels the account follows.

use super::bindings::wa::gateway::newsletters::Host;
use super::bindings::wa::gateway::types::{Newsletter, NewsletterPicture, NewsletterText};
use super::{Gateway, GatewayError, GatewayResult, request_error};

impl Host for Gateway {
    async fn list_newsletters(&mut self, account: String) -> GatewayResult<Vec<Newsletter>> {
        let handle = self.running(&account).await?;
        let followed = crate::newsletters::followed(handle.requester())
            .await
            .map_err(request_error)?;
        Ok(followed.into_iter().map(newsletter).collect())
    }

    async fn unfollow_newsletter(&mut self, account: String, channel: String) -> GatewayResult<()> {
        let jid: wa_proto::binary::Jid = channel
            .parse()
            .ok()
            .filter(|j: &wa_proto::binary::Jid| j.is_newsletter() && !j.user.is_empty())
            .ok_or_else(|| {
                GatewayError::InvalidInput(format!("`{channel}` is not a newsletter JID"))
            })?;
        let handle = self.running(&account).await?;
        crate::newsletters::unfollow(handle.requester(), &jid)
            .await
            .map_err(request_error)
    }
}

fn newsletter(n: wa_proto::newsletter::Newsletter) -> Newsletter {
    let text = |t: wa_proto::newsletter::NewsletterText| NewsletterText {
        text: t.text,
        id: t.id,
        updated_at_us: t.update_time_us,
    };
    let picture = |p: wa_proto::newsletter::NewsletterPicture| NewsletterPicture {
        id: p.id,
        kind: p.kind,
        direct_path: p.direct_path,
        url: p.url,
    };
    let viewer = n.viewer.unwrap_or_default();
    Newsletter {
        id: n.id.to_string(),
        state: n.state,
        name: text(n.name),
        description: text(n.description),
        invite: n.invite,
        subscribers: n.subscribers,
        verification: n.verification,
        created_at_secs: n.creation_time,
        picture: n.picture.map(picture),
        preview: n.preview.map(picture),
        reaction_codes: n.reaction_codes,
        muted: viewer.muted,
        role: viewer.role,
    }
}
