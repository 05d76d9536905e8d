//! Business profiles: what a WhatsApp Business account publishes about itself,
//! asked through the account's connection.

use wa_proto::binary::Jid;
use wa_proto::business::{self, BusinessProfile};

use crate::requests::{RequestError, Requester};

/// `user`'s business profile; `None` when `user` is not a business.
pub async fn profile(
    requester: &Requester,
    user: &Jid,
) -> Result<Option<BusinessProfile>, RequestError> {
    let node = requester
        .iq(|id| business::query_business_profile(id, user))
        .await?;
    business::parse_business_profile(&node).map_err(|_| RequestError::Refused {
        code: "malformed business profile".into(),
    })
}
