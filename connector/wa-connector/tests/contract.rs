//! The WIT contract and its two bindings never drift apart: every function of
//! the world `wa:gateway/connector` is served by the internal endpoint (the host
//! side, whose Rust traits are generated from the same files), and every call
//! the REST component makes names a function of that world with the right
//! number of arguments.

use std::collections::BTreeMap;
use std::path::Path;

use wa_connector::internal_api::FUNCTIONS;
use wit_parser::{Resolve, WorldItem};

/// `(interface, function)` → parameter count, for the world `connector`.
fn contract() -> BTreeMap<(String, String), usize> {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_dir(&wit).expect("the WIT package parses");
    let world = resolve
        .select_world(&[package], Some("connector"))
        .expect("world `connector` exists");
    let mut functions = BTreeMap::new();
    for item in resolve.worlds[world].imports.values() {
        let WorldItem::Interface { id, .. } = item else {
            continue;
        };
        let interface = &resolve.interfaces[*id];
        let name = interface.name.clone().expect("named interface");
        for (function, f) in &interface.functions {
            functions.insert((name.clone(), function.clone()), f.params.len());
        }
    }
    functions
}

#[test]
fn the_internal_endpoint_serves_exactly_the_world() {
    let contract = contract();
    let served: Vec<(String, String)> = FUNCTIONS
        .iter()
        .map(|(i, f)| (i.to_string(), f.to_string()))
        .collect();
    let wanted: Vec<(String, String)> = contract.keys().cloned().collect();
    let mut sorted = served.clone();
    sorted.sort();
    assert_eq!(
        sorted, wanted,
        "FUNCTIONS in internal_api.rs differs from wit/"
    );
}

#[test]
fn every_call_of_the_rest_component_is_in_the_world() {
    let contract = contract();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions/http-api/src");
    let mut calls = Vec::new();
    collect_calls(&src, &mut calls);
    assert!(calls.len() > 20, "found only {} calls", calls.len());
    for (file, interface, function, args) in calls {
        let params = contract
            .get(&(interface.clone(), function.clone()))
            .unwrap_or_else(|| panic!("{file}: {interface}/{function} is not in wit/"));
        if let Some(args) = args {
            assert_eq!(
                args, *params,
                "{file}: {interface}/{function} called with {args} arguments, WIT has {params}"
            );
        }
    }
}

/// Finds `call("iface", "func", args)` / `try_call(...)` in the component's
/// sources, with the argument count when the arguments are a tuple literal.
fn collect_calls(dir: &Path, out: &mut Vec<(String, String, String, Option<usize>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_calls(&path, out);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for marker in ["call(\"", "try_call(\""] {
            for (at, _) in squashed.match_indices(marker) {
                let rest = &squashed[at + marker.len()..];
                let mut quoted = rest.split('"');
                let interface = quoted.next().unwrap().to_owned();
                let function = quoted.nth(1).unwrap().to_owned();
                let after = rest.splitn(4, '"').nth(3).unwrap_or("");
                let args = after
                    .trim_start_matches(',')
                    .trim_start()
                    .strip_prefix('(')
                    .and_then(top_level_items);
                out.push((path.display().to_string(), interface, function, args));
            }
        }
    }
}

/// Counts the top-level items of a tuple literal whose `(` was just consumed;
/// `()` is zero items.
fn top_level_items(tuple: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut items = 0usize;
    let mut seen_any = false;
    for c in tuple.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                seen_any = true;
            }
            ')' | ']' | '}' if depth == 0 => {
                return Some(items + usize::from(seen_any));
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                // A trailing comma (`(x,)`) closes nothing new.
                items += 1;
                seen_any = false;
                continue;
            }
            c if !c.is_whitespace() => seen_any = true,
            _ => {}
        }
    }
    None
}
