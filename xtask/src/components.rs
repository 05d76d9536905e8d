//! Building the WebAssembly components in `functions/` for `wasm32-wasip2`.
//!
//! With rustup's `wasm32-wasip2` target installed (a laptop: `rustup target add
//! wasm32-wasip2`) this is a plain cargo build. Where rustup cannot add targets
//! (our CI machines), Debian's own Rust compiler builds `std` for wasm from its
//! shipped sources: see `shared/docs/toolchain.md`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::context::{Context, output, run};
use crate::{Result, install};

const TARGET: &str = "wasm32-wasip2";
/// Debian's compiler, used only for wasm builds: never set RUSTC globally, or
/// native builds would switch compilers and rebuild everything.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "rust-web-src",
    "rust-web-llvm",
    "wasi-libc",
    "lld",
];
const WASI_LIBC_DIR: &str = "/usr/lib/wasm32-wasi";

/// The built component files.
#[derive(Debug)]
pub struct Components {
    /// The REST API component.
    pub http_api: PathBuf,
    /// A misbehaving component the host's limits are tested against.
    pub test_guest: PathBuf,
    /// The webhook fan-out component.
    pub webhook_fanout: PathBuf,
}

/// Builds every component and returns where they are.
pub fn build(cx: &Context, release: bool) -> Result<Components> {
    let target_dir = cx.target_dir.join("components");
    let mut cargo = cx.cargo();
    cargo
        .current_dir(cx.root.join("functions"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .args(["build", "--workspace", "--target", TARGET]);
    if release {
        cargo.arg("--release");
    }
    match toolchain()? {
        Toolchain::Rustup => {}
        Toolchain::DebianBuildStd => {
            cargo
                .arg("-Zbuild-std=std,panic_abort")
                .env("RUSTC", DEBIAN_RUSTC)
                // Without it cargo silently ignores -Z and fails to find `core`.
                .env("RUSTC_BOOTSTRAP", "1")
                .env(
                    "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
                    format!("-L {WASI_LIBC_DIR}"),
                );
        }
    }
    eprintln!("xtask: building the WebAssembly components");
    run(&mut cargo)?;
    let profile = if release { "release" } else { "debug" };
    let out = target_dir.join(TARGET).join(profile);
    let components = Components {
        http_api: out.join("http_api.wasm"),
        test_guest: out.join("test_guest.wasm"),
        webhook_fanout: out.join("webhook_fanout.wasm"),
    };
    for file in [
        &components.http_api,
        &components.test_guest,
        &components.webhook_fanout,
    ] {
        if !file.is_file() {
            return Err(format!("the build did not produce {}", file.display()));
        }
    }
    Ok(components)
}

enum Toolchain {
    /// rustup's own `wasm32-wasip2` target.
    Rustup,
    /// Debian's rustc building `std` from source.
    DebianBuildStd,
}

fn toolchain() -> Result<Toolchain> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]));
    if installed.is_ok_and(|targets| targets.lines().any(|line| line.trim() == TARGET)) {
        return Ok(Toolchain::Rustup);
    }
    if !debian_toolchain_ready() {
        install::apt(
            DEBIAN_PACKAGES,
            "building wasm32-wasip2 components without rustup's target",
        )
        .map_err(|error| format!("{error}; or, with rustup: `rustup target add {TARGET}`"))?;
        if !debian_toolchain_ready() {
            return Err(format!(
                "Debian's Rust toolchain for {TARGET} is incomplete after installing {}",
                DEBIAN_PACKAGES.join(" ")
            ));
        }
    }
    Ok(Toolchain::DebianBuildStd)
}

/// Debian's rustc with its library sources, the component linker and wasi-libc.
fn debian_toolchain_ready() -> bool {
    let Ok(sysroot) = output(Command::new(DEBIAN_RUSTC).args(["--print", "sysroot"])) else {
        return false;
    };
    let Some(host) = output(Command::new(DEBIAN_RUSTC).arg("-vV"))
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        })
    else {
        return false;
    };
    let rustlib = Path::new(&sysroot).join("lib/rustlib");
    rustlib.join("src/rust/library/std").is_dir()
        && rustlib.join(host).join("bin/wasm-component-ld").is_file()
        && Path::new(WASI_LIBC_DIR).join("libc.a").is_file()
}
