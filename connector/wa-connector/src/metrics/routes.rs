//! Route labels for request metrics: the path's pattern, never the raw path.
//!
//! The connector does not see the REST component's route table, so it
//! normalises paths itself, by rules that reproduce the table's patterns
//! (`/devices/{id}/status`, `/chat/{jid}/messages`, …) for every real route:
//!
//! 1. the segment after `devices`, `message` and `deliveries` is `{id}`, the
//!    one after `chat` is `{jid}` (the API's path parameters);
//! 2. any other segment that looks like a value rather than a word — it
//!    starts with a digit, has more than four digits or more than 32
//!    characters, or holds anything but `a-z 0-9 . _ -` (an `@`, `:`, `%`,
//!    capitals) — is `{id}`;
//! 3. a path deeper than [`MAX_SEGMENTS`] is `{other}`.
//!
//! Rules alone cannot bound what clients make up (`/wp-admin`, `/.env`): the
//! table keeps the first [`MAX_ROUTES`] distinct patterns and labels any
//! later one `{other}`, so the label set stays bounded whatever is requested.

use std::collections::HashSet;
use std::sync::Mutex;

/// Distinct route labels kept; the API has about seventy routes.
pub const MAX_ROUTES: usize = 200;

/// Deepest path given a pattern of its own (the API's deepest has four).
pub const MAX_SEGMENTS: usize = 6;

/// The label of every path past the limits.
pub const OTHER: &str = "{other}";

/// Segments whose next segment is a path parameter, and its name.
const PARAMETER_AFTER: [(&str, &str); 4] = [
    ("devices", "{id}"),
    ("message", "{id}"),
    ("deliveries", "{id}"),
    ("chat", "{jid}"),
];

/// The patterns seen so far (see the module docs).
#[derive(Debug, Default)]
pub struct RouteTable {
    seen: Mutex<HashSet<String>>,
}

impl RouteTable {
    /// `path`'s pattern, or [`OTHER`] once [`MAX_ROUTES`] patterns are known
    /// and this is a new one.
    pub fn label(&self, path: &str) -> String {
        let pattern = normalise(path);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&pattern) {
            return pattern;
        }
        if seen.len() >= MAX_ROUTES {
            return OTHER.to_owned();
        }
        seen.insert(pattern.clone());
        pattern
    }
}

/// `path`'s pattern by the rules of the module docs.
pub fn normalise(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_owned();
    }
    let segments: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    if segments.len() > MAX_SEGMENTS {
        return OTHER.to_owned();
    }
    let mut pattern = String::with_capacity(path.len());
    let mut previous = "";
    for segment in segments {
        pattern.push('/');
        let parameter = PARAMETER_AFTER
            .iter()
            .find(|(after, _)| *after == previous)
            .map(|(_, name)| *name);
        match parameter {
            Some(name) => pattern.push_str(name),
            None if looks_like_value(segment) => pattern.push_str("{id}"),
            None => pattern.push_str(segment),
        }
        previous = segment;
    }
    pattern
}

/// Whether a segment is a value (an id, a number, a JID) rather than a word.
fn looks_like_value(segment: &str) -> bool {
    segment.is_empty()
        || segment.len() > 32
        || segment.starts_with(|c: char| c.is_ascii_digit())
        || segment.chars().filter(char::is_ascii_digit).count() > 4
        || !segment
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_become_their_route_patterns() {
        for (path, pattern) in [
            ("/", "/"),
            ("/app/info", "/app/info"),
            ("/app/login/qr.png", "/app/login/qr.png"),
            ("/app/login-with-code", "/app/login-with-code"),
            ("/devices", "/devices"),
            ("/devices/", "/devices"),
            ("/devices/ann", "/devices/{id}"),
            ("/devices/ann/status", "/devices/{id}/status"),
            ("/devices/main/login/code", "/devices/{id}/login/code"),
            ("/message/3EB0C431C26A1916E07A/read", "/message/{id}/read"),
            (
                "/chat/15550001111@s.whatsapp.net/messages",
                "/chat/{jid}/messages",
            ),
            (
                "/chat/120363000000000001%40g.us/disappearing",
                "/chat/{jid}/disappearing",
            ),
            (
                "/webhook/deliveries/0f3a-77/replay",
                "/webhook/deliveries/{id}/replay",
            ),
            ("/webhook/deliveries", "/webhook/deliveries"),
            ("/user/my/groups", "/user/my/groups"),
            ("/openapi.json", "/openapi.json"),
            (
                "/internal/v1/messaging/send-text",
                "/internal/v1/messaging/send-text",
            ),
            ("/metrics", "/metrics"),
        ] {
            assert_eq!(normalise(path), pattern, "{path}");
        }
    }

    #[test]
    fn values_anywhere_are_collapsed() {
        assert_eq!(normalise("/files/15550001111"), "/files/{id}");
        assert_eq!(normalise("/x/AbC/y"), "/x/{id}/y");
        assert_eq!(normalise("/a//b"), "/a/{id}/b");
        assert_eq!(normalise(&format!("/{}", "a".repeat(40))), "/{id}");
        assert_eq!(normalise("/a/b/c/d/e/f/g"), OTHER);
    }

    #[test]
    fn the_table_is_bounded() {
        let table = RouteTable::default();
        for n in 0..MAX_ROUTES {
            let word: String = format!("{n:03}")
                .chars()
                .map(|d| char::from(b'a' + d.to_digit(10).unwrap() as u8))
                .collect();
            assert_eq!(
                table.label(&format!("/made-up/{word}")),
                format!("/made-up/{word}")
            );
        }
        assert_eq!(table.label("/one-more"), OTHER);
        // Known patterns keep their label.
        assert_eq!(table.label("/made-up/aaa"), "/made-up/aaa");
    }
}
