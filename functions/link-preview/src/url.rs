//! Addresses a page gives relative to itself, made absolute.
//!
//! Reference resolution as RFC 3986 (section 5) describes it, for the
//! `http` and `https` schemes only: a preview never follows `data:`,
//! `javascript:` or `file:` addresses. Like browsers, it ignores tabs and
//! newlines inside an address, reads `\` as `/`, and the result has spaces,
//! quotes and non-ASCII characters percent-encoded so it parses as a URI.

/// `reference` resolved against the absolute http(s) address `base`; `None`
/// when either is not a web address.
pub fn resolve(base: &str, reference: &str) -> Option<String> {
    let reference: String = reference
        .trim()
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let base = Parts::parse(base).filter(Parts::is_web)?;
    let resolved = if let Some(parts) = Parts::parse(&reference) {
        if !parts.is_web() {
            return None;
        }
        Parts {
            path: remove_dots(&parts.path),
            ..parts
        }
    } else if let Some(rest) = reference
        .strip_prefix("//")
        .or_else(|| reference.strip_prefix("\\\\"))
    {
        let parts = Parts::parse(&format!("{}://{rest}", base.scheme))?;
        Parts {
            path: remove_dots(&parts.path),
            ..parts
        }
    } else {
        let (without_fragment, _) = split_at_char(&reference, '#');
        let (path, query) = split_at_char(without_fragment, '?');
        let path = path.replace('\\', "/");
        if path.is_empty() {
            Parts {
                query: query.map(str::to_owned).or(base.query.clone()),
                ..base.clone()
            }
        } else if path.starts_with('/') {
            Parts {
                path: remove_dots(&path),
                query: query.map(str::to_owned),
                ..base.clone()
            }
        } else {
            let directory = &base.path[..base.path.rfind('/').map_or(0, |i| i + 1)];
            let merged = if directory.is_empty() {
                format!("/{path}")
            } else {
                format!("{directory}{path}")
            };
            Parts {
                path: remove_dots(&merged),
                query: query.map(str::to_owned),
                ..base.clone()
            }
        }
    };
    Some(resolved.to_string())
}

/// An absolute address cut into the pieces resolution needs.
#[derive(Debug, Clone)]
struct Parts {
    scheme: String,
    authority: String,
    path: String,
    query: Option<String>,
}

impl Parts {
    /// `scheme://authority/path?query` (a fragment is dropped); `None`
    /// without a scheme and an authority.
    fn parse(text: &str) -> Option<Self> {
        let colon = text.find(':')?;
        let scheme = &text[..colon];
        let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        let rest = text[colon + 1..].replace('\\', "/");
        let Some(rest) = rest.strip_prefix("//") else {
            // `mailto:x`, `javascript:y`: a scheme without an authority.
            return Some(Self {
                scheme,
                authority: String::new(),
                path: rest.to_owned(),
                query: None,
            });
        };
        let (rest, _) = split_at_char(rest, '#');
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        let (path, query) = split_at_char(rest, '?');
        Some(Self {
            scheme,
            authority: authority.to_ascii_lowercase(),
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
            query: query.map(str::to_owned),
        })
    }

    fn is_web(&self) -> bool {
        matches!(self.scheme.as_str(), "http" | "https") && !self.authority.is_empty()
    }
}

impl std::fmt::Display for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme,
            self.authority,
            escape(&self.path)
        )?;
        if let Some(query) = &self.query {
            write!(f, "?{}", escape(query))?;
        }
        Ok(())
    }
}

/// `text` before and after the first `c` (which is dropped).
fn split_at_char(text: &str, c: char) -> (&str, Option<&str>) {
    match text.split_once(c) {
        Some((before, after)) => (before, Some(after)),
        None => (text, None),
    }
}

/// The path with its `.` and `..` segments applied (RFC 3986, 5.2.4).
fn remove_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." | "%2e" | "%2E" => {
                if last {
                    out.push("");
                }
            }
            ".." | ".%2e" | "%2e." | "%2e%2e" | ".%2E" | "%2E." | "%2E%2E" => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// Percent-encodes what may not appear in a URI (controls, space, quotes,
/// angle brackets and the like, non-ASCII bytes); existing escapes stay.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_graphic()
            && !matches!(byte, b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'^')
        {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://a.example/b/c/d;p?q";

    #[test]
    fn rfc_3986_examples() {
        for (reference, expected) in [
            ("g", "http://a.example/b/c/g"),
            ("./g", "http://a.example/b/c/g"),
            ("g/", "http://a.example/b/c/g/"),
            ("/g", "http://a.example/g"),
            ("//g.example", "http://g.example/"),
            ("?y", "http://a.example/b/c/d;p?y"),
            ("g?y", "http://a.example/b/c/g?y"),
            ("#s", "http://a.example/b/c/d;p?q"),
            ("g#s", "http://a.example/b/c/g"),
            ("", "http://a.example/b/c/d;p?q"),
            (".", "http://a.example/b/c/"),
            ("./", "http://a.example/b/c/"),
            ("..", "http://a.example/b/"),
            ("../", "http://a.example/b/"),
            ("../g", "http://a.example/b/g"),
            ("../..", "http://a.example/"),
            ("../../g", "http://a.example/g"),
            ("../../../g", "http://a.example/g"),
            ("/./g", "http://a.example/g"),
            ("/../g", "http://a.example/g"),
            ("g.", "http://a.example/b/c/g."),
            ("..g", "http://a.example/b/c/..g"),
            ("./g/.", "http://a.example/b/c/g/"),
            ("g/../h", "http://a.example/b/c/h"),
            ("https://x.example/y/../z", "https://x.example/z"),
            ("HTTPS://X.Example", "https://x.example/"),
        ] {
            assert_eq!(
                resolve(BASE, reference).as_deref(),
                Some(expected),
                "{reference}"
            );
        }
    }

    #[test]
    fn only_web_addresses() {
        for reference in [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "file:///etc/passwd",
            "mailto:a@b",
        ] {
            assert_eq!(resolve(BASE, reference), None, "{reference}");
        }
        assert_eq!(resolve("file:///x", "g"), None);
        assert_eq!(resolve("not a url", "g"), None);
        assert_eq!(resolve(BASE, "http://"), None);
    }

    #[test]
    fn sloppy_addresses_as_browsers_read_them() {
        assert_eq!(
            resolve(BASE, " \n img/a b.png\t ").as_deref(),
            Some("http://a.example/b/c/img/a%20b.png")
        );
        assert_eq!(
            resolve(BASE, "\\img\\x.png").as_deref(),
            Some("http://a.example/img/x.png")
        );
        assert_eq!(
            resolve(BASE, "/caf\u{e9}.png?q=\"1\"").as_deref(),
            Some("http://a.example/caf%C3%A9.png?q=%221%22")
        );
        assert_eq!(
            resolve(BASE, "/already%20escaped").as_deref(),
            Some("http://a.example/already%20escaped")
        );
        assert_eq!(
            resolve("https://host.example", "x.png").as_deref(),
            Some("https://host.example/x.png")
        );
        assert_eq!(
            resolve("https://host.example:8443/a/b", "//cdn.example:81/c").as_deref(),
            Some("https://cdn.example:81/c")
        );
    }
}
