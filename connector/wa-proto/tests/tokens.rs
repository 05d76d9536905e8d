//! The token dictionaries kept as data in the crate equal the oracle's.

mod common;

#[test]
fn dictionaries_match_the_oracle() {
    let v = common::vectors("tokens.json");
    let (single, double) = wa_proto::binary::token::dictionaries();
    let want: Vec<&str> = v["single"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(single, &want[..]);
    let dicts = v["double"].as_array().unwrap();
    assert_eq!(double.len(), dicts.len());
    for (ours, theirs) in double.iter().zip(dicts) {
        let theirs: Vec<&str> = theirs
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(*ours, &theirs[..]);
    }
}
