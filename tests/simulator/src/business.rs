//! Business profiles (`iq xmlns=w:biz`): accounts configured as businesses
//! (see [`crate::SimulatorHandle::set_business_profile`]) answer with their
//! profile; anyone else's answer has no `<profile>`, as for an ordinary user.

use std::collections::HashMap;

use wa_proto::binary::Node;
use wa_proto::business::{BusinessProfile, business_profile_node};

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};

/// Published profiles by phone number.
pub(crate) type BusinessProfiles = HashMap<String, BusinessProfile>;

/// `get` `<business_profile v><profile jid/>…`: each asked-for account's profile
/// (the answer carries the first; WhatsApp clients ask for one at a time).
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let query = node
        .get_child("business_profile")
        .ok_or(StanzaError::BadRequest("business_profile"))?;
    let user = query
        .get_child("profile")
        .and_then(|p| p.attr_jid("jid"))
        .ok_or(StanzaError::BadRequest("profile jid"))?;
    let profile = ctx.state.business_profiles.get(&user.user);
    ctx.replies
        .push(iq_result(node).child(business_profile_node(&user, profile)));
    Ok(())
}
