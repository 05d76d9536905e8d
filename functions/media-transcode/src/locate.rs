//! Finding the ffmpeg executable.
//!
//! ffmpeg-sidecar can download ffmpeg by itself; we build it without that
//! feature, because a gateway that fetches binaries from the internet at run
//! time is neither reproducible nor safe. ffmpeg must be installed (a Debian
//! package, a Lambda layer under `/opt/bin`, …) and is found here.

use std::{
    env,
    ffi::OsString,
    path::{Path, PathBuf},
};

/// The environment variable that names the ffmpeg executable explicitly,
/// for hosts where it is not on `PATH` (a Lambda layer in an odd place, a
/// static build next to the binary).
pub const FFMPEG_PATH_ENV: &str = "FFMPEG_PATH";

/// Why ffmpeg could not be found. Each variant says where we looked, so the
/// operator can fix the install rather than guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    /// A path was configured explicitly (argument or [`FFMPEG_PATH_ENV`]) but
    /// no executable file is there.
    #[error("ffmpeg not found at the configured path {}: install ffmpeg there or fix the setting", path.display())]
    NotAtConfiguredPath {
        /// The configured path.
        path: PathBuf,
    },
    /// Nothing was configured and no `ffmpeg` executable is on `PATH`.
    #[error(
        "ffmpeg not found on PATH (searched: {searched}); install ffmpeg (e.g. `apt-get install ffmpeg`) or set {FFMPEG_PATH_ENV}"
    )]
    NotOnPath {
        /// The folders searched, joined with `:`.
        searched: String,
    },
}

/// A located ffmpeg executable. Holding one means the file existed and was
/// executable when it was located, so operations can start from a known path
/// instead of failing deep inside a spawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FfmpegBinary {
    path: PathBuf,
}

impl FfmpegBinary {
    /// Uses `configured` if given (it must be an executable file), otherwise
    /// searches `PATH` for `ffmpeg`.
    pub fn locate(configured: Option<&Path>) -> Result<Self, LocateError> {
        match configured {
            Some(path) if is_executable(path) => Ok(Self {
                path: path.to_path_buf(),
            }),
            Some(path) => Err(LocateError::NotAtConfiguredPath {
                path: path.to_path_buf(),
            }),
            None => search_path(env::var_os("PATH")),
        }
    }

    /// Locates ffmpeg the way deployed functions are configured: the
    /// [`FFMPEG_PATH_ENV`] variable if set and non-empty, else `PATH`.
    pub fn from_env() -> Result<Self, LocateError> {
        let configured = env::var_os(FFMPEG_PATH_ENV).filter(|value| !value.is_empty());
        Self::locate(configured.as_deref().map(Path::new))
    }

    /// The executable's path, as it will be spawned.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn search_path(path_var: Option<OsString>) -> Result<FfmpegBinary, LocateError> {
    let dirs: Vec<PathBuf> = path_var
        .as_deref()
        .map(|value| env::split_paths(value).collect())
        .unwrap_or_default();
    dirs.iter()
        .map(|dir| dir.join(executable_name()))
        .find(|candidate| is_executable(candidate))
        .map(|path| FfmpegBinary { path })
        .ok_or_else(|| LocateError::NotOnPath {
            searched: dirs
                .iter()
                .map(|dir| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        })
}

fn executable_name() -> &'static str {
    if cfg!(windows) {
        "ffmpeg.exe"
    } else {
        "ffmpeg"
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_path_that_does_not_exist_is_a_typed_error() {
        let err = FfmpegBinary::locate(Some(Path::new("/nonexistent/ffmpeg"))).unwrap_err();
        assert!(matches!(err, LocateError::NotAtConfiguredPath { .. }));
        assert!(err.to_string().contains("/nonexistent/ffmpeg"), "{err}");
    }

    #[test]
    fn empty_path_names_what_was_searched() {
        let err = search_path(Some("/nonexistent-a:/nonexistent-b".into())).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("/nonexistent-a:/nonexistent-b"),
            "{message}"
        );
        assert!(message.contains(FFMPEG_PATH_ENV), "{message}");
    }

    #[test]
    fn a_non_executable_file_is_not_ffmpeg() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("ffmpeg");
        std::fs::write(&fake, b"not a program").unwrap();
        assert!(FfmpegBinary::locate(Some(&fake)).is_err());
        assert!(search_path(Some(dir.path().into())).is_err());
    }
}
