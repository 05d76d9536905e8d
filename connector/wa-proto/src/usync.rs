//! User sync (`iq xmlns=usync`): which devices a user has, so a message can be
//! encrypted for each of them, and which phone numbers are on WhatsApp.

use crate::binary::{Jid, Node};
use crate::stanza::{StanzaError, error_child, iq, req_jid_attr, req_num_attr, self_or_child};

/// `<iq xmlns=usync type=get><usync sid mode=query last=true index=0 context=message>
/// <query><devices version=2/></query><list><user jid/>…</list></usync></iq>`: the
/// device lists of `users` (their user JIDs; devices are dropped). The iq id doubles
/// as the usync session id.
pub fn device_query(iq_id: &str, users: &[Jid]) -> Node {
    let usync = Node::new("usync")
        .attr("sid", iq_id)
        .attr("mode", "query")
        .attr("last", "true")
        .attr("index", "0")
        .attr("context", "message")
        .children([
            Node::new("query").child(Node::new("devices").attr("version", "2")),
            Node::new("list").children(
                users
                    .iter()
                    .map(|u| Node::new("user").attr("jid", u.to_non_ad())),
            ),
        ]);
    iq(iq_id, "usync", "get", Jid::server_jid()).child(usync)
}

/// `<iq xmlns=usync type=get><usync sid mode=query last=true index=0
/// context=interactive><query><contact/></query><list><user><contact>+phone
/// </contact></user>…</list></usync></iq>`: whether each phone number (digits,
/// with country code) is registered on WhatsApp, and its user JID.
pub fn contact_query(iq_id: &str, phones: &[String]) -> Node {
    let usync = Node::new("usync")
        .attr("sid", iq_id)
        .attr("mode", "query")
        .attr("last", "true")
        .attr("index", "0")
        .attr("context", "interactive")
        .children([
            Node::new("query").child(Node::new("contact")),
            Node::new("list").children(phones.iter().map(|phone| {
                Node::new("user").child(Node::new("contact").text(format!("+{phone}")))
            })),
        ]);
    iq(iq_id, "usync", "get", Jid::server_jid()).child(usync)
}

/// One phone number's registration, from the answer to [`contact_query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactStatus {
    /// The number as it was asked about (digits, no `+`).
    pub phone: String,
    /// The user JID the server names for it.
    pub user: Jid,
    /// Registered on WhatsApp (`type=in`).
    pub registered: bool,
}

/// Reads the answer to [`contact_query`]; users the server answers with an
/// `<error>` count as not registered.
pub fn parse_contacts(result: &Node) -> Result<Vec<ContactStatus>, StanzaError> {
    let usync = self_or_child(result, "usync")?;
    let list = usync
        .get_child("list")
        .ok_or(StanzaError::MissingChild("list"))?;
    list.children_by_tag("user")
        .map(|user| {
            let contact = user
                .get_child("contact")
                .ok_or(StanzaError::MissingChild("contact"))?;
            let phone = contact
                .content_bytes()
                .map(|raw| {
                    String::from_utf8_lossy(raw)
                        .chars()
                        .filter(char::is_ascii_digit)
                        .collect()
                })
                .unwrap_or_default();
            Ok(ContactStatus {
                phone,
                user: req_jid_attr(user, "jid")?.to_non_ad(),
                registered: error_child(user).is_none()
                    && contact.attr_str("type").as_deref() == Some("in"),
            })
        })
        .collect()
}

/// One user's devices (`0` is the primary phone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDevices {
    /// The user JID, as the server names it.
    pub user: Jid,
    /// Device numbers, in the server's order.
    pub devices: Vec<u16>,
}

/// Reads the answer to [`device_query`] (the iq or its `<usync>`). Users the server
/// reports with an `<error>` (unknown, not on WhatsApp, …) are left out; a user
/// without a device list has none.
pub fn parse_devices(result: &Node) -> Result<Vec<UserDevices>, StanzaError> {
    let usync = self_or_child(result, "usync")?;
    let list = usync
        .get_child("list")
        .ok_or(StanzaError::MissingChild("list"))?;
    let mut out = Vec::new();
    for user in list.children_by_tag("user") {
        let jid = req_jid_attr(user, "jid")?;
        let devices_node = user.get_child("devices");
        if error_child(user).is_some() || devices_node.and_then(error_child).is_some() {
            continue;
        }
        let devices = devices_node
            .and_then(|d| d.get_child("device-list"))
            .map(|l| {
                l.children_by_tag("device")
                    .map(|d| req_num_attr::<u16>(d, "id"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        out.push(UserDevices {
            user: jid.to_non_ad(),
            devices,
        });
    }
    Ok(out)
}

/// The device JIDs of `user` for the given device numbers.
pub fn device_jids(user: &Jid, devices: &[u16]) -> Vec<Jid> {
    devices
        .iter()
        .map(|&d| Jid::device(user.user.clone(), d, user.server.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    fn device_user(jid: &str, ids: &[u16]) -> Node {
        let list = ids.iter().map(|i| {
            let d = Node::new("device").attr("id", i.to_string());
            if *i == 0 { d } else { d.attr("key-index", "1") }
        });
        Node::new("user")
            .attr("jid", jid)
            .child(Node::new("devices").children([
                Node::new("device-list").children(list),
                Node::new("key-index-list").attr("ts", "1700000000"),
            ]))
    }

    #[test]
    fn query_shape() {
        let users = [
            Jid::device("15550001111", 3, "s.whatsapp.net"),
            Jid::new("15550002222", "s.whatsapp.net"),
        ];
        assert_eq!(
            wire(device_query("u1", &users)).to_string(),
            "<iq id=\"u1\" xmlns=\"usync\" type=\"get\" to=\"s.whatsapp.net\"><usync sid=\"u1\" mode=\"query\" last=\"true\" index=\"0\" context=\"message\"><query><devices version=\"2\"/></query><list><user jid=\"15550001111@s.whatsapp.net\"/><user jid=\"15550002222@s.whatsapp.net\"/></list></usync></iq>"
        );
    }

    #[test]
    fn simulator_answer() {
        let answer = wire(
            Node::new("iq")
                .attr("id", "u1")
                .attr("type", "result")
                .attr("from", Jid::server_jid())
                .child(
                    Node::new("usync").attr("sid", "u1").children([
                        Node::new("result").child(Node::new("devices")),
                        Node::new("list").children([
                            device_user("15550001111@s.whatsapp.net", &[1, 4]),
                            device_user("15550002222@s.whatsapp.net", &[]),
                            Node::new("user")
                                .attr("jid", "15550003333@s.whatsapp.net")
                                .child(
                                    Node::new("devices")
                                        .child(Node::new("error").attr("code", "404")),
                                ),
                            Node::new("user")
                                .attr("jid", "15550004444@s.whatsapp.net")
                                .child(Node::new("error").attr("code", "500")),
                        ]),
                    ]),
                ),
        );
        let got = parse_devices(&answer).unwrap();
        assert_eq!(
            got,
            vec![
                UserDevices {
                    user: Jid::new("15550001111", "s.whatsapp.net"),
                    devices: vec![1, 4],
                },
                UserDevices {
                    user: Jid::new("15550002222", "s.whatsapp.net"),
                    devices: vec![],
                },
            ]
        );
        assert_eq!(
            device_jids(&got[0].user, &got[0].devices),
            vec![
                Jid::device("15550001111", 1, "s.whatsapp.net"),
                Jid::device("15550001111", 4, "s.whatsapp.net"),
            ]
        );
        // The <usync> element alone parses the same.
        assert_eq!(
            parse_devices(answer.get_child("usync").unwrap()).unwrap(),
            got
        );
    }

    #[test]
    fn malformed_answers() {
        let wrap = |user: Node| Node::new("usync").child(Node::new("list").child(user));
        let bad_id =
            Node::new("user")
                .attr("jid", "1@s.whatsapp.net")
                .child(Node::new("devices").child(
                    Node::new("device-list").child(Node::new("device").attr("id", "70000")),
                ));
        assert_eq!(
            parse_devices(&wrap(bad_id)),
            Err(StanzaError::BadValue {
                field: "id",
                value: "70000".into()
            })
        );
        assert_eq!(
            parse_devices(&wrap(Node::new("user"))),
            Err(StanzaError::MissingAttr("jid"))
        );
        assert_eq!(
            parse_devices(&Node::new("iq").attr("type", "result")),
            Err(StanzaError::MissingChild("usync"))
        );
        assert_eq!(
            parse_devices(&Node::new("usync")),
            Err(StanzaError::MissingChild("list"))
        );
        let err = Node::new("iq").attr("type", "error").child(
            Node::new("error")
                .attr("code", "429")
                .attr("text", "rate-overlimit"),
        );
        assert_eq!(
            parse_devices(&err),
            Err(StanzaError::Server {
                code: "429".into(),
                text: Some("rate-overlimit".into())
            })
        );
    }

    #[test]
    fn contact_query_and_answer() {
        assert_eq!(
            wire(contact_query("c1", &["15550001111".into()])).to_string(),
            "<iq id=\"c1\" xmlns=\"usync\" type=\"get\" to=\"s.whatsapp.net\"><usync sid=\"c1\" mode=\"query\" last=\"true\" index=\"0\" context=\"interactive\"><query><contact/></query><list><user><contact>+15550001111</contact></user></list></usync></iq>"
        );
        let user = |jid: &str, phone: &str, ty: &str| {
            Node::new("user")
                .attr("jid", jid)
                .child(Node::new("contact").attr("type", ty).text(phone))
        };
        let answer = wire(Node::new("iq").attr("type", "result").child(
            Node::new("usync").children([
                Node::new("result").child(Node::new("contact")),
                Node::new("list").children([
                    user("15550001111@s.whatsapp.net", "+15550001111", "in"),
                    user("15550002222@s.whatsapp.net", "+1 555 000 2222", "out"),
                ]),
            ]),
        ));
        let statuses = parse_contacts(&answer).unwrap();
        assert_eq!(
            statuses
                .iter()
                .map(|c| (c.phone.as_str(), c.user.user.as_str(), c.registered))
                .collect::<Vec<_>>(),
            [
                ("15550001111", "15550001111", true),
                ("15550002222", "15550002222", false)
            ]
        );
        let no_contact = wire(
            Node::new("usync")
                .child(Node::new("list").child(Node::new("user").attr("jid", "1@s.whatsapp.net"))),
        );
        assert!(parse_contacts(&no_contact).is_err());
    }
}
