//! The connector's configuration, in one place: every setting is a flag with a
//! matching environment variable (GOWA's names where GOWA has one), so the same
//! deployment recipes work for both.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use wa_media::{MediaConfig, S3Config};
use wa_proto::cert::TrustRoot;
use wa_store::{AccountId, DatabaseUri, PoolOptions, SqliteSynchronous, StoreOptions};

/// The WhatsApp HTTP gateway's connector.
#[derive(Debug, Parser)]
#[command(name = "wa-connector", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The connector's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API and hold the WhatsApp connections.
    Serve(ServeConfig),
}

/// Settings of `wa-connector serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long = "host", env = "APP_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free one and logs it).
    #[arg(long = "port", env = "APP_PORT", default_value_t = 3000)]
    pub port: u16,

    /// Basic-auth accounts for the API, as `user:pass,user2:pass2`. Empty: no auth.
    #[arg(long = "basic-auth", env = "APP_BASIC_AUTH", value_parser = parse_basic_auth, default_value = "", hide_default_value = true, hide_env_values = true)]
    pub basic_auth: BasicAuth,

    /// API keys, as `name:key,…` (keys of 16+ characters) or
    /// `name:sha256:<hex digest of the key>`; clients send `X-Api-Key: <key>`
    /// or `Authorization: Bearer <key>`. Empty: no keys.
    #[arg(long = "api-keys", env = "APP_API_KEYS", value_parser = parse_api_keys, default_value = "", hide_default_value = true, hide_env_values = true)]
    pub api_keys: ApiKeys,

    /// Verbose logs (same as RUST_LOG=debug for the gateway's own crates).
    #[arg(long = "debug", env = "APP_DEBUG", default_value_t = false)]
    pub debug: bool,

    /// Database: `file:PATH` (SQLite, the default) or `postgres://user:pass@host/db`.
    #[arg(long = "db-uri", env = "DB_URI", default_value = "file:data/wa.db", value_parser = parse_db_uri, hide_env_values = true)]
    pub db_uri: DatabaseUri,

    /// Most database connections open at once (both backends; overrides the URI's
    /// `pool_size`). Default: 4 for SQLite, 8 for PostgreSQL.
    #[arg(long = "db-max-open-conns", env = "DB_MAX_OPEN_CONNS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub db_max_open_conns: Option<u16>,

    /// Most unused database connections kept open; extra ones are closed when
    /// handed back (PostgreSQL: within 5 s). Unset: all of them are kept.
    #[arg(long = "db-max-idle-conns", env = "DB_MAX_IDLE_CONNS")]
    pub db_max_idle_conns: Option<u16>,

    /// A database connection older than this is closed instead of reused (`30m`,
    /// `1h`), e.g. to follow a PostgreSQL failover or proxy rebalance. Unset: never.
    #[arg(long = "db-conn-max-lifetime", env = "DB_CONN_MAX_LIFETIME", value_parser = parse_duration)]
    pub db_conn_max_lifetime: Option<Duration>,

    /// SQLite: how long a write waits for another connection's lock before failing
    /// (overrides the URI's `_busy_timeout`). Default: 5s.
    #[arg(long = "db-sqlite-busy-timeout", env = "DB_SQLITE_BUSY_TIMEOUT", value_parser = parse_duration)]
    pub db_sqlite_busy_timeout: Option<Duration>,

    /// SQLite: page cache per connection, in KiB. Default: SQLite's 2048.
    #[arg(long = "db-sqlite-cache-size-kib", env = "DB_SQLITE_CACHE_SIZE_KIB", value_parser = clap::value_parser!(u32).range(1..))]
    pub db_sqlite_cache_size_kib: Option<u32>,

    /// SQLite: `full` (a commit survives a power cut; the default) or `normal`
    /// (WAL stays consistent, the last commits before a power cut may be lost).
    #[arg(long = "db-sqlite-synchronous", env = "DB_SQLITE_SYNCHRONOUS", value_parser = parse_synchronous)]
    pub db_sqlite_synchronous: Option<SqliteSynchronous>,

    /// Store chat history (messages and chats). `false`: received and sent
    /// messages are not kept (a send only until it is finished); sends, receipts
    /// and webhooks work as usual, message and chat listings come back empty.
    #[arg(long = "chat-storage", env = "WHATSAPP_CHAT_STORAGE", default_value_t = true, action = clap::ArgAction::Set)]
    pub chat_storage: bool,

    /// Delete messages older than this many days (by message time), in the
    /// background. 0: keep them forever.
    #[arg(
        long = "message-retention-days",
        env = "WHATSAPP_MESSAGE_RETENTION_DAYS",
        default_value_t = 0
    )]
    pub message_retention_days: u32,

    /// Delete stored media older than this many days from the media store. 0: keep
    /// it forever.
    #[arg(
        long = "media-retention-days",
        env = "WHATSAPP_MEDIA_RETENTION_DAYS",
        default_value_t = 0
    )]
    pub media_retention_days: u32,

    /// How often retention runs (when a retention is set); the first run is at
    /// startup.
    #[arg(long = "retention-interval", env = "WHATSAPP_RETENTION_INTERVAL", default_value = "1h", value_parser = parse_duration)]
    pub retention_interval: Duration,

    /// Rows (or media objects) retention deletes per batch; it pauses between
    /// batches so traffic is never held up for long.
    #[arg(long = "retention-batch-size", env = "WHATSAPP_RETENTION_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub retention_batch_size: u32,

    /// Media store: a folder path (`file:PATH` or a plain path) or `s3://bucket[/prefix]`.
    #[arg(long = "media-uri", env = "MEDIA_URI", default_value = "file:data/media", value_parser = parse_media_uri)]
    pub media_uri: MediaUri,

    /// S3 endpoint for S3-compatible servers (AWS itself needs none).
    #[arg(long = "s3-endpoint", env = "S3_ENDPOINT")]
    pub s3_endpoint: Option<url::Url>,

    /// Webhook URLs that receive every event, comma-separated.
    #[arg(long = "webhook", env = "WHATSAPP_WEBHOOK", value_delimiter = ',', value_parser = parse_webhook_url)]
    pub webhooks: Vec<url::Url>,

    /// Secret for the `X-Hub-Signature-256` HMAC of webhook bodies.
    #[arg(
        long = "webhook-secret",
        env = "WHATSAPP_WEBHOOK_SECRET",
        default_value = "secret",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub webhook_secret: Secret,

    /// Only these events go to the `WHATSAPP_WEBHOOK` URLs, comma-separated
    /// (`message`, `message.ack`, `connection.*`, ...). Empty: every event.
    #[arg(
        long = "webhook-events",
        env = "WHATSAPP_WEBHOOK_EVENTS",
        value_delimiter = ','
    )]
    pub webhook_events: Vec<String>,

    /// How long one webhook attempt waits for the receiver, e.g. `10s`.
    #[arg(long = "webhook-timeout", env = "WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,

    /// Webhook attempts in flight at once.
    #[arg(
        long = "webhook-concurrent-deliveries",
        env = "WEBHOOK_CONCURRENT_DELIVERIES",
        default_value_t = 8
    )]
    pub webhook_concurrency: usize,

    /// How long a failing delivery is retried (exponential back-off with jitter)
    /// before it moves to the dead-letter list, e.g. `24h`, `30m`.
    #[arg(long = "webhook-retry-window", env = "WEBHOOK_RETRY_WINDOW", default_value = "24h", value_parser = parse_duration)]
    pub webhook_retry_window: Duration,

    /// Serve HTTPS with this PEM certificate chain (leaf first); needs
    /// `TLS_KEY_FILE`. Without it the listener speaks plain HTTP (put a
    /// TLS-terminating proxy in front when it is reachable from a network).
    #[arg(
        long = "tls-cert-file",
        env = "TLS_CERT_FILE",
        requires = "tls_key_file"
    )]
    pub tls_cert_file: Option<PathBuf>,

    /// The PEM private key of `TLS_CERT_FILE`.
    #[arg(
        long = "tls-key-file",
        env = "TLS_KEY_FILE",
        requires = "tls_cert_file"
    )]
    pub tls_key_file: Option<PathBuf>,

    /// Cloud mode: an SQS queue URL. Attempts go there for the
    /// `webhook-fanout-lambda` function (which reports outcomes back through
    /// the internal endpoint) instead of the hosted fan-out component.
    /// Credentials, region and endpoint come from the standard AWS chain.
    #[arg(long = "webhook-queue-url", env = "WEBHOOK_QUEUE_URL")]
    pub webhook_queue_url: Option<String>,

    /// The webhook fan-out component (`webhook_fanout.wasm`), built by `cargo xtask build-components`.
    #[arg(
        long = "webhook-component",
        env = "WA_WEBHOOK_COMPONENT",
        default_value = "components/webhook_fanout.wasm"
    )]
    pub webhook_component: PathBuf,

    /// The REST API component (`http_api.wasm`), built by `cargo xtask build-components`.
    #[arg(
        long = "http-component",
        env = "WA_HTTP_COMPONENT",
        default_value = "components/http_api.wasm"
    )]
    pub http_component: PathBuf,

    /// Where compiled components are cached between starts.
    #[arg(
        long = "component-cache",
        env = "WA_COMPONENT_CACHE",
        default_value = "data/cache/components"
    )]
    pub component_cache: PathBuf,

    /// How long one API request may run, e.g. `30s`, `500ms`.
    #[arg(long = "request-timeout", env = "APP_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// The WhatsApp chat WebSocket (`ws://` only for a local simulator).
    #[arg(long = "wa-server-url", env = "WA_SERVER_URL", default_value = crate::accounts::DEFAULT_SERVER_URL, value_parser = parse_server_url)]
    pub server_url: url::Url,

    /// The Noise certificate root the server must present, as 64 hex digits
    /// (optionally `:SERIAL`); default: WhatsApp's own root. Set it to a simulator's.
    #[arg(long = "wa-trust-root", env = "WA_TRUST_ROOT", default_value = "whatsapp", value_parser = parse_trust_root)]
    pub trust_root: TrustRoot,

    /// Start linking this account id at startup when it has no credentials (its QR
    /// code is drawn in the terminal). Accounts with credentials always resume.
    #[arg(long = "link-account", env = "WA_LINK_ACCOUNT", value_parser = parse_account_id)]
    pub link_account: Option<AccountId>,

    /// Draw QR codes in the terminal while an account waits to be linked.
    #[arg(long = "print-qr", env = "WA_PRINT_QR", default_value_t = true, action = clap::ArgAction::Set)]
    pub print_qr: bool,

    /// Serve the internal endpoint (`/internal/v1/…`, the WIT world `connector` as
    /// JSON) on the listener to callers with `Authorization: Bearer <token>`: the
    /// cloud mode's REST component calls it from its Spin host. Unset: only the
    /// components hosted in this process reach it (in-process, never over TCP).
    #[arg(
        long = "internal-api-token",
        env = "INTERNAL_API_TOKEN",
        hide_env_values = true
    )]
    pub internal_api_token: Option<Secret>,

    /// Let `GET /metrics` (Prometheus text format) be scraped without the
    /// API's credentials. Off: it needs them like every API route.
    #[arg(long = "metrics-public", env = "METRICS_PUBLIC", default_value_t = false, action = clap::ArgAction::Set)]
    pub metrics_public: bool,

    /// The largest image `/send/image` and `/send/sticker` accept, in bytes.
    #[arg(long = "max-file-size-image", env = "WHATSAPP_MAX_FILE_SIZE_IMAGE", default_value_t = 20 * MIB)]
    pub max_file_size_image: u64,

    /// The largest video `/send/video` accepts, in bytes.
    #[arg(long = "max-file-size-video", env = "WHATSAPP_MAX_FILE_SIZE_VIDEO", default_value_t = 100 * MIB)]
    pub max_file_size_video: u64,

    /// The largest file `/send/file` accepts, in bytes.
    #[arg(long = "max-file-size-document", env = "WHATSAPP_MAX_FILE_SIZE_DOCUMENT", default_value_t = 50 * MIB)]
    pub max_file_size_document: u64,

    /// The largest audio file `/send/audio` accepts, in bytes.
    #[arg(long = "max-file-size-audio", env = "WHATSAPP_MAX_FILE_SIZE_AUDIO", default_value_t = 16 * MIB)]
    pub max_file_size_audio: u64,

    /// The x264 preset videos are encoded with: `ultrafast` … `veryslow`,
    /// trading CPU time for a smaller file at the same quality.
    #[arg(long = "ffmpeg-preset", env = "FFMPEG_PRESET", default_value = "veryfast", value_parser = clap::builder::PossibleValuesParser::new(media_transcode::VIDEO_PRESETS))]
    pub ffmpeg_preset: String,

    /// The x264 constant rate factor for encoded videos: 0 (lossless) to 51;
    /// each step of 6 roughly halves or doubles the size.
    #[arg(long = "ffmpeg-crf", env = "FFMPEG_CRF", default_value_t = 23, value_parser = clap::value_parser!(u8).range(0..=51))]
    pub ffmpeg_crf: u8,

    /// Encoder threads per video conversion; 0 lets x264 use every core.
    #[arg(long = "ffmpeg-threads", env = "FFMPEG_THREADS", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub ffmpeg_threads: u32,

    /// Hardware decoding for video conversions (ffmpeg's `-hwaccel`: `auto`,
    /// `vaapi`, `cuda`, ...); unset or `none`: software. Encoding stays libx264.
    #[arg(long = "ffmpeg-hwaccel", env = "FFMPEG_HWACCEL")]
    pub ffmpeg_hwaccel: Option<String>,

    /// Send a video WhatsApp already plays (H.264/AAC MP4 with faststart)
    /// byte for byte as uploaded; others are still converted.
    #[arg(long = "send-media-without-recompression", env = "WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION", default_value_t = false, action = clap::ArgAction::Set)]
    pub send_media_without_recompression: bool,

    /// Let `image_url`/`file_url`/... fetch from loopback and private addresses
    /// (off: a client cannot make the gateway probe its own network).
    #[arg(long = "allow-private-media-urls", env = "WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_media_urls: bool,

    /// Give `/send/link` messages a preview card: the linked page's title,
    /// description and picture, read by the gateway under the same address
    /// rules as media URLs (off: the link goes as plain text).
    #[arg(long = "link-preview", env = "WHATSAPP_LINK_PREVIEW", default_value_t = true, action = clap::ArgAction::Set)]
    pub link_preview: bool,

    /// How long `/send/link` may spend reading the page and its picture
    /// (`500ms`, `5s`); past it the text goes without a card, or the card
    /// without a picture.
    #[arg(long = "link-preview-timeout", env = "WHATSAPP_LINK_PREVIEW_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub link_preview_timeout: Duration,

    /// Decline every incoming call as it rings (GOWA's setting): the caller sees
    /// it declined, and the `call.offer` webhook says `auto_rejected: true`.
    #[arg(long = "auto-reject-call", env = "WHATSAPP_AUTO_REJECT_CALL", default_value_t = false, action = clap::ArgAction::Set)]
    pub auto_reject_call: bool,

    /// Download the media of every received message into the media store as it
    /// arrives (GOWA's setting); when off, media is fetched on demand.
    #[arg(long = "auto-download-media", env = "WHATSAPP_AUTO_DOWNLOAD_MEDIA", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_download_media: bool,

    /// API requests one client (API key, basic-auth user, or remote address
    /// when the API is open) may make per minute; more get 429 with
    /// `Retry-After`. 0: no limit. `/health`, `/ready`, `/metrics` are exempt.
    #[arg(
        long = "rate-limit-requests-per-minute",
        env = "RATE_LIMIT_REQUESTS_PER_MINUTE",
        default_value_t = 0
    )]
    pub rate_limit_requests_per_minute: u32,

    /// API requests a client may make at once, above its per-minute rate.
    #[arg(
        long = "rate-limit-burst",
        env = "RATE_LIMIT_BURST",
        default_value_t = 20
    )]
    pub rate_limit_burst: u32,

    /// Messages each account sends per minute at most; sends beyond it stay
    /// queued and go out at this pace. Well under the 50–100 a minute that get
    /// numbers flagged. 0: no pacing.
    #[arg(
        long = "whatsapp-rate-limit-messages-per-minute",
        env = "WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE",
        default_value_t = 20
    )]
    pub send_rate_per_minute: u32,

    /// Messages an idle account may send at once before the pace applies.
    #[arg(
        long = "whatsapp-rate-limit-burst",
        env = "WHATSAPP_RATE_LIMIT_BURST",
        default_value_t = 5
    )]
    pub send_rate_burst: u32,

    /// The longest one outbound transfer (media upload or download, webhook
    /// delivery, `image_url`/`file_url` fetch) may take, e.g. `300s`.
    #[arg(long = "http-client-timeout", env = "HTTP_CLIENT_TIMEOUT", default_value = "300s", value_parser = parse_duration)]
    pub http_client_timeout: Duration,

    /// Idle outbound connections kept per host for reuse, by media transfers,
    /// webhook deliveries and `image_url`/`file_url` fetches (0: connect anew
    /// for every transfer).
    #[arg(
        long = "http-client-max-idle-per-host",
        env = "HTTP_CLIENT_MAX_IDLE_PER_HOST",
        default_value_t = 8
    )]
    pub http_client_max_idle_per_host: usize,

    /// How long an idle outbound connection is kept, e.g. `90s`.
    #[arg(long = "http-client-idle-timeout", env = "HTTP_CLIENT_IDLE_TIMEOUT", default_value = "90s", value_parser = parse_duration)]
    pub http_client_idle_timeout: Duration,

    /// Serve CPU profiles at `GET /debug/pprof/profile?seconds=N` (pprof
    /// protobuf, at most 120 s) to callers with the API's credentials.
    #[arg(long = "pprof", env = "PPROF_ENABLED", default_value_t = false, action = clap::ArgAction::Set)]
    pub pprof: bool,
}

fn parse_server_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value.trim()).map_err(|error| format!("not a URL: {error}"))?;
    match url.scheme() {
        "ws" | "wss" if url.host().is_some() => Ok(url),
        "ws" | "wss" => Err("the URL needs a host".to_owned()),
        other => Err(format!("expected ws:// or wss://, not `{other}`")),
    }
}

/// Parses `HEX` or `HEX:SERIAL` (or `whatsapp` for the real root).
fn parse_trust_root(value: &str) -> Result<TrustRoot, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("whatsapp") {
        return Ok(TrustRoot::default());
    }
    let (key, serial) = match value.split_once(':') {
        Some((k, s)) => (
            k,
            s.parse::<u32>()
                .map_err(|_| "the serial after `:` must be a number".to_owned())?,
        ),
        None => (value, wa_proto::cert::WA_ROOT_SERIAL),
    };
    let key: [u8; 32] = hex::decode(key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "expected 64 hex digits (a 32-byte public key)".to_owned())?;
    Ok(TrustRoot { key, serial })
}

fn parse_account_id(value: &str) -> Result<AccountId, String> {
    AccountId::new(value).map_err(|error| error.to_string())
}

const MIB: u64 = 1024 * 1024;

/// A value that must never reach a log line.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// The accounts allowed through basic auth (secrets kept as digests).
#[derive(Debug, Clone, Default)]
pub struct BasicAuth(pub Vec<api_auth::Account>);

/// The API keys accepted (kept as digests).
#[derive(Debug, Clone, Default)]
pub struct ApiKeys(pub Vec<api_auth::ApiKey>);

fn parse_basic_auth(value: &str) -> Result<BasicAuth, String> {
    api_auth::parse_accounts(value)
        .map(BasicAuth)
        .map_err(|e| e.to_string())
}

fn parse_api_keys(value: &str) -> Result<ApiKeys, String> {
    api_auth::parse_keys(value)
        .map(ApiKeys)
        .map_err(|e| e.to_string())
}

fn parse_db_uri(value: &str) -> Result<DatabaseUri, String> {
    // The store's own parser: one definition of what a database URI means.
    DatabaseUri::parse(value).map_err(|error| error.to_string())
}

/// Where media blobs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaUri {
    /// A local folder (created if missing).
    Folder(PathBuf),
    /// An S3 bucket and key prefix.
    S3 {
        /// The bucket's name.
        bucket: String,
        /// A prefix for every key (may be empty).
        prefix: String,
    },
}

impl ServeConfig {
    /// The database URI with the pool and SQLite knobs applied.
    pub fn database(&self) -> DatabaseUri {
        let mut uri = self.db_uri.clone();
        uri.apply(&StoreOptions {
            pool: PoolOptions {
                max_open: self.db_max_open_conns.map(usize::from),
                max_idle: self.db_max_idle_conns.map(usize::from),
                max_lifetime: self.db_conn_max_lifetime,
            },
            sqlite_busy_timeout: self.db_sqlite_busy_timeout,
            sqlite_cache_size_kib: self.db_sqlite_cache_size_kib,
            sqlite_synchronous: self.db_sqlite_synchronous,
        });
        uri
    }

    /// What retention deletes and how, from the retention knobs.
    pub fn retention(&self) -> crate::retention::RetentionPolicy {
        crate::retention::RetentionPolicy {
            messages: crate::retention::days(self.message_retention_days),
            media: crate::retention::days(self.media_retention_days),
            interval: self.retention_interval,
            batch_size: self.retention_batch_size,
        }
    }

    /// Everyone who may call the API: the basic-auth accounts and the API keys.
    pub fn credentials(&self) -> api_auth::Credentials {
        api_auth::Credentials::new(self.basic_auth.0.clone(), self.api_keys.0.clone())
    }

    /// The per-client API rate limit, if any.
    pub fn api_rate_limit(&self) -> Option<crate::rate_limit::RateLimit> {
        crate::rate_limit::RateLimit::new(
            self.rate_limit_requests_per_minute,
            self.rate_limit_burst,
        )
    }

    /// How the outbound HTTP client is built.
    pub fn http_client(&self) -> crate::http_client::HttpClientConfig {
        crate::http_client::HttpClientConfig {
            timeout: self.http_client_timeout,
            max_idle_per_host: self.http_client_max_idle_per_host,
            idle_timeout: self.http_client_idle_timeout,
        }
    }

    /// Each account's send pace, if any.
    pub fn send_rate(&self) -> Option<crate::rate_limit::RateLimit> {
        crate::rate_limit::RateLimit::new(self.send_rate_per_minute, self.send_rate_burst)
    }

    /// The webhook settings the fan-out uses.
    pub fn webhook_options(&self) -> crate::webhooks::WebhookOptions {
        crate::webhooks::WebhookOptions {
            urls: self.webhooks.iter().map(|u| u.to_string()).collect(),
            secret: self.webhook_secret.clone(),
            events: self.webhook_events.clone(),
            timeout: self.webhook_timeout,
            concurrency: self.webhook_concurrency.max(1),
            retry_window: self.webhook_retry_window,
        }
    }

    /// How videos and voice notes sent through the API are converted: the
    /// encoder flags, checked the way media-transcode checks its variables.
    pub fn media_conversion(&self) -> Result<crate::transcode::MediaConversion, String> {
        use media_transcode::encoder_env::{
            CRF_ENV, HWACCEL_ENV, PASSTHROUGH_ENV, PRESET_ENV, THREADS_ENV,
        };
        let video = media_transcode::VideoOptions::from_vars(|name| match name {
            PRESET_ENV => Some(self.ffmpeg_preset.clone()),
            CRF_ENV => Some(self.ffmpeg_crf.to_string()),
            THREADS_ENV => Some(self.ffmpeg_threads.to_string()),
            HWACCEL_ENV => self.ffmpeg_hwaccel.clone(),
            PASSTHROUGH_ENV => Some(self.send_media_without_recompression.to_string()),
            _ => None,
        })?;
        Ok(crate::transcode::MediaConversion {
            video,
            max_video_bytes: self.max_file_size_video,
        })
    }

    /// The settings the REST component reads from its environment (limits and
    /// switches, never secrets).
    pub fn component_env(&self) -> Vec<(String, String)> {
        [
            (
                "WHATSAPP_MAX_FILE_SIZE_IMAGE",
                self.max_file_size_image.to_string(),
            ),
            (
                "WHATSAPP_MAX_FILE_SIZE_VIDEO",
                self.max_file_size_video.to_string(),
            ),
            (
                "WHATSAPP_MAX_FILE_SIZE_DOCUMENT",
                self.max_file_size_document.to_string(),
            ),
            (
                "WHATSAPP_MAX_FILE_SIZE_AUDIO",
                self.max_file_size_audio.to_string(),
            ),
            (
                "WHATSAPP_ALLOW_PRIVATE_MEDIA_URLS",
                self.allow_private_media_urls.to_string(),
            ),
            ("WHATSAPP_LINK_PREVIEW", self.link_preview.to_string()),
            (
                "WHATSAPP_LINK_PREVIEW_TIMEOUT",
                format!("{}ms", self.link_preview_timeout.as_millis()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The media store's settings: `MEDIA_URI` plus, for S3, the endpoint.
    /// Credentials come from the standard AWS chain, never from flags.
    pub fn media_config(&self) -> MediaConfig {
        match &self.media_uri {
            MediaUri::Folder(path) => MediaConfig::Folder { path: path.clone() },
            MediaUri::S3 { bucket, prefix } => {
                let mut s3 = S3Config::new(bucket.as_str());
                s3.prefix = (!prefix.is_empty()).then(|| prefix.clone());
                if let Some(endpoint) = &self.s3_endpoint {
                    s3.endpoint = Some(endpoint.to_string());
                    // S3-compatible servers rarely have virtual-host buckets.
                    s3.force_path_style = true;
                }
                MediaConfig::S3(s3)
            }
        }
    }
}

fn parse_media_uri(value: &str) -> Result<MediaUri, String> {
    if let Some(rest) = value.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err("`s3://` needs a bucket name".to_owned());
        }
        return Ok(MediaUri::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        });
    }
    let path = value.strip_prefix("file:").unwrap_or(value);
    if path.is_empty() || value.contains("://") {
        return Err("expected a folder path, `file:PATH` or `s3://bucket[/prefix]`".to_owned());
    }
    Ok(MediaUri::Folder(PathBuf::from(path)))
}

fn parse_webhook_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value.trim()).map_err(|error| format!("not a URL: {error}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("webhooks must be http or https, not `{other}`")),
    }
}

fn parse_synchronous(value: &str) -> Result<SqliteSynchronous, String> {
    SqliteSynchronous::parse(value.trim()).ok_or_else(|| "expected `full` or `normal`".to_owned())
}

/// Parses `30s`, `500ms`, `2m`, `24h` or a plain number of seconds.
fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| "expected a duration such as `30s`, `500ms` or `2m`".to_owned())?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        _ => return Err(format!("unknown unit `{unit}`: use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("the duration must be positive".to_owned());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_uri_accepts_gowa_forms() {
        assert!(matches!(
            parse_db_uri("file:storages/whatsapp.db?_foreign_keys=on").unwrap(),
            DatabaseUri::Sqlite(_)
        ));
        assert!(matches!(
            parse_db_uri("postgres://u:p@localhost:5432/wa").unwrap(),
            DatabaseUri::Postgres(_)
        ));
        assert!(parse_db_uri("mysql://x").is_err());
    }

    #[test]
    fn postgres_password_is_not_printed() {
        let uri = parse_db_uri("postgres://u:hunter2@localhost/wa").unwrap();
        assert!(!format!("{uri:?}").contains("hunter2"));
        let error = parse_db_uri("postgres://u:hunter2@").unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn basic_auth_lists_accounts_and_hides_passwords() {
        let auth = parse_basic_auth("admin:s3cret, ops:x").unwrap();
        assert!(parse_api_keys("ci:short").is_err());
        assert_eq!(parse_api_keys("ci:0123456789abcdef").unwrap().0.len(), 1);
        assert_eq!(auth.0.len(), 2);
        assert!(!format!("{auth:?}").contains("s3cret"));
        assert!(parse_basic_auth("nocolon").is_err());
        assert!(parse_basic_auth(":pass").is_err());
        assert!(parse_basic_auth("").unwrap().0.is_empty());
    }

    #[test]
    fn media_uri_forms() {
        assert_eq!(
            parse_media_uri("data/media").unwrap(),
            MediaUri::Folder("data/media".into())
        );
        assert_eq!(
            parse_media_uri("s3://bucket/wa/media/").unwrap(),
            MediaUri::S3 {
                bucket: "bucket".into(),
                prefix: "wa/media".into()
            }
        );
        assert!(parse_media_uri("s3://").is_err());
        assert!(parse_media_uri("ftp://x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn webhook_urls_must_be_http() {
        assert!(parse_webhook_url("https://example.com/hook").is_ok());
        assert!(parse_webhook_url("file:///etc/passwd").is_err());
        assert!(parse_webhook_url("not a url").is_err());
    }

    #[test]
    fn server_url_and_trust_root() {
        assert!(parse_server_url("wss://web.whatsapp.com/ws/chat").is_ok());
        assert!(parse_server_url("ws://127.0.0.1:9/ws/chat").is_ok());
        assert!(parse_server_url("https://web.whatsapp.com").is_err());
        assert_eq!(parse_trust_root("whatsapp").unwrap(), TrustRoot::default());
        let hex = "11".repeat(32);
        let root = parse_trust_root(&hex).unwrap();
        assert_eq!(root.key, [0x11; 32]);
        assert_eq!(parse_trust_root(&format!("{hex}:7")).unwrap().serial, 7);
        assert!(parse_trust_root("abcd").is_err());
        assert!(parse_trust_root(&format!("{hex}:x")).is_err());
        assert!(parse_account_id("main").is_ok());
        assert!(parse_account_id("a b").is_err());
    }

    #[test]
    fn storage_knobs_reach_the_store_options() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["wa-connector", "serve"], args].concat()).unwrap();
            let Command::Serve(config) = cli.command;
            config
        };
        let defaults = serve(&["--db-uri=file:wa.db?pool_size=3"]);
        let DatabaseUri::Sqlite(o) = defaults.database() else {
            panic!("SQLite expected")
        };
        assert_eq!((o.pool_size, o.max_idle, o.max_lifetime), (3, None, None));
        assert_eq!(o.synchronous, SqliteSynchronous::Full);
        assert!(defaults.chat_storage);
        let policy = defaults.retention();
        assert_eq!((policy.messages, policy.media), (None, None));
        assert_eq!(
            (policy.interval, policy.batch_size),
            (Duration::from_secs(3600), 500)
        );

        let set = serve(&[
            "--db-uri=file:wa.db?pool_size=3",
            "--db-max-open-conns=9",
            "--db-max-idle-conns=2",
            "--db-conn-max-lifetime=30m",
            "--db-sqlite-busy-timeout=250ms",
            "--db-sqlite-cache-size-kib=16384",
            "--db-sqlite-synchronous=normal",
            "--chat-storage=false",
            "--message-retention-days=30",
            "--media-retention-days=7",
            "--retention-interval=10m",
            "--retention-batch-size=100",
        ]);
        let DatabaseUri::Sqlite(o) = set.database() else {
            panic!("SQLite expected")
        };
        assert_eq!(
            (o.pool_size, o.max_idle, o.max_lifetime, o.busy_timeout),
            (
                9,
                Some(2),
                Some(Duration::from_secs(1800)),
                Duration::from_millis(250)
            )
        );
        assert_eq!(
            (o.cache_size_kib, o.synchronous),
            (Some(16384), SqliteSynchronous::Normal)
        );
        assert!(!set.chat_storage);
        let policy = set.retention();
        assert_eq!(
            (policy.messages, policy.media),
            (
                Some(Duration::from_secs(30 * 86_400)),
                Some(Duration::from_secs(7 * 86_400))
            )
        );
        assert_eq!(
            (policy.interval, policy.batch_size),
            (Duration::from_secs(600), 100)
        );

        let pg = serve(&[
            "--db-uri=postgres://u@h/wa",
            "--db-max-open-conns=5",
            "--db-max-idle-conns=1",
        ]);
        let DatabaseUri::Postgres(o) = pg.database() else {
            panic!("PostgreSQL expected")
        };
        assert_eq!((o.pool_size, o.max_idle), (5, Some(1)));
        for bad in [
            "--db-max-open-conns=0",
            "--db-sqlite-synchronous=off",
            "--retention-batch-size=0",
            "--db-conn-max-lifetime=soon",
        ] {
            assert!(
                Cli::try_parse_from(["wa-connector", "serve", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn traffic_defaults_pace_accounts_and_leave_clients_unlimited() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["wa-connector", "serve"], args].concat()).unwrap();
            let Command::Serve(config) = cli.command;
            config
        };
        let defaults = serve(&[]);
        assert_eq!(
            defaults.send_rate(),
            crate::rate_limit::RateLimit::new(20, 5)
        );
        assert_eq!(defaults.api_rate_limit(), None);
        assert!(!defaults.pprof);
        assert_eq!(
            defaults.http_client(),
            crate::http_client::HttpClientConfig::default()
        );
        let set = serve(&[
            "--rate-limit-requests-per-minute=120",
            "--rate-limit-burst=4",
            "--whatsapp-rate-limit-messages-per-minute=0",
            "--pprof=true",
            "--http-client-timeout=5s",
            "--http-client-max-idle-per-host=0",
            "--http-client-idle-timeout=250ms",
        ]);
        assert_eq!(
            set.http_client(),
            crate::http_client::HttpClientConfig {
                timeout: Duration::from_secs(5),
                max_idle_per_host: 0,
                idle_timeout: Duration::from_millis(250),
            }
        );
        assert_eq!(
            set.api_rate_limit(),
            crate::rate_limit::RateLimit::new(120, 4)
        );
        assert_eq!(set.send_rate(), None);
        assert!(set.pprof);
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
