//! Compiles our own `.proto` files with prost, using the protoc shipped in the
//! `protoc-bin-vendored` crate (no system protoc needed).

fn main() {
    let protoc = protoc_bin_vendored::protoc_bin_path().expect("vendored protoc");
    // prost-build finds protoc through the PROTOC variable.
    unsafe_env_set(&protoc);
    let files = [
        "proto/handshake.proto",
        "proto/payload.proto",
        "proto/adv.proto",
        "proto/message.proto",
        "proto/signal.proto",
        "proto/appstate.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    prost_build::Config::new()
        .compile_protos(&files, &["proto"])
        .expect("compile protos");
}

#[allow(unsafe_code)]
fn unsafe_env_set(protoc: &std::path::Path) {
    // Edition 2024 marks set_var unsafe; a build script has no other threads.
    unsafe { std::env::set_var("PROTOC", protoc) };
}
