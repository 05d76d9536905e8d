//! What a web page says about itself, for the preview card WhatsApp shows
//! under a link: its title, description, picture and canonical address.
//!
//! Pages describe themselves in their `<head>`: Open Graph `<meta property>`
//! tags first (`og:title`, `og:description`, `og:image`, `og:url`), Twitter's
//! cards next, then the plain `<title>` and `<meta name=description>`. This
//! crate reads them from the first bytes of a page ([`summarize`]) without a
//! full HTML parser: a forgiving scanner ([`scan`]) walks the tags up to the
//! body, the page's charset ([`charset`]) decodes what it found, character
//! references are expanded ([`entities`]) and relative addresses are resolved
//! against the page ([`url`]).
//!
//! It does no I/O: the REST component fetches the page (with its address
//! guard, size cap and timeout) and hands the bytes here, so everything in
//! this crate is tested natively.

pub mod charset;
pub mod entities;
pub mod scan;
pub mod url;

/// The longest title kept, in characters (longer ones end with `…`).
pub const MAX_TITLE_CHARS: usize = 300;
/// The longest description kept, in characters (longer ones end with `…`).
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// What a page says about itself; every part may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageSummary {
    /// The page's title: `og:title`, else `twitter:title`, else `<title>`.
    pub title: Option<String>,
    /// Its summary: `og:description`, else `twitter:description`, else
    /// `<meta name=description>`.
    pub description: Option<String>,
    /// The absolute http(s) address of its picture: `og:image` (or its
    /// `:url`/`:secure_url` forms), else `twitter:image`.
    pub image: Option<String>,
    /// Its canonical absolute address (`og:url`).
    pub url: Option<String>,
}

impl PageSummary {
    /// Whether the page said nothing a card could show.
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.image.is_none()
    }
}

/// Whether a `Content-Type` names an HTML page (`text/html`,
/// `application/xhtml+xml`), whatever its parameters.
pub fn is_html(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "text/html" || essence == "application/xhtml+xml"
}

/// Reads what the page at `page_url` says about itself from `html`, the
/// start of its body as served with `content_type` (whose `charset` wins
/// over the page's own `<meta charset>`).
pub fn summarize(html: &[u8], content_type: Option<&str>, page_url: &str) -> PageSummary {
    let decoded_whole;
    let (bytes, bom) = match charset::utf16_bom(html) {
        // The tag scanner reads ASCII-compatible bytes: a UTF-16 page is
        // decoded first, then scanned as UTF-8.
        Some(encoding) => {
            decoded_whole = encoding.decode_with_bom_removal(html).0.into_owned();
            (decoded_whole.as_bytes(), Some(encoding_rs::UTF_8))
        }
        None => (html, charset::utf8_bom(html)),
    };
    let head = scan::scan(bytes);
    let encoding = charset::choose(
        bom,
        content_type.and_then(charset::from_content_type),
        head.charset.as_deref().and_then(charset::from_label),
        bytes,
    );
    let text = |raw: &[u8], max: usize| {
        let decoded = encoding.decode_without_bom_handling(raw).0;
        tidy(&entities::decode(&decoded), max)
    };
    let first_text = |keys: &[&str], max: usize| {
        keys.iter()
            .filter_map(|key| head.meta(key))
            .find_map(|raw| text(raw, max))
    };
    let base = head
        .base
        .as_deref()
        .and_then(|href| address(href, page_url, encoding))
        .unwrap_or_else(|| page_url.to_owned());
    let first_address = |keys: &[&str]| {
        keys.iter()
            .filter_map(|key| head.meta(key))
            .find_map(|raw| address(raw, &base, encoding))
    };
    PageSummary {
        title: first_text(&["og:title", "twitter:title"], MAX_TITLE_CHARS)
            .or_else(|| head.title.as_deref().and_then(|t| text(t, MAX_TITLE_CHARS))),
        description: first_text(
            &["og:description", "twitter:description", "description"],
            MAX_DESCRIPTION_CHARS,
        ),
        image: first_address(&[
            "og:image",
            "og:image:url",
            "og:image:secure_url",
            "twitter:image",
            "twitter:image:src",
        ]),
        url: first_address(&["og:url"]),
    }
}

/// An attribute's address made absolute against `base` (http and https only).
fn address(raw: &[u8], base: &str, encoding: &'static encoding_rs::Encoding) -> Option<String> {
    let decoded = encoding.decode_without_bom_handling(raw).0;
    url::resolve(base, &entities::decode(&decoded))
}

/// Whitespace runs made one space, trimmed, at most `max` characters (the
/// last one an ellipsis when cut); `None` when nothing is left.
fn tidy(text: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    for word in text.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        let needed = word.chars().count() + usize::from(count > 0);
        if count + needed > max {
            let room = max.saturating_sub(count + usize::from(count > 0) + 1);
            if count > 0 && room > 0 {
                out.push(' ');
            }
            out.extend(word.chars().take(room));
            out.push('…');
            return Some(out);
        }
        if count > 0 {
            out.push(' ');
        }
        out.push_str(word);
        count += needed;
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "https://example.org/blog/post.html?id=7";

    fn summary(html: &str) -> PageSummary {
        summarize(html.as_bytes(), Some("text/html"), PAGE)
    }

    #[test]
    fn open_graph_wins_over_title_and_description() {
        let page = summary(
            r#"<!doctype html><html><head>
            <title>Plain title</title>
            <meta name="description" content="Plain description">
            <meta property="og:title" content="OG title">
            <meta property="og:description" content="OG description">
            <meta property="og:image" content="https://cdn.example.org/a.jpg">
            <meta property="og:url" content="https://example.org/blog/post">
            </head><body>hello</body></html>"#,
        );
        assert_eq!(
            page,
            PageSummary {
                title: Some("OG title".into()),
                description: Some("OG description".into()),
                image: Some("https://cdn.example.org/a.jpg".into()),
                url: Some("https://example.org/blog/post".into()),
            }
        );
    }

    #[test]
    fn plain_pages_fall_back_to_title_and_meta_description() {
        let page = summary(
            "<html><head><TITLE>\n  A   plain\tpage </TITLE>\
             <META NAME=Description CONTENT='Just words'></head></html>",
        );
        assert_eq!(page.title.as_deref(), Some("A plain page"));
        assert_eq!(page.description.as_deref(), Some("Just words"));
        assert_eq!(page.image, None);
        assert!(!page.is_empty());
        assert!(summary("<html><body><p>nothing</p></body></html>").is_empty());
    }

    #[test]
    fn attributes_in_any_order_and_any_quotes() {
        let page = summary(
            r#"<head>
            <meta content="Content first" property="og:title" />
            <meta content='Single "quoted"' property='og:description'>
            <meta property=og:image content=/img/cover.png>
            </head>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Content first"));
        assert_eq!(page.description.as_deref(), Some("Single \"quoted\""));
        assert_eq!(
            page.image.as_deref(),
            Some("https://example.org/img/cover.png")
        );
    }

    #[test]
    fn references_are_expanded_in_text_and_addresses() {
        let page = summary(
            r#"<head><meta property="og:title" content="Tom &amp; Jerry&#39;s &lt;caf&eacute;&gt; &#x1F600;">
            <meta property="og:image" content="pic.php?w=1&amp;h=2"></head>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Tom & Jerry's <café> 😀"));
        assert_eq!(
            page.image.as_deref(),
            Some("https://example.org/blog/pic.php?w=1&h=2")
        );
    }

    #[test]
    fn relative_pictures_resolve_against_the_page_or_its_base() {
        for (src, expected) in [
            ("../img/a.png", "https://example.org/img/a.png"),
            ("//cdn.example.net/a.png", "https://cdn.example.net/a.png"),
            ("a b.png", "https://example.org/blog/a%20b.png"),
            ("http://other.example/x.png", "http://other.example/x.png"),
        ] {
            let page = summary(&format!(r#"<meta property="og:image" content="{src}">"#));
            assert_eq!(page.image.as_deref(), Some(expected), "{src}");
        }
        let page = summary(
            r#"<head><base href="https://static.example.org/assets/">
            <meta property="og:image" content="cover.jpg"></head>"#,
        );
        assert_eq!(
            page.image.as_deref(),
            Some("https://static.example.org/assets/cover.jpg")
        );
        // Not a web address: no picture.
        let page = summary(r#"<meta property="og:image" content="javascript:alert(1)">"#);
        assert_eq!(page.image, None);
    }

    #[test]
    fn the_first_picture_and_the_twitter_fallbacks() {
        let page = summary(
            r#"<meta name="twitter:title" content="Tweet title">
            <meta name="twitter:image" content="/t.png">
            <meta property="og:image" content="/first.png">
            <meta property="og:image" content="/second.png">"#,
        );
        assert_eq!(page.title.as_deref(), Some("Tweet title"));
        assert_eq!(page.image.as_deref(), Some("https://example.org/first.png"));
    }

    #[test]
    fn tags_in_comments_scripts_and_the_body_are_not_the_pages() {
        let page = summary(
            r#"<head><!-- <meta property="og:title" content="commented"> -->
            <script>var s = '<meta property="og:title" content="scripted">';</script>
            <style>/* <title>styled</title> */</style>
            <title>Real</title></head>
            <body><meta property="og:description" content="in the body"></body>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Real"));
        assert_eq!(page.description, None);
    }

    #[test]
    fn charsets_from_the_header_the_meta_tag_or_the_bytes() {
        // "Café" in ISO-8859-1 / windows-1252.
        let latin = b"<head><meta charset=\"iso-8859-1\"><title>Caf\xE9</title></head>";
        assert_eq!(summarize(latin, None, PAGE).title.as_deref(), Some("Café"));
        // The header wins over the page.
        let header = b"<head><meta charset=\"utf-8\"><title>Caf\xE9 \x93ok\x94</title></head>";
        assert_eq!(
            summarize(header, Some("text/html; charset=windows-1252"), PAGE)
                .title
                .as_deref(),
            Some("Café \u{201C}ok\u{201D}")
        );
        // http-equiv, and Shift_JIS text.
        let sjis =
            b"<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">\
                     <title>\x93\xFA\x96\x7B</title></head>";
        assert_eq!(
            summarize(sjis, Some("text/html"), PAGE).title.as_deref(),
            Some("日本")
        );
        // Undeclared: UTF-8 when it is valid, else windows-1252.
        assert_eq!(
            summarize("<title>Ünïcödé</title>".as_bytes(), None, PAGE)
                .title
                .as_deref(),
            Some("Ünïcödé")
        );
        assert_eq!(
            summarize(b"<title>na\xEFve</title>", None, PAGE)
                .title
                .as_deref(),
            Some("naïve")
        );
        // A UTF-16 page announces itself with its byte-order mark.
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "<title>Straße</title>".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(
            summarize(&utf16, None, PAGE).title.as_deref(),
            Some("Straße")
        );
    }

    #[test]
    fn long_texts_are_cut_with_an_ellipsis() {
        let long = "word ".repeat(500);
        let page = summary(&format!(
            r#"<meta property="og:title" content="{long}"><meta name=description content="{long}">"#
        ));
        let title = page.title.unwrap();
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with('…'), "{title}");
        assert!(page.description.unwrap().chars().count() <= MAX_DESCRIPTION_CHARS);
        assert_eq!(tidy("  ", 10), None);
        assert_eq!(tidy("abcdefghijkl", 5).as_deref(), Some("abcd…"));
        assert_eq!(tidy("ab cd", 5).as_deref(), Some("ab cd"));
    }

    #[test]
    fn html_types() {
        assert!(is_html("text/html"));
        assert!(is_html("Text/HTML; charset=UTF-8"));
        assert!(is_html("application/xhtml+xml"));
        assert!(!is_html("image/png"));
        assert!(!is_html("text/plain"));
        assert!(!is_html("application/json"));
    }
}
