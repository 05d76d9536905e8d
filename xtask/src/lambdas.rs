//! `cargo xtask package-lambdas`: the two AWS Lambda functions as the zips
//! Terraform deploys (`webhook_fanout_package`, `media_transcode_package`):
//! each function's binary, built in release, stored as `bootstrap` for the
//! provided.al2023 runtime.
//!
//! The default target is the host's (x86_64-unknown-linux-gnu here, Lambda's
//! `x86_64`). `--target <triple>` builds another one when its `std` is
//! installed (`rustup target add`) and cargo has a linker for it, e.g.
//! aarch64-unknown-linux-gnu for `lambda_architecture = "arm64"` with
//! Debian's `gcc-aarch64-linux-gnu` and
//! `CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;
use crate::context::{Context, output, run};
use crate::zip;

/// A function: its zip's name, its package and its binary.
struct Function {
    zip: &'static str,
    package: &'static str,
    binary: &'static str,
}

const FUNCTIONS: &[Function] = &[
    Function {
        zip: "webhook-fanout",
        package: "webhook-fanout-lambda",
        binary: "webhook-fanout-lambda",
    },
    Function {
        zip: "media-transcode",
        package: "media-transcode",
        binary: "media-transcode-lambda",
    },
];

/// Newest glibc symbol version provided.al2023 has (Amazon Linux 2023 ships
/// glibc 2.34); a gnu binary needing a newer one does not start there.
const LAMBDA_GLIBC: (u32, u32) = (2, 34);

/// Builds and zips every function; `args`: `[--target <triple>] [--out-dir <dir>]`.
pub fn run_package(args: &[String]) -> Result {
    let cx = Context::new()?;
    let mut target = None;
    let mut out_dir = cx.root.join("target/lambda");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => target = Some(args.next().ok_or("--target needs a triple")?.clone()),
            "--out-dir" => {
                out_dir = PathBuf::from(args.next().ok_or("--out-dir needs a folder")?);
            }
            other => return Err(format!("package-lambdas: unknown argument `{other}`")),
        }
    }
    let host = host_triple()?;
    let target = target.unwrap_or(host.clone());
    if target != host {
        check_target_installed(&target)?;
    }
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;

    for function in FUNCTIONS {
        eprintln!("xtask: building {} for {target} (release)", function.binary);
        let mut cargo = cx.cargo();
        cargo
            .args(["build", "--release", "--locked", "-p", function.package])
            .args(["--bin", function.binary])
            // Symbols stay out of the package: a smaller zip, a faster cold start.
            .env("CARGO_PROFILE_RELEASE_STRIP", "symbols");
        // The host's build goes where a plain `cargo build --release` puts it.
        let mut release_dir = cx.target_dir.clone();
        if target != host {
            cargo.args(["--target", &target]);
            release_dir.push(&target);
        }
        run(&mut cargo)?;
        let binary = release_dir.join("release").join(function.binary);
        if target.ends_with("-linux-gnu") {
            check_glibc(&binary)?;
        }
        let data =
            std::fs::read(&binary).map_err(|e| format!("cannot read {}: {e}", binary.display()))?;
        let archive = out_dir.join(format!("{}.zip", function.zip));
        zip::write_executable(&archive, "bootstrap", &data)
            .map_err(|e| format!("cannot write {}: {e}", archive.display()))?;
        eprintln!(
            "xtask: {} ({} MiB, bootstrap inside)",
            archive.display(),
            data.len() / (1024 * 1024)
        );
    }
    let architecture = if target.starts_with("aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    eprintln!("xtask: deploy with lambda_architecture = \"{architecture}\"");
    Ok(())
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    output(Command::new(rustc).arg("-vV"))?
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| "rustc -vV names no host".to_owned())
}

fn check_target_installed(target: &str) -> Result {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|line| line.trim() == target) {
        Ok(())
    } else {
        Err(format!(
            "the standard library for {target} is not installed: `rustup target add {target}` \
             (and a linker for it, see `cargo xtask package-lambdas --help`)"
        ))
    }
}

/// Fails when `binary` needs a glibc newer than Lambda's.
fn check_glibc(binary: &Path) -> Result {
    let Ok(symbols) = output(Command::new("objdump").arg("-T").arg(binary)) else {
        eprintln!("xtask: objdump not found; not checking the glibc version the binary needs");
        return Ok(());
    };
    let newest = symbols
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.').map(str::parse::<u32>);
            Some((parts.next()?.ok()?, parts.next().unwrap_or(Ok(0)).ok()?))
        })
        .max();
    match newest {
        Some(version) if version > LAMBDA_GLIBC => Err(format!(
            "{} needs glibc {}.{}, newer than provided.al2023's {}.{}: build on an older \
             distribution or for a musl target",
            binary.display(),
            version.0,
            version.1,
            LAMBDA_GLIBC.0,
            LAMBDA_GLIBC.1
        )),
        _ => Ok(()),
    }
}
