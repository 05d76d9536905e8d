//! Encoder settings from the environment: what an operator sets once for
//! every video this deployment converts (the Lambda's variables; the
//! connector passes its flags of the same names).
//!
//! | variable | field of [`VideoOptions`] |
//! | --- | --- |
//! | `FFMPEG_PRESET` | `preset` (x264 preset) |
//! | `FFMPEG_CRF` | `crf` |
//! | `FFMPEG_THREADS` | `threads` (0 or unset: x264 decides) |
//! | `FFMPEG_HWACCEL` | `hwaccel` (`-hwaccel`; empty or `none`: off) |
//! | `WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION` | `passthrough` |

use crate::VideoOptions;

/// x264 preset.
pub const PRESET_ENV: &str = "FFMPEG_PRESET";
/// x264 constant rate factor.
pub const CRF_ENV: &str = "FFMPEG_CRF";
/// Encoder threads.
pub const THREADS_ENV: &str = "FFMPEG_THREADS";
/// ffmpeg's `-hwaccel` method.
pub const HWACCEL_ENV: &str = "FFMPEG_HWACCEL";
/// Send playable uploads as they are.
pub const PASSTHROUGH_ENV: &str = "WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION";

impl VideoOptions {
    /// The defaults with the process environment's settings applied.
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults with the settings `var` returns applied (unset or empty
    /// variables keep the default); checked like any options.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut options = Self::default();
        if let Some(preset) = get(PRESET_ENV) {
            options.preset = preset;
        }
        if let Some(crf) = get(CRF_ENV) {
            options.crf = crf
                .parse()
                .map_err(|_| format!("{CRF_ENV}={crf:?} is not a number from 0 to 51"))?;
        }
        if let Some(threads) = get(THREADS_ENV) {
            let threads: u32 = threads
                .parse()
                .map_err(|_| format!("{THREADS_ENV}={threads:?} is not a number"))?;
            options.threads = (threads > 0).then_some(threads);
        }
        options.hwaccel = get(HWACCEL_ENV).filter(|v| !v.eq_ignore_ascii_case("none"));
        if let Some(flag) = get(PASSTHROUGH_ENV) {
            options.passthrough = match flag.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(format!("{PASSTHROUGH_ENV}={flag:?} is not true or false")),
            };
        }
        options.validate()?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn unset_is_the_defaults() {
        assert_eq!(
            VideoOptions::from_vars(vars(&[])).unwrap(),
            VideoOptions::default()
        );
    }

    #[test]
    fn every_variable_reaches_its_field() {
        let options = VideoOptions::from_vars(vars(&[
            (PRESET_ENV, "slow"),
            (CRF_ENV, "30"),
            (THREADS_ENV, "2"),
            (HWACCEL_ENV, "vaapi"),
            (PASSTHROUGH_ENV, "true"),
        ]))
        .unwrap();
        assert_eq!(options.preset, "slow");
        assert_eq!(options.crf, 30);
        assert_eq!(options.threads, Some(2));
        assert_eq!(options.hwaccel.as_deref(), Some("vaapi"));
        assert!(options.passthrough);
        let off =
            VideoOptions::from_vars(vars(&[(THREADS_ENV, "0"), (HWACCEL_ENV, "none")])).unwrap();
        assert_eq!((off.threads, off.hwaccel), (None, None));
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            (PRESET_ENV, "warp"),
            (CRF_ENV, "52"),
            (CRF_ENV, "high"),
            (THREADS_ENV, "-1"),
            (HWACCEL_ENV, "vaapi -i /etc/passwd"),
            (PASSTHROUGH_ENV, "maybe"),
        ] {
            let error = VideoOptions::from_vars(vars(&[bad])).unwrap_err();
            assert!(!error.is_empty(), "{bad:?}");
        }
    }
}
