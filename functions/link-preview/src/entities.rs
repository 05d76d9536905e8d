//! HTML character references in attribute values and titles.
//!
//! Numeric references (`&#39;`, `&#x1F600;`) are expanded as HTML does,
//! including its windows-1252 reading of `&#128;`–`&#159;` and U+FFFD for
//! values no character has. Named references cover the markup characters
//! and the punctuation, symbols and Latin letters page titles use; an
//! unknown name is left as written, like a lone `&`.

use std::borrow::Cow;

/// Named references expanded (the full HTML list has over two thousand).
const NAMED: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{A0}'),
    ("hellip", '…'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("sbquo", '‚'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bdquo", '„'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("lsaquo", '‹'),
    ("rsaquo", '›'),
    ("middot", '·'),
    ("bull", '•'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("deg", '°'),
    ("times", '×'),
    ("divide", '÷'),
    ("plusmn", '±'),
    ("para", '¶'),
    ("sect", '§'),
    ("euro", '€'),
    ("pound", '£'),
    ("yen", '¥'),
    ("cent", '¢'),
    ("iexcl", '¡'),
    ("iquest", '¿'),
    ("shy", '\u{AD}'),
    ("zwj", '\u{200D}'),
    ("zwnj", '\u{200C}'),
    ("agrave", 'à'),
    ("aacute", 'á'),
    ("acirc", 'â'),
    ("atilde", 'ã'),
    ("auml", 'ä'),
    ("aring", 'å'),
    ("aelig", 'æ'),
    ("ccedil", 'ç'),
    ("egrave", 'è'),
    ("eacute", 'é'),
    ("ecirc", 'ê'),
    ("euml", 'ë'),
    ("igrave", 'ì'),
    ("iacute", 'í'),
    ("icirc", 'î'),
    ("iuml", 'ï'),
    ("ntilde", 'ñ'),
    ("ograve", 'ò'),
    ("oacute", 'ó'),
    ("ocirc", 'ô'),
    ("otilde", 'õ'),
    ("ouml", 'ö'),
    ("oslash", 'ø'),
    ("ugrave", 'ù'),
    ("uacute", 'ú'),
    ("ucirc", 'û'),
    ("uuml", 'ü'),
    ("yacute", 'ý'),
    ("yuml", 'ÿ'),
    ("szlig", 'ß'),
    ("Agrave", 'À'),
    ("Aacute", 'Á'),
    ("Acirc", 'Â'),
    ("Atilde", 'Ã'),
    ("Auml", 'Ä'),
    ("Aring", 'Å'),
    ("AElig", 'Æ'),
    ("Ccedil", 'Ç'),
    ("Egrave", 'È'),
    ("Eacute", 'É'),
    ("Ecirc", 'Ê'),
    ("Euml", 'Ë'),
    ("Iacute", 'Í'),
    ("Ntilde", 'Ñ'),
    ("Oacute", 'Ó'),
    ("Ouml", 'Ö'),
    ("Oslash", 'Ø'),
    ("Uacute", 'Ú'),
    ("Uuml", 'Ü'),
];

/// The longest name in [`NAMED`] (a bound on the search for `;`).
const LONGEST_NAME: usize = 6;

/// `text` with its character references expanded.
pub fn decode(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match reference(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The character the reference at the start of `text` (`&...`) stands for,
/// and how many bytes it spans.
fn reference(text: &str) -> Option<(char, usize)> {
    let body = &text[1..];
    if let Some(numeric) = body.strip_prefix('#') {
        let (digits, radix, skip) = match numeric.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (numeric, 10, 2),
        };
        let len = digits
            .bytes()
            .take_while(|&b| char::from(b).is_digit(radix))
            .count();
        if len == 0 {
            return None;
        }
        // Overlong numbers are out of range whatever their value.
        let value = u32::from_str_radix(&digits[..len.min(8)], radix).unwrap_or(u32::MAX);
        let value = if len > 8 { u32::MAX } else { value };
        let semicolon = usize::from(digits[len..].starts_with(';'));
        return Some((numeric_char(value), skip + len + semicolon));
    }
    let end = body
        .bytes()
        .take(LONGEST_NAME + 1)
        .position(|b| b == b';')?;
    let name = &body[..end];
    NAMED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, c)| (c, end + 2))
}

/// The character of a numeric reference, as HTML reads it.
fn numeric_char(value: u32) -> char {
    match value {
        0 => '\u{FFFD}',
        // The C1 range means windows-1252's characters there.
        0x80..=0x9F => {
            let byte = [u8::try_from(value).unwrap_or(0)];
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(&byte)
                .0
                .chars()
                .next()
                .unwrap_or('\u{FFFD}')
        }
        v => char::from_u32(v).unwrap_or('\u{FFFD}'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_numeric() {
        assert_eq!(decode("a &amp; b"), "a & b");
        assert_eq!(
            decode("&lt;p&gt; &quot;x&quot; &apos;y&#39;"),
            "<p> \"x\" 'y'"
        );
        assert_eq!(decode("caf&eacute; &Uuml;ber &hellip;"), "café Über …");
        assert_eq!(decode("&#x1F600;&#X41;&#66;"), "😀AB");
        assert_eq!(decode("&#150;&#8364;"), "–€");
        assert_eq!(
            decode("&#0;&#xD800;&#99999999999;"),
            "\u{FFFD}\u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn what_is_not_a_reference_stays() {
        assert_eq!(decode("AT&T"), "AT&T");
        assert_eq!(decode("a & b"), "a & b");
        assert_eq!(decode("&unknown; &amp"), "&unknown; &amp");
        assert_eq!(decode("&#;&#x;"), "&#;&#x;");
        assert_eq!(decode("trailing &"), "trailing &");
        // Numeric references without `;` are still read.
        assert_eq!(decode("&#65 b"), "A b");
        assert!(matches!(decode("no refs"), Cow::Borrowed(_)));
    }
}
