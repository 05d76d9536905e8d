//! `spin.toml` describes the components this repository actually builds.

use std::path::Path;

fn manifest() -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
    let text = std::fs::read_to_string(&path).expect("reading spin.toml");
    text.parse().expect("spin.toml is valid TOML")
}

#[test]
fn every_trigger_names_a_declared_component_built_by_xtask() {
    let manifest = manifest();
    assert_eq!(manifest["spin_manifest_version"].as_integer(), Some(2));
    let components = manifest["component"]
        .as_table()
        .expect("[component.*] tables");
    let triggers = manifest["trigger"]["http"]
        .as_array()
        .expect("[[trigger.http]]");
    assert!(!triggers.is_empty());
    for trigger in triggers {
        let name = trigger["component"].as_str().unwrap();
        let component = components
            .get(name)
            .unwrap_or_else(|| panic!("trigger names undeclared component {name}"));
        let source = component["source"].as_str().unwrap();
        // The path `cargo xtask build-components --release` writes to.
        assert!(
            source.starts_with("target/components/wasm32-wasip2/release/")
                && source.ends_with(".wasm"),
            "{name}: unexpected source {source}"
        );
        let crate_dir = source
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".wasm")
            .replace('_', "-");
        let crate_manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../functions")
            .join(&crate_dir)
            .join("Cargo.toml");
        assert!(
            crate_manifest.is_file(),
            "{name}: no crate functions/{crate_dir} builds {source}"
        );
    }
}

#[test]
fn the_api_component_catches_every_route_and_names_its_host() {
    let manifest = manifest();
    let triggers = manifest["trigger"]["http"].as_array().unwrap();
    assert!(triggers.iter().any(
        |t| t["route"].as_str() == Some("/...") && t["component"].as_str() == Some("http-api")
    ));
    assert_eq!(
        manifest["component"]["http-api"]["environment"]["WA_HOST"].as_str(),
        Some("spin")
    );
}

#[test]
fn every_template_names_a_declared_variable_and_tokens_are_secret() {
    let manifest = manifest();
    let declared = manifest["variables"].as_table().expect("[variables]");
    let component = manifest["component"]["http-api"].as_table().unwrap();
    let mut templates: Vec<String> = component["variables"]
        .as_table()
        .expect("[component.http-api.variables]")
        .values()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    templates.extend(
        component["allowed_outbound_hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned()),
    );
    for template in &templates {
        let mut rest = template.as_str();
        while let Some(start) = rest.find("{{") {
            let end = rest[start..].find("}}").expect("unclosed template") + start;
            let name = rest[start + 2..end].trim();
            assert!(
                declared.contains_key(name),
                "{template}: {name} is not declared"
            );
            rest = &rest[end + 2..];
        }
    }
    // The component's config keys are its settings' names in lower case.
    for key in component["variables"].as_table().unwrap().keys() {
        assert_eq!(key, &key.to_ascii_lowercase());
    }
    for secret in ["connector_token", "api_keys", "basic_auth"] {
        assert_eq!(
            declared[secret]["secret"].as_bool(),
            Some(true),
            "{secret} must be a secret variable"
        );
    }
    assert_eq!(
        component["allowed_outbound_hosts"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the component talks to the connector only"
    );
}
