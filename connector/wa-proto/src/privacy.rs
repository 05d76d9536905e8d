//! Privacy settings (`iq xmlns=privacy`): who sees the account's last seen,
//! profile picture, status and read receipts, and who may add it to groups.

use crate::binary::{Jid, Node};
use crate::stanza::{StanzaError, check_iq, req_attr};

/// `<iq xmlns=privacy type=get to=s.whatsapp.net><privacy/></iq>`: the
/// account's settings. Answer: [`parse_settings`].
pub fn get_settings(iq_id: &str) -> Node {
    crate::stanza::iq(iq_id, "privacy", "get", Jid::server_jid()).child(Node::new("privacy"))
}

/// Reads `<privacy><category name value/>…</privacy>` as `(name, value)`
/// pairs in the server's order (`last` → `contacts`, `readreceipts` → `all`, …).
pub fn parse_settings(result: &Node) -> Result<Vec<(String, String)>, StanzaError> {
    check_iq(result)?;
    let privacy = result
        .get_child("privacy")
        .ok_or(StanzaError::MissingChild("privacy"))?;
    privacy
        .children_by_tag("category")
        .map(|c| Ok((req_attr(c, "name")?, req_attr(c, "value")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{marshal, unmarshal};

    fn wire(n: Node) -> Node {
        unmarshal(&marshal(&n).expect("encode")).expect("decode")
    }

    #[test]
    fn query_and_answer() {
        assert_eq!(
            wire(get_settings("v1")).to_string(),
            "<iq id=\"v1\" xmlns=\"privacy\" type=\"get\" to=\"s.whatsapp.net\"><privacy/></iq>"
        );
        let answer = wire(
            Node::new("iq").attr("type", "result").child(
                Node::new("privacy").children([
                    Node::new("category")
                        .attr("name", "last")
                        .attr("value", "contacts"),
                    Node::new("category")
                        .attr("name", "readreceipts")
                        .attr("value", "all"),
                ]),
            ),
        );
        assert_eq!(
            parse_settings(&answer).unwrap(),
            [
                ("last".to_owned(), "contacts".to_owned()),
                ("readreceipts".to_owned(), "all".to_owned())
            ]
        );
        let broken = wire(
            Node::new("iq")
                .attr("type", "result")
                .child(Node::new("privacy").child(Node::new("category").attr("name", "last"))),
        );
        assert!(parse_settings(&broken).is_err());
    }
}
