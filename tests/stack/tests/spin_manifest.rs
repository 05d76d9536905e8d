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
