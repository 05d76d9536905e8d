//! Where things are: the repository, the target directory, the tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// Paths every command needs.
#[derive(Debug)]
pub struct Context {
    /// The repository's root.
    pub root: PathBuf,
    /// The cargo target directory native builds use.
    pub target_dir: PathBuf,
}

impl Context {
    pub fn new() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask must live one folder below the repository root")?
            .to_owned();
        Ok(Self {
            target_dir: target_dir(&root),
            root,
        })
    }

    /// A `cargo` command at the repository root, building into our target dir.
    pub fn cargo(&self) -> Command {
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir);
        cargo
    }

    /// Where throwaway service state lives (databases, S3 data, logs).
    pub fn services_dir(&self) -> PathBuf {
        self.target_dir.join("xtask-services")
    }
}

/// `CARGO_TARGET_DIR` when set; on CI a cache outside the clone, so that a fresh
/// clone on the same machine reuses earlier builds; else `./target`.
fn target_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            root.join(dir)
        };
    }
    let on_ci = std::env::var("CI").is_ok_and(|value| value == "true" || value == "1");
    if let (true, Some(home)) = (on_ci, std::env::var_os("HOME")) {
        return PathBuf::from(home).join(".cache/wa-gateway/target");
    }
    root.join("target")
}

/// Runs `command`, failing with its name and exit status.
pub fn run(command: &mut Command) -> Result {
    let status = command
        .status()
        .map_err(|error| format!("cannot run {}: {error}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(command)))
    }
}

/// Runs `command` and returns its standard output, trimmed.
pub fn output(command: &mut Command) -> Result<String> {
    let output = command
        .output()
        .map_err(|error| format!("cannot run {}: {error}", describe(command)))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Whether `program` runs at all (found on PATH and answers `arg`).
pub fn runs(program: impl AsRef<std::ffi::OsStr>, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args().take(3) {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    format!("`{text}`")
}
