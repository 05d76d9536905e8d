//! Accounts: the linked WhatsApp devices this connector runs, one row each.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::{Result, StoreError};

/// Longest accepted account id, in bytes: ids appear in URLs and file names.
pub const MAX_ACCOUNT_ID_LEN: usize = 64;
/// Longest accepted push name or JID, in bytes: WhatsApp's own limits are far lower,
/// this only keeps garbage out.
pub const MAX_TEXT_LEN: usize = 1024;

/// The gateway's own name for an account, chosen by the operator or generated.
///
/// Restricted to `[A-Za-z0-9._-]`, 1–64 bytes, so that it is safe in URL paths,
/// log lines and file names without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// Validates and wraps an id; rejects empty, over-long or non-`[A-Za-z0-9._-]` ids.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_ACCOUNT_ID_LEN {
            return Err(StoreError::InvalidInput(format!(
                "account id must be 1 to {MAX_ACCOUNT_ID_LEN} bytes long, got {}",
                id.len()
            )));
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(StoreError::InvalidInput(format!(
                "account id may contain only A-Z, a-z, 0-9, '.', '_' and '-', found {c:?}"
            )));
        }
        Ok(AccountId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an account is in its life: decides whether the connector opens a socket for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// Created, not yet paired with a phone (no JID yet).
    Pending,
    /// Paired; the connector keeps it connected.
    Active,
    /// Paired, but currently not connected (network trouble, operator pause).
    Disconnected,
    /// The phone unlinked the device or WhatsApp logged it out: needs pairing again.
    LoggedOut,
}

impl AccountStatus {
    /// The stored spelling (also used in APIs).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::Active => "active",
            AccountStatus::Disconnected => "disconnected",
            AccountStatus::LoggedOut => "logged_out",
        }
    }

    /// Parses the stored spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => AccountStatus::Pending,
            "active" => AccountStatus::Active,
            "disconnected" => AccountStatus::Disconnected,
            "logged_out" => AccountStatus::LoggedOut,
            _ => return None,
        })
    }

    pub(crate) fn from_db(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown account status {s:?}")))
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One linked WhatsApp device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The gateway's id for it.
    pub id: AccountId,
    /// The device JID WhatsApp assigned at pairing (`<phone>:<device>@s.whatsapp.net`);
    /// `None` until paired. Unique across accounts.
    pub jid: Option<String>,
    /// The profile name the phone reported, if any.
    pub push_name: Option<String>,
    /// Where the account is in its life.
    pub status: AccountStatus,
    /// When it was created (millisecond precision).
    pub created_at: SystemTime,
    /// When it last changed (millisecond precision).
    pub updated_at: SystemTime,
}

/// What is needed to create an account: it starts [`AccountStatus::Pending`] with no JID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// The id to create it under; creating an existing id is a `Conflict`.
    pub id: AccountId,
    /// An optional display name.
    pub push_name: Option<String>,
}

impl NewAccount {
    /// An account with this id and no push name.
    pub fn new(id: AccountId) -> Self {
        NewAccount {
            id,
            push_name: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        validate_text("push name", self.push_name.as_deref())
    }
}

/// A partial update: each `Some` field replaces the stored value, `None` keeps it.
///
/// Nullable columns take `Some(None)` to clear them (unpairing clears the JID).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountPatch {
    /// New JID, or `Some(None)` to clear it.
    pub jid: Option<Option<String>>,
    /// New push name, or `Some(None)` to clear it.
    pub push_name: Option<Option<String>>,
    /// New status.
    pub status: Option<AccountStatus>,
}

impl AccountPatch {
    /// A patch that only changes the status.
    pub fn status(status: AccountStatus) -> Self {
        AccountPatch {
            status: Some(status),
            ..Default::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(Some(jid)) = &self.jid {
            validate_text("jid", Some(jid))?;
            if !jid.contains('@') || jid.starts_with('@') || jid.ends_with('@') {
                return Err(StoreError::InvalidInput(format!(
                    "jid must look like user@server, got {jid:?}"
                )));
            }
        }
        if let Some(name) = &self.push_name {
            validate_text("push name", name.as_deref())?;
        }
        Ok(())
    }

    /// Applies the patch to a stored account, stamping `updated_at`.
    pub(crate) fn apply(self, mut account: Account, now: SystemTime) -> Account {
        if let Some(jid) = self.jid {
            account.jid = jid;
        }
        if let Some(name) = self.push_name {
            account.push_name = name;
        }
        if let Some(status) = self.status {
            account.status = status;
        }
        account.updated_at = now.max(account.updated_at);
        account
    }
}

fn validate_text(what: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) if v.len() > MAX_TEXT_LEN => Err(StoreError::InvalidInput(format!(
            "{what} is longer than {MAX_TEXT_LEN} bytes"
        ))),
        Some(v) if v.contains('\0') => Err(StoreError::InvalidInput(format!(
            "{what} contains a NUL character"
        ))),
        _ => Ok(()),
    }
}

/// Accounts: create, read, list, update and delete linked devices.
///
/// Deleting an account will also delete everything later stores keep for it
/// (credentials, Signal state, messages) through `ON DELETE CASCADE`.
#[async_trait]
pub trait AccountStore: Send + Sync + fmt::Debug {
    /// Creates a `Pending` account; `Conflict` if the id exists.
    async fn create_account(&self, new: NewAccount) -> Result<Account>;

    /// Reads one account; `NotFound` if absent.
    async fn get_account(&self, id: &AccountId) -> Result<Account>;

    /// Lists all accounts, ordered by id.
    async fn list_accounts(&self) -> Result<Vec<Account>>;

    /// Applies a patch atomically and returns the new state; `NotFound` if absent,
    /// `Conflict` if the new JID belongs to another account.
    async fn update_account(&self, id: &AccountId, patch: AccountPatch) -> Result<Account>;

    /// Deletes an account and everything stored for it; `NotFound` if absent.
    async fn delete_account(&self, id: &AccountId) -> Result<()>;

    /// Sets only the status (the most frequent update: connect, disconnect, logout).
    async fn set_account_status(&self, id: &AccountId, status: AccountStatus) -> Result<Account> {
        self.update_account(id, AccountPatch::status(status)).await
    }
}
