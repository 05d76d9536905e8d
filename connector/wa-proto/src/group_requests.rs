//! Membership requests of groups that need an admin's approval to join
//! (`iq xmlns=w:g2`): who asked, and approving or rejecting them.
//!
//! Joining such a group by invite link does not make a member: the server
//! answers `<membership_approval_request jid/>` instead of `<group jid/>` (see
//! [`crate::groups::parse_joined`]) and keeps the request until an admin acts.

use crate::binary::{Jid, Node};
use crate::stanza::{StanzaError, check_iq, iq, opt_attr, opt_num_attr, req_child, req_jid_attr};

/// One pending request to join a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRequest {
    /// Who asked (a user JID).
    pub jid: Jid,
    /// When (`request_time`, Unix seconds), when the server says.
    pub requested_at: Option<u64>,
}

/// What an admin does with requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// Make the requesters members.
    Approve,
    /// Drop the requests.
    Reject,
}

impl RequestAction {
    /// The element name of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// `<iq xmlns=w:g2 type=get to=group><membership_approval_requests/></iq>`: the
/// pending requests (admins only). Answer: [`parse_membership_requests`].
pub fn membership_requests(iq_id: &str, group: &Jid) -> Node {
    iq(iq_id, "w:g2", "get", group.clone()).child(Node::new("membership_approval_requests"))
}

/// Reads `<membership_approval_requests><membership_approval_request jid
/// request_time/>…` from the answer to [`membership_requests`].
pub fn parse_membership_requests(result: &Node) -> Result<Vec<MembershipRequest>, StanzaError> {
    check_iq(result)?;
    req_child(result, "membership_approval_requests")?
        .children_by_tag("membership_approval_request")
        .map(|r| {
            Ok(MembershipRequest {
                jid: req_jid_attr(r, "jid")?,
                requested_at: opt_num_attr(r, "request_time")?,
            })
        })
        .collect()
}

/// `<iq xmlns=w:g2 type=set to=group><membership_requests_action><approve|reject>
/// <participant jid/>…`: acts on requests (admins only). Answer:
/// [`parse_request_results`].
pub fn act_on_requests(
    iq_id: &str,
    group: &Jid,
    action: RequestAction,
    participants: &[Jid],
) -> Node {
    iq(iq_id, "w:g2", "set", group.clone()).child(
        Node::new("membership_requests_action").child(
            Node::new(action.as_str()).children(
                participants
                    .iter()
                    .map(|p| Node::new("participant").attr("jid", p.to_non_ad())),
            ),
        ),
    )
}

/// Reads the answer to [`act_on_requests`]: each participant, with the error
/// code where the server refused (e.g. no request from them).
pub fn parse_request_results(
    result: &Node,
    action: RequestAction,
) -> Result<Vec<(Jid, Option<String>)>, StanzaError> {
    check_iq(result)?;
    let done = req_child(result, "membership_requests_action")?;
    let done = done
        .get_child(action.as_str())
        .ok_or(StanzaError::MissingChild("approve|reject"))?;
    done.children_by_tag("participant")
        .map(|p| Ok((req_jid_attr(p, "jid")?, opt_attr(p, "error"))))
        .collect()
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
    fn group() -> Jid {
        Jid::new("120363000000000001", "g.us")
    }
    fn result(child: Node) -> Node {
        Node::new("iq")
            .attr("id", "r1")
            .attr("type", "result")
            .attr("from", group())
            .child(child)
    }

    #[test]
    fn request_shapes() {
        assert_eq!(
            wire(membership_requests("r1", &group())).to_string(),
            "<iq id=\"r1\" xmlns=\"w:g2\" type=\"get\" to=\"120363000000000001@g.us\"><membership_approval_requests/></iq>"
        );
        assert_eq!(
            wire(act_on_requests(
                "r2",
                &group(),
                RequestAction::Approve,
                &[Jid::device("1555222", 4, "s.whatsapp.net"), user("1555333")]
            ))
            .to_string(),
            "<iq id=\"r2\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><membership_requests_action><approve><participant jid=\"1555222@s.whatsapp.net\"/><participant jid=\"1555333@s.whatsapp.net\"/></approve></membership_requests_action></iq>"
        );
        assert_eq!(
            wire(act_on_requests(
                "r3",
                &group(),
                RequestAction::Reject,
                &[user("1555222")]
            ))
            .to_string(),
            "<iq id=\"r3\" xmlns=\"w:g2\" type=\"set\" to=\"120363000000000001@g.us\"><membership_requests_action><reject><participant jid=\"1555222@s.whatsapp.net\"/></reject></membership_requests_action></iq>"
        );
    }

    #[test]
    fn answers() {
        let listed = wire(result(
            Node::new("membership_approval_requests").children([
                Node::new("membership_approval_request")
                    .attr("jid", user("1555222"))
                    .attr("request_time", "1700000100"),
                Node::new("membership_approval_request").attr("jid", user("1555333")),
            ]),
        ));
        assert_eq!(
            parse_membership_requests(&listed).unwrap(),
            [
                MembershipRequest {
                    jid: user("1555222"),
                    requested_at: Some(1_700_000_100),
                },
                MembershipRequest {
                    jid: user("1555333"),
                    requested_at: None,
                },
            ]
        );
        let none = wire(result(Node::new("membership_approval_requests")));
        assert_eq!(parse_membership_requests(&none).unwrap(), []);

        let acted = wire(result(
            Node::new("membership_requests_action").child(
                Node::new("reject").children([
                    Node::new("participant").attr("jid", user("1555222")),
                    Node::new("participant")
                        .attr("jid", user("1555444"))
                        .attr("error", "404"),
                ]),
            ),
        ));
        assert_eq!(
            parse_request_results(&acted, RequestAction::Reject).unwrap(),
            [
                (user("1555222"), None),
                (user("1555444"), Some("404".into()))
            ]
        );
        // The answer must be for the action asked.
        assert!(parse_request_results(&acted, RequestAction::Approve).is_err());
    }

    #[test]
    fn malformed_answers() {
        let empty = wire(result(Node::new("something_else")));
        assert!(parse_membership_requests(&empty).is_err());
        assert!(parse_request_results(&empty, RequestAction::Approve).is_err());
        let bad_time = wire(result(
            Node::new("membership_approval_requests").child(
                Node::new("membership_approval_request")
                    .attr("jid", user("1555222"))
                    .attr("request_time", "soon"),
            ),
        ));
        assert!(parse_membership_requests(&bad_time).is_err());
        let no_jid = wire(result(
            Node::new("membership_approval_requests")
                .child(Node::new("membership_approval_request")),
        ));
        assert!(parse_membership_requests(&no_jid).is_err());
        let refused = wire(
            Node::new("iq")
                .attr("id", "r1")
                .attr("type", "error")
                .child(
                    Node::new("error")
                        .attr("code", "403")
                        .attr("text", "forbidden"),
                ),
        );
        assert!(parse_membership_requests(&refused).is_err());
    }
}
