//! Which character encoding decodes a page.
//!
//! The order follows browsers: a byte-order mark, then the `charset` of the
//! `Content-Type` header, then the page's own `<meta charset>` (or its
//! `http-equiv` form). An undeclared page is taken as UTF-8 when its bytes
//! are valid UTF-8, else as windows-1252 (the web's legacy default, a
//! superset of ISO-8859-1). Labels are resolved by the WHATWG Encoding
//! Standard's table (`encoding_rs`), so `latin1`, `sjis`, `gb2312` and the
//! other aliases pages use all work.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// The encoding a label names, as a page may use it: a UTF-16 label on a
/// page that was scanned as bytes means UTF-8 (the HTML rule).
pub fn from_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes()).map(Encoding::output_encoding)
}

/// The encoding the `charset` parameter of a `Content-Type` names.
pub fn from_content_type(content_type: &str) -> Option<&'static Encoding> {
    label_in_content_type(content_type.as_bytes())
        .as_deref()
        .and_then(from_label)
}

/// The `charset` parameter's value in a `Content-Type`-like text.
pub fn label_in_content_type(value: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(value);
    text.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).to_owned())
            .filter(|v| !v.is_empty())
    })
}

/// UTF-16 when `bytes` start with its byte-order mark.
pub fn utf16_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    match Encoding::for_bom(bytes) {
        Some((encoding, _)) if encoding == UTF_16LE || encoding == UTF_16BE => Some(encoding),
        _ => None,
    }
}

/// UTF-8 when `bytes` start with its byte-order mark.
pub fn utf8_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    bytes.starts_with(b"\xEF\xBB\xBF").then_some(UTF_8)
}

/// The encoding to decode the page with, from what each source said.
pub fn choose(
    bom: Option<&'static Encoding>,
    header: Option<&'static Encoding>,
    meta: Option<&'static Encoding>,
    bytes: &[u8],
) -> &'static Encoding {
    bom.or(header).or(meta).unwrap_or_else(|| {
        // A cut at the read limit may split the last character.
        let valid = match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
        if valid { UTF_8 } else { WINDOWS_1252 }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_content_types() {
        assert_eq!(from_label(" Latin1 "), Some(WINDOWS_1252));
        assert_eq!(from_label("utf8"), Some(UTF_8));
        assert_eq!(from_label("utf-16le"), Some(UTF_8));
        assert_eq!(from_label("no-such-charset"), None);
        assert_eq!(
            from_content_type("text/html; Charset=\"ISO-8859-1\""),
            Some(WINDOWS_1252)
        );
        assert_eq!(from_content_type("text/html"), None);
        assert_eq!(
            label_in_content_type(b"text/html;charset=shift_jis").as_deref(),
            Some("shift_jis")
        );
    }

    #[test]
    fn the_order_of_the_sources() {
        let sjis = from_label("sjis");
        assert_eq!(choose(Some(UTF_8), sjis, None, b""), UTF_8);
        assert_eq!(choose(None, sjis, Some(WINDOWS_1252), b""), sjis.unwrap());
        assert_eq!(choose(None, None, sjis, b""), sjis.unwrap());
        assert_eq!(choose(None, None, None, "é".as_bytes()), UTF_8);
        // Cut inside a character: still UTF-8.
        assert_eq!(choose(None, None, None, &"aé".as_bytes()[..2]), UTF_8);
        assert_eq!(choose(None, None, None, b"\xE9t\xE9"), WINDOWS_1252);
        assert_eq!(utf16_bom(b"\xFF\xFEa\x00"), Some(UTF_16LE));
        assert_eq!(utf16_bom(b"\xEF\xBB\xBFa"), None);
        assert_eq!(utf8_bom(b"\xEF\xBB\xBFa"), Some(UTF_8));
    }
}
