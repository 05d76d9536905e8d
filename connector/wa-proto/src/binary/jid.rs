//! JIDs: the addresses of users, devices, groups, broadcasts and servers.

use std::fmt;
use std::str::FromStr;

/// Server of phone-number users (`user@s.whatsapp.net`).
pub const USER_SERVER: &str = "s.whatsapp.net";
/// Server of groups.
pub const GROUP_SERVER: &str = "g.us";
/// Legacy user server, still used by some system JIDs.
pub const LEGACY_USER_SERVER: &str = "c.us";
/// Server of broadcast lists and status.
pub const BROADCAST_SERVER: &str = "broadcast";
/// Server of hidden-number (LID) users.
pub const HIDDEN_USER_SERVER: &str = "lid";
/// Server of channels.
pub const NEWSLETTER_SERVER: &str = "newsletter";
/// Server of hosted (business API) devices.
pub const HOSTED_SERVER: &str = "hosted";
/// Server of hosted LID devices.
pub const HOSTED_LID_SERVER: &str = "hosted.lid";
/// Server of Messenger users (encoded as FB JIDs).
pub const MESSENGER_SERVER: &str = "msgr";
/// Server of interop users (encoded as interop JIDs).
pub const INTEROP_SERVER: &str = "interop";

/// A WhatsApp address, kept structured so the encoder can pick the compact
/// wire form (JID pair, AD JID, FB JID, interop JID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Jid {
    /// User part (phone number, group id, LID...); empty for a bare server JID.
    pub user: String,
    /// Device number; 0 is the primary device. Only meaningful on user servers.
    pub device: u16,
    /// Integrator id, used by interop JIDs only.
    pub integrator: u16,
    /// Server part, e.g. [`USER_SERVER`].
    pub server: String,
}

impl Jid {
    /// A user or group JID without device.
    pub fn new(user: impl Into<String>, server: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            server: server.into(),
            ..Self::default()
        }
    }

    /// A device JID (`user:device@server`).
    pub fn device(user: impl Into<String>, device: u16, server: impl Into<String>) -> Self {
        Self {
            device,
            ..Self::new(user, server)
        }
    }

    /// A bare server JID such as `s.whatsapp.net`, used as `to` of most iqs.
    pub fn server(server: impl Into<String>) -> Self {
        Self::new("", server)
    }

    /// The `s.whatsapp.net` server JID.
    pub fn server_jid() -> Self {
        Self::server(USER_SERVER)
    }

    /// The same JID without its device, to compare users.
    pub fn to_non_ad(&self) -> Self {
        Self::new(self.user.clone(), self.server.clone())
    }

    /// True for `@g.us`.
    pub fn is_group(&self) -> bool {
        self.server == GROUP_SERVER
    }

    /// True for `@broadcast` (including `status@broadcast`).
    pub fn is_broadcast(&self) -> bool {
        self.server == BROADCAST_SERVER
    }

    /// True for `@newsletter`.
    pub fn is_newsletter(&self) -> bool {
        self.server == NEWSLETTER_SERVER
    }

    /// True for `@lid`.
    pub fn is_lid(&self) -> bool {
        self.server == HIDDEN_USER_SERVER
    }

    /// The AD-JID domain byte for servers that have one.
    pub(crate) fn ad_domain(&self) -> Option<u8> {
        match self.server.as_str() {
            USER_SERVER => Some(0),
            HIDDEN_USER_SERVER => Some(1),
            HOSTED_SERVER => Some(128),
            HOSTED_LID_SERVER => Some(129),
            _ => None,
        }
    }

    /// The server for an AD-JID domain byte.
    pub(crate) fn server_for_domain(domain: u8) -> Option<&'static str> {
        match domain {
            0 => Some(USER_SERVER),
            1 => Some(HIDDEN_USER_SERVER),
            128 => Some(HOSTED_SERVER),
            129 => Some(HOSTED_LID_SERVER),
            _ => None,
        }
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.user.is_empty() {
            return f.write_str(&self.server);
        }
        f.write_str(&self.user)?;
        if self.device > 0 {
            write!(f, ":{}", self.device)?;
        }
        write!(f, "@{}", self.server)
    }
}

/// Why a JID string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JidParseError {
    /// The device after `:` is not a number below 65536.
    #[error("invalid device number in JID {0:?}")]
    BadDevice(String),
    /// The server part is empty.
    #[error("empty server in JID {0:?}")]
    EmptyServer(String),
}

impl FromStr for Jid {
    type Err = JidParseError;

    /// Parses `user[:device]@server` or a bare `server`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((user_part, server)) = s.split_once('@') else {
            if s.is_empty() {
                return Err(JidParseError::EmptyServer(s.into()));
            }
            return Ok(Self::server(s));
        };
        if server.is_empty() {
            return Err(JidParseError::EmptyServer(s.into()));
        }
        let (user, device) = match user_part.split_once(':') {
            Some((u, d)) => (
                u,
                d.parse::<u16>()
                    .map_err(|_| JidParseError::BadDevice(s.into()))?,
            ),
            None => (user_part, 0),
        };
        Ok(Self::device(user, device, server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for s in [
            "1234@s.whatsapp.net",
            "1234:7@s.whatsapp.net",
            "1203630@g.us",
            "status@broadcast",
            "9876@lid",
            "12@newsletter",
            "s.whatsapp.net",
        ] {
            assert_eq!(s.parse::<Jid>().unwrap().to_string(), s);
        }
        assert_eq!(
            "1:x@a".parse::<Jid>(),
            Err(JidParseError::BadDevice("1:x@a".into()))
        );
        assert!("1@".parse::<Jid>().is_err());
    }
}
