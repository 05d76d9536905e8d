//! Newsletters over `w:mex`: the followed list and unfollowing, asked with the
//! protocol crate's own stanzas and read with its parsers.

use wa_proto::binary::Jid;
use wa_proto::newsletter::{self, Newsletter, NewsletterText};
use wa_proto::stanza::StanzaError;

use crate::flows::online;
use crate::sim;

fn channel(id: &str, name: &str, subscribers: u64) -> Newsletter {
    Newsletter {
        id: id.parse().unwrap(),
        state: "active".into(),
        name: NewsletterText {
            text: name.into(),
            id: "1".into(),
            update_time_us: 1_700_000_000_000_000,
        },
        description: NewsletterText::default(),
        invite: format!("invite-{name}"),
        subscribers,
        verification: "unverified".into(),
        creation_time: 1_700_000_000,
        picture: None,
        preview: None,
        reaction_codes: Some("ALL".into()),
        viewer: None,
    }
}

#[tokio::test]
async fn followed_newsletters_and_unfollow() {
    let sim = sim().await;
    let (mut a, _, _) = online(&sim, "15556670001").await;
    let news: Jid = "120363000000000777@newsletter".parse().unwrap();
    let sport: Jid = "120363000000000778@newsletter".parse().unwrap();
    sim.create_newsletter(channel(&news.to_string(), "News", 10));
    sim.create_newsletter(channel(&sport.to_string(), "Sport", 0));
    assert!(sim.follow_newsletter("15556670001", &news));
    assert!(sim.follow_newsletter("15556670001", &sport));
    assert!(!sim.follow_newsletter("15556670001", &"1@newsletter".parse::<Jid>().unwrap()));

    let list =
        newsletter::parse_subscribed(&a.iq(newsletter::query_subscribed("n-1")).await).unwrap();
    let names: Vec<_> = list.iter().map(|n| n.name.text.as_str()).collect();
    assert_eq!(names, ["News", "Sport"]);
    assert_eq!(list[0].subscribers, 11);
    assert_eq!(list[0].viewer.as_ref().unwrap().role, "subscriber");
    assert_eq!(list[1].reaction_codes.as_deref(), Some("ALL"));

    newsletter::parse_unfollow(&a.iq(newsletter::unfollow("n-2", &news)).await).unwrap();
    assert_eq!(
        sim.followed_newsletters("15556670001"),
        vec![sport.to_string()]
    );
    // Unfollowing again changes nothing; a channel that does not exist is a 404.
    newsletter::parse_unfollow(&a.iq(newsletter::unfollow("n-3", &news)).await).unwrap();
    let missing: Jid = "120363000000000999@newsletter".parse().unwrap();
    assert!(matches!(
        newsletter::parse_unfollow(&a.iq(newsletter::unfollow("n-4", &missing)).await),
        Err(StanzaError::Server { code, .. }) if code == "404"
    ));
    let list =
        newsletter::parse_subscribed(&a.iq(newsletter::query_subscribed("n-5")).await).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, sport);
}
