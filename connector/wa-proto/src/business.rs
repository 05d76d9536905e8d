//! Business profiles (`iq xmlns=w:biz`): what a WhatsApp Business account
//! publishes about itself (address, email, websites, categories, opening hours).

use crate::binary::{Jid, Node};
use crate::stanza::{StanzaError, check_iq, iq, opt_attr, req_child, req_jid_attr};

/// The profile layout version the query asks for (the one WhatsApp clients
/// send today).
pub const PROFILE_VERSION: &str = "244";

/// One category the business files itself under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// WhatsApp's category id.
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// Opening hours of one weekday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursConfig {
    /// `mon` … `sun`.
    pub day_of_week: String,
    /// `specific_hours`, `open_24h` or `appointment_only`.
    pub mode: String,
    /// Opening time in minutes after midnight, when `specific_hours`.
    pub open_time: String,
    /// Closing time in minutes after midnight, when `specific_hours`.
    pub close_time: String,
}

/// A business account's published profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BusinessProfile {
    /// The account.
    pub jid: Option<Jid>,
    /// Street address.
    pub address: String,
    /// Contact email.
    pub email: String,
    /// What the business says about itself.
    pub description: String,
    /// Its websites.
    pub websites: Vec<String>,
    /// Its categories.
    pub categories: Vec<Category>,
    /// Other published options (`<profile_options>` children: name → text).
    pub profile_options: Vec<(String, String)>,
    /// The time zone the opening hours are in.
    pub hours_time_zone: String,
    /// Opening hours, one entry per configured weekday.
    pub hours: Vec<HoursConfig>,
}

/// `<iq xmlns=w:biz type=get to=s.whatsapp.net><business_profile v=244><profile
/// jid/></business_profile></iq>`. Answer: [`parse_business_profile`].
pub fn query_business_profile(iq_id: &str, user: &Jid) -> Node {
    iq(
        iq_id,
        "w:biz",
        "get",
        Jid::server(crate::binary::jid::USER_SERVER),
    )
    .child(
        Node::new("business_profile")
            .attr("v", PROFILE_VERSION)
            .child(Node::new("profile").attr("jid", user.to_non_ad())),
    )
}

/// The text content of `node`'s `tag` child ("" when absent).
fn child_text(node: &Node, tag: &str) -> String {
    node.get_child(tag)
        .and_then(Node::content_bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn text(node: &Node) -> String {
    node.content_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// Reads the answer to [`query_business_profile`]; `None` when the account is
/// not a business (the answer has no `<profile>`).
pub fn parse_business_profile(result: &Node) -> Result<Option<BusinessProfile>, StanzaError> {
    check_iq(result)?;
    let Some(profile) = req_child(result, "business_profile")?.get_child("profile") else {
        return Ok(None);
    };
    let hours = profile.get_child("business_hours");
    Ok(Some(BusinessProfile {
        jid: Some(req_jid_attr(profile, "jid")?),
        address: child_text(profile, "address"),
        email: child_text(profile, "email"),
        description: child_text(profile, "description"),
        websites: profile.children_by_tag("website").map(text).collect(),
        categories: profile
            .get_child("categories")
            .map(|c| {
                c.children_by_tag("category")
                    .map(|c| Category {
                        id: opt_attr(c, "id").unwrap_or_default(),
                        name: text(c),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        profile_options: profile
            .get_child("profile_options")
            .map(|o| {
                o.child_nodes()
                    .iter()
                    .map(|n| (n.tag.clone(), text(n)))
                    .collect()
            })
            .unwrap_or_default(),
        hours_time_zone: hours
            .and_then(|h| opt_attr(h, "timezone"))
            .unwrap_or_default(),
        hours: hours
            .map(|h| {
                h.children_by_tag("business_hours_config")
                    .map(|c| HoursConfig {
                        day_of_week: opt_attr(c, "day_of_week").unwrap_or_default(),
                        mode: opt_attr(c, "mode").unwrap_or_default(),
                        open_time: opt_attr(c, "open_time").unwrap_or_default(),
                        close_time: opt_attr(c, "close_time").unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// The `<business_profile>` element a server answers with: `profile`'s
/// fields, or none for an account that is not a business. The counterpart of
/// [`parse_business_profile`], for servers (the simulator).
pub fn business_profile_node(user: &Jid, profile: Option<&BusinessProfile>) -> Node {
    let node = Node::new("business_profile").attr("v", PROFILE_VERSION);
    let Some(p) = profile else {
        return node;
    };
    let texts = |tag: &str, value: &str| {
        (!value.is_empty()).then(|| Node::new(tag.to_owned()).text(value.to_owned()))
    };
    let mut children: Vec<Node> = Vec::new();
    children.extend(texts("address", &p.address));
    children.extend(texts("email", &p.email));
    children.extend(texts("description", &p.description));
    children.extend(
        p.websites
            .iter()
            .map(|w| Node::new("website").text(w.clone())),
    );
    children.push(
        Node::new("categories").children(p.categories.iter().map(|c| {
            Node::new("category")
                .attr("id", c.id.clone())
                .text(c.name.clone())
        })),
    );
    if !p.profile_options.is_empty() {
        children.push(
            Node::new("profile_options").children(
                p.profile_options
                    .iter()
                    .map(|(k, v)| Node::new(k.clone()).text(v.clone())),
            ),
        );
    }
    if !p.hours.is_empty() || !p.hours_time_zone.is_empty() {
        children.push(
            Node::new("business_hours")
                .attr("timezone", p.hours_time_zone.clone())
                .children(p.hours.iter().map(|h| {
                    Node::new("business_hours_config")
                        .attr("day_of_week", h.day_of_week.clone())
                        .attr("mode", h.mode.clone())
                        .attr("open_time", h.open_time.clone())
                        .attr("close_time", h.close_time.clone())
                })),
        );
    }
    node.child(
        Node::new("profile")
            .attr("jid", user.to_non_ad())
            .children(children),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }
    fn user(n: &str) -> Jid {
        Jid::new(n, "s.whatsapp.net")
    }
    fn answer(child: Node) -> Node {
        Node::new("iq")
            .attr("id", "b1")
            .attr("type", "result")
            .attr("from", Jid::server("s.whatsapp.net"))
            .child(child)
    }
    fn shop() -> BusinessProfile {
        BusinessProfile {
            jid: Some(user("1555111")),
            address: "1 Main St, Springfield".into(),
            email: "hello@shop.example".into(),
            description: "Fresh bread <daily> & more".into(),
            websites: vec!["https://shop.example".into(), "https://b.example/x".into()],
            categories: vec![Category {
                id: "133436743388217".into(),
                name: "Bakery".into(),
            }],
            profile_options: vec![("commerce_experience".into(), "catalog".into())],
            hours_time_zone: "Europe/Berlin".into(),
            hours: vec![
                HoursConfig {
                    day_of_week: "mon".into(),
                    mode: "specific_hours".into(),
                    open_time: "480".into(),
                    close_time: "1080".into(),
                },
                HoursConfig {
                    day_of_week: "sat".into(),
                    mode: "open_24h".into(),
                    open_time: String::new(),
                    close_time: String::new(),
                },
            ],
        }
    }

    #[test]
    fn query_shape() {
        assert_eq!(
            wire(query_business_profile(
                "b1",
                &Jid::device("1555111", 3, "s.whatsapp.net")
            ))
            .to_string(),
            "<iq id=\"b1\" xmlns=\"w:biz\" type=\"get\" to=\"s.whatsapp.net\"><business_profile v=\"244\"><profile jid=\"1555111@s.whatsapp.net\"/></business_profile></iq>"
        );
    }

    #[test]
    fn profile_round_trips_through_the_server_element() {
        let shop = shop();
        let node = wire(answer(business_profile_node(&user("1555111"), Some(&shop))));
        assert_eq!(parse_business_profile(&node).unwrap(), Some(shop));
        let plain = wire(answer(business_profile_node(&user("1555222"), None)));
        assert_eq!(parse_business_profile(&plain).unwrap(), None);
    }

    #[test]
    fn sparse_and_malformed_answers() {
        // A profile with nothing but its jid: every field empty.
        let bare = wire(answer(
            Node::new("business_profile").child(Node::new("profile").attr("jid", user("1555111"))),
        ));
        assert_eq!(
            parse_business_profile(&bare).unwrap(),
            Some(BusinessProfile {
                jid: Some(user("1555111")),
                ..BusinessProfile::default()
            })
        );
        let no_jid = wire(answer(
            Node::new("business_profile").child(Node::new("profile")),
        ));
        assert!(parse_business_profile(&no_jid).is_err());
        let other = wire(answer(Node::new("something_else")));
        assert!(parse_business_profile(&other).is_err());
        let refused = wire(
            Node::new("iq")
                .attr("type", "error")
                .child(Node::new("error").attr("code", "404")),
        );
        assert!(parse_business_profile(&refused).is_err());
    }
}
