//! Who may call the REST API.
//!
//! Two kinds of credentials, configured as settings and checked the same way
//! by the connector's HTTP front and by the REST component when another host
//! (Spin, `wasmtime serve`) runs it:
//!
//! - basic-auth accounts, GOWA's `APP_BASIC_AUTH=user:pass,user2:pass2`;
//! - API keys, `APP_API_KEYS=name:key,…`, presented as `X-Api-Key: <key>` or
//!   `Authorization: Bearer <key>`. A key may be configured by its SHA-256
//!   digest instead (`name:sha256:<64 hex>`) so the plain key need not sit in
//!   the deployment's configuration.
//!
//! Secrets are kept only as SHA-256 digests and compared in constant time,
//! every configured credential checked on every request, so neither a
//! secret's length nor which entry matched shows in the timing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest plain API key accepted: shorter ones are guessable.
pub const MIN_KEY_LEN: usize = 16;

/// The `WWW-Authenticate` challenge sent with a 401 when basic auth is on.
pub const CHALLENGE: &str = r#"Basic realm="wa-gateway""#;

/// A setting that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An `APP_BASIC_AUTH` entry is not `user:password`.
    #[error("each basic-auth account must be `user:password` with both parts non-empty")]
    BadAccount,
    /// An `APP_API_KEYS` entry is not `name:key` or `name:sha256:<hex>`.
    #[error("API key entry {0}: expected `name:key` or `name:sha256:<64 hex digits>`")]
    BadKey(usize),
    /// A plain key is too short to be safe.
    #[error("API key `{0}` is shorter than {MIN_KEY_LEN} characters")]
    ShortKey(String),
    /// Two entries share a name, so logs could not tell them apart.
    #[error("`{0}` is configured twice")]
    Duplicate(String),
}

type Sha256Digest = [u8; 32];

fn digest(secret: &[u8]) -> Sha256Digest {
    Sha256::digest(secret).into()
}

/// One basic-auth account.
#[derive(Clone)]
pub struct Account {
    user: String,
    user_digest: Sha256Digest,
    password_digest: Sha256Digest,
}

/// One API key, known by its name and the digest of the key.
#[derive(Clone)]
pub struct ApiKey {
    name: String,
    digest: Sha256Digest,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Account").field(&self.user).finish()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ApiKey").field(&self.name).finish()
    }
}

/// Who a request was let in as (for logs; never a secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// No credentials are configured: the API is open.
    Anyone,
    /// A basic-auth account, by user name.
    User(&'a str),
    /// An API key, by its configured name.
    Key(&'a str),
}

/// Every credential the API accepts; empty means the API is open.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    accounts: Vec<Account>,
    keys: Vec<ApiKey>,
}

/// The comma-separated entries of a setting, blanks skipped.
fn entries(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|e| !e.is_empty())
}

fn no_duplicates<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ConfigError::Duplicate(name.to_owned()));
        }
    }
    Ok(())
}

/// Reads `APP_BASIC_AUTH`: `user:password` entries, comma-separated.
pub fn parse_accounts(value: &str) -> Result<Vec<Account>, ConfigError> {
    let accounts = entries(value)
        .map(|entry| match entry.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => Ok(Account {
                user: user.to_owned(),
                user_digest: digest(user.as_bytes()),
                password_digest: digest(password.as_bytes()),
            }),
            _ => Err(ConfigError::BadAccount),
        })
        .collect::<Result<Vec<_>, _>>()?;
    no_duplicates(accounts.iter().map(|a| a.user.as_str()))?;
    Ok(accounts)
}

/// Reads `APP_API_KEYS`: `name:key` or `name:sha256:<hex>` entries, comma-separated.
pub fn parse_keys(value: &str) -> Result<Vec<ApiKey>, ConfigError> {
    let keys = entries(value)
        .enumerate()
        .map(|(index, entry)| {
            let position = index + 1;
            let (name, key) = entry
                .split_once(':')
                .filter(|(name, key)| !name.is_empty() && !key.is_empty())
                .ok_or(ConfigError::BadKey(position))?;
            let digest = match key.strip_prefix("sha256:") {
                Some(hex_digest) => {
                    let mut out = [0u8; 32];
                    hex::decode_to_slice(hex_digest, &mut out)
                        .map_err(|_| ConfigError::BadKey(position))?;
                    out
                }
                None if key.chars().count() < MIN_KEY_LEN => {
                    return Err(ConfigError::ShortKey(name.to_owned()));
                }
                None => digest(key.as_bytes()),
            };
            Ok(ApiKey {
                name: name.to_owned(),
                digest,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    no_duplicates(keys.iter().map(|k| k.name.as_str()))?;
    Ok(keys)
}

/// The SHA-256 digest form of `key` for `APP_API_KEYS` (`sha256:<hex>`).
pub fn key_digest(key: &str) -> String {
    format!("sha256:{}", hex::encode(digest(key.as_bytes())))
}

impl Credentials {
    /// Credentials from the two settings' values.
    pub fn parse(basic_auth: &str, api_keys: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(
            parse_accounts(basic_auth)?,
            parse_keys(api_keys)?,
        ))
    }

    /// Credentials from parsed accounts and keys.
    pub fn new(accounts: Vec<Account>, keys: Vec<ApiKey>) -> Self {
        Self { accounts, keys }
    }

    /// Whether nothing is configured (every request is let in).
    pub fn is_open(&self) -> bool {
        self.accounts.is_empty() && self.keys.is_empty()
    }

    /// Whether basic auth is configured (a 401 then carries [`CHALLENGE`]).
    pub fn has_accounts(&self) -> bool {
        !self.accounts.is_empty()
    }

    /// Who the request's `Authorization` and `X-Api-Key` header values prove
    /// it to be, or `None` when they prove nothing and credentials are needed.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        api_key: Option<&str>,
    ) -> Option<Principal<'_>> {
        if self.is_open() {
            return Some(Principal::Anyone);
        }
        let authorization = authorization.map(str::trim);
        let bearer = authorization.and_then(|value| scheme_value(value, "Bearer"));
        if let Some(key) = api_key.map(str::trim).or(bearer) {
            return self.key(key).map(Principal::Key);
        }
        let basic = authorization.and_then(|value| scheme_value(value, "Basic"))?;
        let decoded = BASE64.decode(basic).ok()?;
        let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
        self.account(user, password).map(Principal::User)
    }

    fn key(&self, presented: &str) -> Option<&str> {
        let presented = digest(presented.as_bytes());
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.digest.ct_eq(&presented)) {
                found = Some(key.name.as_str());
            }
        }
        found
    }

    fn account(&self, user: &str, password: &str) -> Option<&str> {
        let (user, password) = (digest(user.as_bytes()), digest(password.as_bytes()));
        let mut found = None;
        for account in &self.accounts {
            let matches =
                account.user_digest.ct_eq(&user) & account.password_digest.ct_eq(&password);
            if bool::from(matches) {
                found = Some(account.user.as_str());
            }
        }
        found
    }
}

/// `value` without its auth scheme (matched case-insensitively, as RFC 9110 says).
fn scheme_value<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| rest.trim())
        .filter(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k3y-for-the-ci-robot";

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
    }

    #[test]
    fn nothing_configured_lets_everyone_in() {
        let open = Credentials::parse("", " , ").unwrap();
        assert!(open.is_open());
        assert_eq!(open.authenticate(None, None), Some(Principal::Anyone));
    }

    #[test]
    fn basic_auth_accounts() {
        let creds = Credentials::parse("admin:s3cret, ops:x:y", "").unwrap();
        assert!(creds.has_accounts());
        let check = |header: &str| creds.authenticate(Some(header), None);
        assert_eq!(
            check(&basic("admin", "s3cret")),
            Some(Principal::User("admin"))
        );
        // The password may itself contain a colon.
        assert_eq!(check(&basic("ops", "x:y")), Some(Principal::User("ops")));
        assert_eq!(
            check(&format!("basic {}", BASE64.encode("admin:s3cret"))),
            Some(Principal::User("admin"))
        );
        assert_eq!(check(&basic("admin", "wrong")), None);
        assert_eq!(check(&basic("nobody", "s3cret")), None);
        assert_eq!(check("Basic not-base64!"), None);
        assert_eq!(creds.authenticate(None, None), None);
        assert!(format!("{creds:?}").contains("admin") && !format!("{creds:?}").contains("s3cret"));
    }

    #[test]
    fn api_keys_by_header_or_bearer_plain_or_digest() {
        let creds = Credentials::parse(
            "admin:s3cret",
            &format!("ci:{KEY},ops:{}", key_digest("another-long-secret-key")),
        )
        .unwrap();
        assert_eq!(
            creds.authenticate(None, Some(KEY)),
            Some(Principal::Key("ci"))
        );
        assert_eq!(
            creds.authenticate(Some(&format!("Bearer {KEY}")), None),
            Some(Principal::Key("ci"))
        );
        assert_eq!(
            creds.authenticate(None, Some("another-long-secret-key")),
            Some(Principal::Key("ops"))
        );
        // A wrong key is refused even when valid basic credentials come along:
        // the client meant the key.
        assert_eq!(
            creds.authenticate(Some(&basic("admin", "s3cret")), Some("nope")),
            None
        );
        assert_eq!(creds.authenticate(Some("Bearer "), None), None);
        // The digest itself is not a key.
        assert_eq!(
            creds.authenticate(None, Some(&key_digest("another-long-secret-key"))),
            None
        );
        assert!(!format!("{creds:?}").contains(KEY));
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        assert_eq!(
            parse_accounts("nocolon").unwrap_err(),
            ConfigError::BadAccount
        );
        assert_eq!(
            parse_accounts(":pass").unwrap_err(),
            ConfigError::BadAccount
        );
        assert_eq!(
            parse_accounts("a:1,a:2").unwrap_err(),
            ConfigError::Duplicate("a".into())
        );
        assert_eq!(
            parse_keys("ci:short").unwrap_err(),
            ConfigError::ShortKey("ci".into())
        );
        assert_eq!(
            parse_keys(&format!("ok:{KEY},bad")).unwrap_err(),
            ConfigError::BadKey(2)
        );
        assert_eq!(
            parse_keys("ci:sha256:abcd").unwrap_err(),
            ConfigError::BadKey(1)
        );
        assert_eq!(
            parse_keys(&format!("ci:{KEY},ci:{KEY}x")).unwrap_err(),
            ConfigError::Duplicate("ci".into())
        );
    }

    #[test]
    fn digest_form_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            key_digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
