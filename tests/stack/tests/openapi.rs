//! `functions/http-api/openapi.json` (served at `GET /openapi.json`) describes
//! exactly the routes the API component serves: the `ROUTES` table of
//! `functions/http-api/src/routes/mod.rs` and the document's `paths` must not
//! drift apart, and the document must hang together (references resolve,
//! operations are named once, request schemas require only their own fields).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

const DOCUMENT: &str = "../../functions/http-api/openapi.json";
const ROUTE_TABLE: &str = "../../functions/http-api/src/routes/mod.rs";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn document() -> Value {
    serde_json::from_str(&read(DOCUMENT)).expect("openapi.json is valid JSON")
}

/// The `(METHOD, /pattern)` entries of `pub const ROUTES: … = &[ … ];`.
fn routes() -> BTreeSet<(String, String)> {
    let source = read(ROUTE_TABLE);
    let start = source
        .find("pub const ROUTES")
        .expect("mod.rs declares `pub const ROUTES`");
    let table = &source[start..];
    let table = &table[..table.find("];").expect("ROUTES ends with `];`")];
    let mut routes = BTreeSet::new();
    for line in table
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("(\""))
    {
        let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        let [method, pattern] = quoted[..] else {
            panic!("cannot read the route `{line}`");
        };
        assert!(
            routes.insert((method.to_owned(), pattern.to_owned())),
            "ROUTES lists {method} {pattern} twice"
        );
    }
    assert!(!routes.is_empty(), "no routes read from ROUTES");
    routes
}

/// Every operation of the document: `(METHOD, path, operation)`.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = item
            .as_object()
            .unwrap_or_else(|| panic!("{path}: not an object"));
        for (key, operation) in item {
            if METHODS.contains(&key.as_str()) {
                out.push((key.to_ascii_uppercase(), path.clone(), operation));
            }
        }
    }
    out
}

/// The value a local reference (`#/a/b`) points at, if any.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    // JSON pointers escape `~` and `/`; `pointer` undoes both.
    doc.pointer(pointer)
}

/// Follows `$ref`s until a value that is not a reference.
fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                value = resolve(doc, reference)
                    .unwrap_or_else(|| panic!("unresolved reference {reference}"));
            }
            None => return value,
        }
    }
    panic!("a reference cycle without content");
}

fn collect_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    let target = child
                        .as_str()
                        .unwrap_or_else(|| panic!("{at}: `$ref` is not a string"));
                    out.push((at.to_owned(), target.to_owned()));
                } else {
                    collect_refs(child, &format!("{at}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A schema's property names, its own and those of its `allOf` members.
fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = deref(doc, schema);
    let mut names: BTreeSet<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        names.extend(properties(doc, member));
    }
    names
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| r.as_str().expect("`required` lists strings").to_owned())
        .collect()
}

/// Fields a schema (or one of its `allOf`/`oneOf`/`anyOf` parts) requires
/// that no property of it declares.
fn undeclared_required(doc: &Value, schema: &Value) -> Vec<String> {
    let schema = deref(doc, schema);
    let declared = properties(doc, schema);
    let mut missing: Vec<String> = required(schema)
        .into_iter()
        .filter(|name| !declared.contains(name))
        .collect();
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        missing.extend(undeclared_required(doc, member));
    }
    // A branch of `oneOf`/`anyOf` may require the outer schema's properties.
    for keyword in ["oneOf", "anyOf"] {
        for branch in schema
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let branch = deref(doc, branch);
            let mut known = declared.clone();
            known.extend(properties(doc, branch));
            missing.extend(required(branch).into_iter().filter(|n| !known.contains(n)));
        }
    }
    missing
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(
        version.starts_with("3.1."),
        "openapi.json declares OpenAPI {version}, not 3.1.x"
    );
    assert!(doc["info"]["title"].is_string(), "info.title is missing");
    assert!(
        doc["info"]["version"].is_string(),
        "info.version is missing"
    );
    assert!(doc["paths"].is_object(), "`paths` is missing");
    let basic = &doc["components"]["securitySchemes"]["basicAuth"];
    assert_eq!(basic["type"], "http", "basicAuth is an HTTP scheme");
    assert_eq!(basic["scheme"], "basic", "basicAuth is HTTP basic");
    let key = &doc["components"]["securitySchemes"]["apiKey"];
    assert_eq!(
        (&key["type"], &key["in"], &key["name"]),
        (&json!("apiKey"), &json!("header"), &json!("X-Api-Key")),
        "API keys travel in X-Api-Key"
    );
    let bearer = &doc["components"]["securitySchemes"]["bearerKey"];
    assert_eq!(
        (&bearer["type"], &bearer["scheme"]),
        (&json!("http"), &json!("bearer"))
    );
    assert_eq!(
        doc["security"],
        json!([{ "basicAuth": [] }, { "apiKey": [] }, { "bearerKey": [] }]),
        "basic auth or an API key (either way) applies to the whole API by default"
    );
}

#[test]
fn the_paths_are_exactly_the_route_table() {
    let doc = document();
    let routes = routes();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "openapi.json and ROUTES disagree:\n  served but not documented: {undocumented:?}\n  documented but not served: {unserved:?}"
    );
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, "#", &mut refs);
    assert!(!refs.is_empty(), "the document uses no references at all");
    let broken: Vec<_> = refs
        .iter()
        .filter(|(_, target)| resolve(&doc, target).is_none())
        .collect();
    assert!(broken.is_empty(), "unresolved references: {broken:?}");
}

#[test]
fn every_operation_answers_200_and_has_a_unique_operation_id() {
    let doc = document();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (method, path, operation) in operations(&doc) {
        let name = format!("{method} {path}");
        let id = operation["operationId"]
            .as_str()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| panic!("{name} has no operationId"));
        if let Some(other) = ids.insert(id.to_owned(), name.clone()) {
            panic!("operationId {id} names both {other} and {name}");
        }
        assert!(
            operation["responses"]["200"].is_object(),
            "{name} documents no 200 response"
        );
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name} has no summary"
        );
    }
}

#[test]
fn path_parameters_match_the_path_templates() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let item_parameters = doc["paths"][&path]["parameters"].as_array();
        let declared: BTreeSet<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .chain(item_parameters)
            .flatten()
            .map(|p| deref(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameters are required"
                );
                p["name"].as_str().expect("a parameter name").to_owned()
            })
            .collect();
        assert_eq!(
            templated, declared,
            "{method} {path}: the template's parameters and the declared ones differ"
        );
    }
}

#[test]
fn only_health_is_open_without_credentials() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let open = operation["security"] == serde_json::json!([]);
        assert_eq!(
            open,
            path == "/health",
            "{method} {path}: only /health skips basic auth"
        );
    }
}

#[test]
fn json_request_schemas_require_only_their_own_properties() {
    let doc = document();
    let mut checked = 0;
    for (method, path, operation) in operations(&doc) {
        let Some(body) = operation.get("requestBody") else {
            continue;
        };
        let body = deref(&doc, body);
        let content = body["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}: request body without content"));
        assert!(
            content.contains_key("application/json"),
            "{method} {path}: the request body has no application/json schema"
        );
        for (media_type, entry) in content {
            let schema = &entry["schema"];
            assert!(
                schema.is_object(),
                "{method} {path}: {media_type} has no schema"
            );
            let missing = undeclared_required(&doc, schema);
            assert!(
                missing.is_empty(),
                "{method} {path} ({media_type}): required but not declared: {missing:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no request body schema was checked");
}
