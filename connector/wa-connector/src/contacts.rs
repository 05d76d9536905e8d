//! Contacts: which phone numbers are on WhatsApp, and which devices a user has
//! linked, asked of the server through user sync.

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
