//! A forgiving scanner of an HTML page's head.
//!
//! It walks the tags from the start of the page until `</head>` or `<body>`
//! (or the end of what was read) and keeps what a preview needs: `<meta>`
//! tags keyed by `property` or `name`, the first `<title>`, the first
//! `<base href>` and the declared charset. Comments, `<script>`, `<style>`
//! and the like are skipped whole, so a tag quoted inside them is not taken
//! for the page's. Attribute names are case-insensitive; values may be
//! double-quoted, single-quoted or bare, in any order. Values are kept as raw
//! bytes: the charset that decodes them may only be known at the end.

/// What the head declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// The first `<title>`'s raw text.
    pub title: Option<Vec<u8>>,
    /// The first `<base href>`.
    pub base: Option<Vec<u8>>,
    /// The charset a `<meta charset>` or `<meta http-equiv=content-type>` names.
    pub charset: Option<String>,
    /// `<meta>` tags in page order: the lower-cased `property` (or `name`) and
    /// the raw `content`.
    pub metas: Vec<(String, Vec<u8>)>,
}

impl Head {
    /// The first `content` of the meta tag keyed `key` (lower case).
    pub fn meta(&self, key: &str) -> Option<&[u8]> {
        self.metas
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// Elements whose content is text, never tags: skipped to their end tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "template", "xmp", "iframe", "noembed", "noframes",
];

/// Scans `html` (ASCII-compatible bytes) up to the end of its head.
pub fn scan(html: &[u8]) -> Head {
    let mut head = Head::default();
    let mut at = 0;
    while let Some(offset) = memchr(b'<', &html[at..]) {
        at += offset;
        let rest = &html[at..];
        if rest.starts_with(b"<!--") {
            at = skip_past(html, at + 4, b"-->");
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            at = skip_past(html, at + 2, b">");
        } else if rest.starts_with(b"</") {
            let (name, end) = tag_name(html, at + 2);
            if name == "head" {
                break;
            }
            at = skip_past(html, end, b">");
        } else if rest.get(1).is_some_and(u8::is_ascii_alphabetic) {
            let (name, end) = tag_name(html, at + 1);
            let (attributes, end) = attributes(html, end);
            at = end;
            match name.as_str() {
                "body" => break,
                "meta" => head.add_meta(&attributes),
                "base" if head.base.is_none() => {
                    head.base = attribute(&attributes, "href").map(<[u8]>::to_vec);
                }
                "title" => {
                    let (text, end) = raw_text(html, at, "title");
                    head.title.get_or_insert_with(|| text.to_vec());
                    at = end;
                }
                raw if RAW_TEXT.contains(&raw) => at = raw_text(html, at, raw).1,
                _ => {}
            }
        } else {
            at += 1;
        }
    }
    head
}

impl Head {
    fn add_meta(&mut self, attributes: &[(String, &[u8])]) {
        if let Some(charset) = attribute(attributes, "charset") {
            self.charset
                .get_or_insert_with(|| String::from_utf8_lossy(charset).trim().to_owned());
        }
        let content = attribute(attributes, "content");
        let equiv = attribute(attributes, "http-equiv");
        if let (Some(equiv), Some(content)) = (equiv, content)
            && equiv.trim_ascii().eq_ignore_ascii_case(b"content-type")
            && let Some(charset) = crate::charset::label_in_content_type(content)
        {
            self.charset.get_or_insert(charset);
        }
        let key = attribute(attributes, "property").or_else(|| attribute(attributes, "name"));
        if let (Some(key), Some(content)) = (key, content) {
            let key = String::from_utf8_lossy(key.trim_ascii()).to_ascii_lowercase();
            self.metas.push((key, content.to_vec()));
        }
    }
}

/// The first value of attribute `name` (lower case).
fn attribute<'a>(attributes: &[(String, &'a [u8])], name: &str) -> Option<&'a [u8]> {
    attributes.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The index just past the first `needle` at or after `from` (the end when
/// there is none).
fn skip_past(html: &[u8], from: usize, needle: &[u8]) -> usize {
    let from = from.min(html.len());
    find(&html[from..], needle).map_or(html.len(), |i| from + i + needle.len())
}

/// The lower-cased tag name starting at `from`, and where it ends.
fn tag_name(html: &[u8], from: usize) -> (String, usize) {
    let end = html[from..]
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
        .map_or(html.len(), |i| from + i);
    (
        String::from_utf8_lossy(&html[from..end]).to_ascii_lowercase(),
        end,
    )
}

/// The attributes from `from` to the tag's `>`, and the index past it.
fn attributes(html: &[u8], mut at: usize) -> (Vec<(String, &[u8])>, usize) {
    let mut found = Vec::new();
    loop {
        while at < html.len() && (html[at].is_ascii_whitespace() || html[at] == b'/') {
            at += 1;
        }
        if at >= html.len() {
            return (found, at);
        }
        if html[at] == b'>' {
            return (found, at + 1);
        }
        let name_start = at;
        while at < html.len() && !matches!(html[at], b'=' | b'>' | b'/') {
            if html[at].is_ascii_whitespace() {
                break;
            }
            at += 1;
        }
        // A name is at least one byte, even a stray `=`.
        if at == name_start {
            at += 1;
        }
        let name = String::from_utf8_lossy(&html[name_start..at]).to_ascii_lowercase();
        let mut after = at;
        while after < html.len() && html[after].is_ascii_whitespace() {
            after += 1;
        }
        let value: &[u8] = if html.get(after) == Some(&b'=') && after > name_start {
            at = after + 1;
            while at < html.len() && html[at].is_ascii_whitespace() {
                at += 1;
            }
            match html.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let start = at + 1;
                    let end = memchr(quote, &html[start..]).map_or(html.len(), |i| start + i);
                    at = (end + 1).min(html.len());
                    &html[start..end]
                }
                _ => {
                    let start = at;
                    while at < html.len() && !html[at].is_ascii_whitespace() && html[at] != b'>' {
                        at += 1;
                    }
                    &html[start..at]
                }
            }
        } else {
            b""
        };
        found.push((name, value));
    }
}

/// The text of raw-text element `name` from `from` to its end tag (matched
/// case-insensitively), and the index past that end tag.
fn raw_text<'a>(html: &'a [u8], from: usize, name: &str) -> (&'a [u8], usize) {
    let close = format!("</{name}");
    let mut at = from;
    while let Some(i) = memchr(b'<', &html[at..]) {
        let start = at + i;
        let candidate = &html[start..];
        let boundary = candidate
            .get(close.len())
            .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/');
        if candidate.len() >= close.len()
            && candidate[..close.len()].eq_ignore_ascii_case(close.as_bytes())
            && boundary
        {
            return (&html[from..start], skip_past(html, start, b">"));
        }
        at = start + 1;
    }
    (&html[from..], html.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metas_title_base_and_charset() {
        let head = scan(
            br#"<!DOCTYPE html><html lang=en><head>
            <meta charset=utf-8>
            <base href="/root/">
            <title>T &amp; U</title>
            <meta property="OG:Title" content="a">
            <meta name="description" content="b" >
            <meta property="og:title" content="second">
            </head><meta property="late" content="no">"#,
        );
        assert_eq!(head.charset.as_deref(), Some("utf-8"));
        assert_eq!(head.base.as_deref(), Some(&b"/root/"[..]));
        assert_eq!(head.title.as_deref(), Some(&b"T &amp; U"[..]));
        assert_eq!(head.meta("og:title"), Some(&b"a"[..]));
        assert_eq!(head.meta("description"), Some(&b"b"[..]));
        assert_eq!(head.meta("late"), None);
    }

    #[test]
    fn quoted_values_may_hold_angle_brackets_and_spaces() {
        let head = scan(br#"<meta content="a > b" name = "x"><meta name='y' content='it "is"'/>"#);
        assert_eq!(head.meta("x"), Some(&b"a > b"[..]));
        assert_eq!(head.meta("y"), Some(&b"it \"is\""[..]));
    }

    #[test]
    fn raw_text_ends_only_at_its_own_end_tag() {
        let head = scan(
            b"<script>if (a</scripts) {}</SCRIPT ><title>x</title \
              ><textarea><meta name=z content=no></textarea>",
        );
        assert_eq!(head.title.as_deref(), Some(&b"x"[..]));
        assert_eq!(head.meta("z"), None);
    }

    #[test]
    fn truncated_and_broken_input_does_not_panic() {
        for input in [
            &b"<"[..],
            b"<meta",
            b"<meta name=",
            b"<meta name=\"x",
            b"<title>never closed",
            b"<!-- open comment",
            b"<script>",
            b"< not a tag <= also not",
            b"<meta ==== content=\"v\" name=k>",
        ] {
            let _ = scan(input);
        }
        let head = scan(b"<meta name=k content=\"v\"");
        assert_eq!(head.meta("k"), Some(&b"v"[..]));
    }
}
