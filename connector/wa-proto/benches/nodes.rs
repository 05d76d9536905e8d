//! Node encode+decode throughput (filled in with the stanza corpus).
fn main() {}
