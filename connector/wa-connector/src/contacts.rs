//! Contacts: which phone numbers are on WhatsApp and which devices a user has
//! linked (user sync), and profile pictures.

use wa_proto::binary::Jid;
use wa_proto::usync::{self, ContactStatus, UserDevices};

use crate::requests::{RequestError, Requester};

fn malformed() -> RequestError {
    RequestError::Refused {
        code: "malformed usync answer".into(),
    }
}

/// Whether each of `phones` (digits with country code) is registered.
pub async fn check(
    requester: &Requester,
    phones: &[String],
) -> Result<Vec<ContactStatus>, RequestError> {
    let node = requester.iq(|id| usync::contact_query(id, phones)).await?;
    usync::parse_contacts(&node).map_err(|_| malformed())
}

/// The devices each of `users` has (users the server does not know are left out).
pub async fn devices(
    requester: &Requester,
    users: &[Jid],
) -> Result<Vec<UserDevices>, RequestError> {
    let node = requester.iq(|id| usync::device_query(id, users)).await?;
    usync::parse_devices(&node).map_err(|_| malformed())
}

/// Where `owner`'s picture (or its preview) is; `None` when it has none.
pub async fn picture(
    requester: &Requester,
    owner: &Jid,
    preview: bool,
) -> Result<Option<wa_proto::picture::PictureInfo>, RequestError> {
    match requester
        .iq(|id| wa_proto::picture::get_picture(id, owner, preview))
        .await
    {
        Ok(node) => wa_proto::picture::parse_picture(&node).map_err(|_| malformed()),
        Err(RequestError::Refused { code }) if code == "404" => Ok(None),
        Err(other) => Err(other),
    }
}

/// Sets our picture (`group` none) or a group's to `jpeg`; answers its id.
pub async fn set_picture(
    requester: &Requester,
    group: Option<&Jid>,
    jpeg: &[u8],
) -> Result<String, RequestError> {
    let node = requester
        .iq(|id| wa_proto::picture::set_picture(id, group, jpeg))
        .await?;
    wa_proto::picture::parse_set_picture(&node)
        .map_err(|_| malformed())?
        .ok_or_else(malformed)
}

/// The account's privacy settings as `(category, value)` pairs.
pub async fn privacy(requester: &Requester) -> Result<Vec<(String, String)>, RequestError> {
    let node = requester.iq(wa_proto::privacy::get_settings).await?;
    wa_proto::privacy::parse_settings(&node).map_err(|_| malformed())
}
