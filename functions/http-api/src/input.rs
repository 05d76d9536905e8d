//! Request fields, wherever the client put them: a JSON body, a multipart form
//! (files included), a urlencoded form, or the query string. GOWA accepts JSON
//! and multipart on the same routes, so handlers read fields by name and never
//! care which.

use std::collections::HashMap;
use std::str::FromStr;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use spin_sdk::http::Request;

use crate::error::{ApiError, ApiResult};

/// An uploaded file from a multipart form.
#[derive(Debug, Clone)]
pub struct FilePart {
    /// The client's file name, if it sent one.
    pub file_name: Option<String>,
    /// The part's declared type, if any.
    pub content_type: Option<String>,
    /// The bytes (a view into the request body, not a copy).
    pub bytes: Bytes,
}

/// The fields of one request.
#[derive(Debug, Default)]
pub struct Input {
    json: serde_json::Map<String, Value>,
    form: HashMap<String, Vec<String>>,
    files: HashMap<String, FilePart>,
}

impl Input {
    /// Reads the body (at most `limit` bytes) and parses it by its content type.
    pub async fn read(request: Request, limit: usize) -> ApiResult<(Parts, Input)> {
        let (parts, body) = request.into_parts();
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(too_large(limit));
        }
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large(limit)),
            Err(e) => return Err(ApiError::validation(format!("cannot read the body: {e}"))),
        };
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let input = Input::parse(&content_type, body)?;
        Ok((parts, input))
    }

    /// The query string's fields.
    pub fn query(uri: &http::Uri) -> Input {
        let mut input = Input::default();
        if let Some(query) = uri.query() {
            input.add_urlencoded(query.as_bytes());
        }
        input
    }

    fn parse(content_type: &str, body: Bytes) -> ApiResult<Input> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let mut input = Input::default();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(input);
        }
        match essence.as_str() {
            "multipart/form-data" => {
                let boundary = parameter(content_type, "boundary")
                    .ok_or_else(|| ApiError::validation("multipart body without a boundary"))?;
                input.add_multipart(&boundary, &body)?;
            }
            "application/x-www-form-urlencoded" => input.add_urlencoded(&body),
            // JSON is the default: GOWA clients often omit the header.
            _ => match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => input.json = map,
                Ok(_) => return Err(ApiError::validation("the JSON body must be an object")),
                Err(e) => return Err(ApiError::validation(format!("malformed JSON: {e}"))),
            },
        }
        Ok(input)
    }

    fn add_urlencoded(&mut self, bytes: &[u8]) {
        for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            self.form
                .entry(percent_decode(key))
                .or_default()
                .push(percent_decode(value));
        }
    }

    fn add_multipart(&mut self, boundary: &str, body: &Bytes) -> ApiResult<()> {
        let delimiter = format!("--{boundary}");
        let delimiter = delimiter.as_bytes();
        let mut rest = find(body, delimiter, 0)
            .ok_or_else(|| ApiError::validation("multipart body without its boundary"))?
            + delimiter.len();
        loop {
            if body[rest..].starts_with(b"--") {
                return Ok(());
            }
            let headers_start = skip_crlf(body, rest);
            let headers_end = find(body, b"\r\n\r\n", headers_start)
                .ok_or_else(|| ApiError::validation("truncated multipart part"))?;
            let content_start = headers_end + 4;
            let next = find(body, delimiter, content_start)
                .ok_or_else(|| ApiError::validation("multipart body is not terminated"))?;
            // The part's content ends before the CRLF that precedes the delimiter.
            let content_end = if next >= 2 && &body[next - 2..next] == b"\r\n" {
                next - 2
            } else {
                next
            };
            let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
            self.add_part(
                &headers,
                body.slice(content_start..content_end.max(content_start)),
            )?;
            rest = next + delimiter.len();
        }
    }

    fn add_part(&mut self, headers: &str, content: Bytes) -> ApiResult<()> {
        let mut name = None;
        let mut file_name = None;
        let mut content_type = None;
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    name = parameter(value, "name");
                    file_name = parameter(value, "filename");
                }
                "content-type" => content_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let name = name.ok_or_else(|| ApiError::validation("multipart part without a name"))?;
        if file_name.is_some() || content_type.is_some() {
            self.files.insert(
                name,
                FilePart {
                    file_name: file_name.filter(|n| !n.is_empty()),
                    content_type,
                    bytes: content,
                },
            );
        } else {
            let text = String::from_utf8(content.to_vec())
                .map_err(|_| ApiError::validation(format!("field `{name}` is not UTF-8 text")))?;
            self.form.entry(name).or_default().push(text);
        }
        Ok(())
    }

    /// A field as text (JSON numbers and booleans are written out).
    pub fn text(&self, name: &str) -> Option<String> {
        if let Some(value) = self.json.get(name) {
            return match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
        }
        self.form.get(name).and_then(|v| v.first()).cloned()
    }

    /// A field that must be present and not blank.
    pub fn required(&self, name: &str) -> ApiResult<String> {
        self.text(name)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ApiError::validation(format!("{name}: cannot be blank")))
    }

    /// A text field that, when present, must not be blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.text(name).filter(|s| !s.trim().is_empty())
    }

    /// A boolean field; absent is `false`. Accepts JSON booleans and
    /// `true`/`false`/`1`/`0` text.
    pub fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.json.get(name) {
            Some(Value::Bool(b)) => return Ok(*b),
            Some(Value::Null) | None => {}
            Some(_) => {
                if self.text(name).is_none() {
                    return Err(ApiError::validation(format!("{name}: must be a boolean")));
                }
            }
        }
        match self.text(name).as_deref().map(str::trim) {
            None | Some("") => Ok(false),
            Some("true" | "1" | "on") => Ok(true),
            Some("false" | "0" | "off") => Ok(false),
            Some(other) => Err(ApiError::validation(format!(
                "{name}: `{other}` is not a boolean"
            ))),
        }
    }

    /// A number field, if present.
    pub fn number<T: FromStr>(&self, name: &str) -> ApiResult<Option<T>> {
        match self.optional(name) {
            None => Ok(None),
            Some(text) => text.trim().parse().map(Some).map_err(|_| {
                ApiError::validation(format!("{name}: `{text}` is not a valid number"))
            }),
        }
    }

    /// A list field: a JSON array of strings, repeated form fields, or one
    /// comma-separated value.
    pub fn list(&self, name: &str) -> ApiResult<Vec<String>> {
        if let Some(value) = self.json.get(name) {
            return match value {
                Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err(ApiError::validation(format!(
                            "{name}: items must be strings"
                        ))),
                    })
                    .collect(),
                Value::String(s) => Ok(split_list(s)),
                Value::Null => Ok(Vec::new()),
                _ => Err(ApiError::validation(format!(
                    "{name}: must be a list of strings"
                ))),
            };
        }
        let values = self
            .form
            .get(name)
            .or_else(|| self.form.get(&format!("{name}[]")));
        Ok(match values {
            Some(values) if values.len() == 1 => split_list(&values[0]),
            Some(values) => values.clone(),
            None => Vec::new(),
        })
    }

    /// A map field (a JSON object of strings, or `name: value` lines in a form
    /// field), as pairs in their order.
    pub fn pairs(&self, name: &str) -> ApiResult<Vec<(String, String)>> {
        match self.json.get(name) {
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(ApiError::validation(format!(
                        "{name}: values must be strings"
                    ))),
                })
                .collect(),
            Some(Value::Null) | None => Ok(self
                .text(name)
                .map(|text| {
                    text.lines()
                        .filter_map(|line| line.split_once(':'))
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .collect()
                })
                .unwrap_or_default()),
            Some(_) => Err(ApiError::validation(format!("{name}: must be an object"))),
        }
    }

    /// An uploaded file.
    pub fn file(&self, name: &str) -> Option<&FilePart> {
        self.files.get(name).filter(|f| !f.bytes.is_empty())
    }

    /// Whether a JSON field has a type other than what `text` can read.
    pub fn has_field(&self, name: &str) -> bool {
        self.json.contains_key(name)
            || self.form.contains_key(name)
            || self.files.contains_key(name)
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn too_large(limit: usize) -> ApiError {
    ApiError::too_large(format!(
        "the request body is larger than {} MB",
        limit / (1024 * 1024)
    ))
}

/// A `key=value` parameter of a header value (`boundary=…`, `name="…"`).
fn parameter(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn skip_crlf(body: &[u8], at: usize) -> usize {
    if body[at..].starts_with(b"\r\n") {
        at + 2
    } else {
        at
    }
}

/// Decodes `+` and `%XX` (form and query encoding).
pub fn percent_decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
