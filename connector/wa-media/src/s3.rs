//! The S3 backend: blobs as objects in one bucket (AWS or any S3-compatible server).

use std::fmt;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{MediaError, Result};
use crate::key::MediaKey;
use crate::{BoxReader, MediaStore};

/// S3's smallest part size for all but the last part of a multipart upload.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// Default part size: bodies up to this size go in one `PutObject`, larger ones are
/// uploaded in parts of this size, so at most one part is in memory at a time.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
const MAX_PART_SIZE: usize = 512 * 1024 * 1024;

/// How to reach the bucket. Fields left out fall back to the AWS SDK's defaults
/// (environment, profile, instance role), which is what a cloud deployment wants.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket (must exist).
    pub bucket: String,
    /// Region; defaults to the SDK's chain, or `us-east-1` with a custom endpoint.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint URL of an S3-compatible server (`http://127.0.0.1:8333`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Address buckets as `endpoint/bucket/key` (needed by most S3-compatible servers).
    #[serde(default)]
    pub force_path_style: bool,
    /// Static access key id (with `secret_access_key`); else the SDK's chain.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Static secret key. Never logged: `Debug` redacts it.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Prefix prepended to every key (`media/`), so one bucket can serve several uses.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Multipart part size in bytes (5 MiB to 512 MiB).
    #[serde(default = "default_part_size")]
    pub part_size: usize,
}

fn default_part_size() -> usize {
    DEFAULT_PART_SIZE
}

impl S3Config {
    /// A config for `bucket` with every other field at its default.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            region: None,
            endpoint: None,
            force_path_style: false,
            access_key_id: None,
            secret_access_key: None,
            prefix: None,
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("force_path_style", &self.force_path_style)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("prefix", &self.prefix)
            .field("part_size", &self.part_size)
            .finish()
    }
}

/// Blobs stored as objects `<prefix><key>` in one bucket.
///
/// `put` streams: bodies that fit one part go up in a single `PutObject`; larger
/// ones use a multipart upload (aborted on any failure, so nothing half-written
/// becomes visible), holding one part in memory at a time.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    part_size: usize,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// The backend tag used in configuration and logs.
    pub const KIND: &'static str = "s3";

    /// Builds the client from the config. Does not contact the server: the first
    /// operation reports an unreachable endpoint, bad credentials or missing bucket.
    pub async fn open(config: S3Config) -> Result<Self> {
        if config.bucket.is_empty() {
            return Err(MediaError::InvalidConfig(
                "the S3 bucket name is empty".into(),
            ));
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&config.part_size) {
            return Err(MediaError::InvalidConfig(format!(
                "part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes, got {}",
                config.part_size
            )));
        }
        let prefix = match config.prefix.as_deref().map(|p| p.trim_matches('/')) {
            None | Some("") => String::new(),
            Some(p) => {
                MediaKey::new(p).map_err(|e| MediaError::InvalidConfig(format!("prefix: {e}")))?;
                format!("{p}/")
            }
        };
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        let region = config
            .region
            .clone()
            .or_else(|| config.endpoint.as_ref().map(|_| "us-east-1".to_string()));
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region));
        }
        match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) => {
                loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                    id,
                    secret,
                    None,
                    None,
                    "wa-media-config",
                ));
            }
            (None, None) => {}
            _ => {
                return Err(MediaError::InvalidConfig(
                    "access_key_id and secret_access_key go together".into(),
                ));
            }
        }
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let mut builder =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(config.force_path_style);
        if config.endpoint.is_some() {
            // S3-compatible servers vary in their support of the newer default
            // checksums; ask for them only where S3 requires them.
            builder = builder
                .request_checksum_calculation(
                    aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                )
                .response_checksum_validation(
                    aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
                );
        }
        Ok(S3Store {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket,
            prefix,
            part_size: config.part_size,
        })
    }

    fn object_key(&self, key: &MediaKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    async fn upload_parts(
        &self,
        object: &str,
        upload_id: &str,
        first: Bytes,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<(u64, Vec<CompletedPart>)> {
        let mut parts = Vec::new();
        let mut total = 0u64;
        let mut chunk = first;
        loop {
            let number = i32::try_from(parts.len() + 1)
                .map_err(|_| MediaError::InvalidConfig("too many parts".into()))?;
            total += chunk.len() as u64;
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(object)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(chunk.len() as i64)
                .body(ByteStream::from(chunk))
                .send()
                .await
                .map_err(|e| s3_error("UploadPart", e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .build(),
            );
            let (next, _eof) = read_part(body, self.part_size).await?;
            if next.is_empty() {
                return Ok((total, parts));
            }
            chunk = next;
        }
    }
}

/// Reads up to `size` bytes; returns them and whether the body ended.
async fn read_part(
    body: &mut (dyn AsyncRead + Send + Unpin),
    size: usize,
) -> Result<(Bytes, bool)> {
    let mut buf = vec![0u8; size];
    let mut filled = 0;
    while filled < size {
        let n = body
            .read(&mut buf[filled..])
            .await
            .map_err(MediaError::Read)?;
        if n == 0 {
            buf.truncate(filled);
            return Ok((Bytes::from(buf), true));
        }
        filled += n;
    }
    Ok((Bytes::from(buf), false))
}

/// Whether the service answered 404 (no such key).
fn is_not_found<E>(e: &SdkError<E, HttpResponse>) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.raw().status().as_u16() == 404)
}

/// A backend error with the SDK's full context (the plain `Display` of an SDK error
/// says only "service error").
fn s3_error<E>(op: &'static str, e: SdkError<E, HttpResponse>) -> MediaError
where
    E: std::error::Error + Send + Sync + 'static,
{
    MediaError::Backend(format!("S3 {op}: {}", DisplayErrorContext(&e)).into())
}

/// A lookup's error: a 404 is the key's absence, anything else the backend's fault.
fn lookup_error<E>(op: &'static str, key: &MediaKey, e: SdkError<E, HttpResponse>) -> MediaError
where
    E: std::error::Error + Send + Sync + 'static,
{
    if is_not_found(&e) {
        MediaError::NotFound {
            key: key.to_string(),
        }
    } else {
        s3_error(op, e)
    }
}

#[async_trait]
impl MediaStore for S3Store {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn put(&self, key: &MediaKey, body: &mut (dyn AsyncRead + Send + Unpin)) -> Result<u64> {
        let object = self.object_key(key);
        let (first, eof) = read_part(body, self.part_size).await?;
        if eof {
            let n = first.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&object)
                .content_length(first.len() as i64)
                .body(ByteStream::from(first))
                .send()
                .await
                .map_err(|e| s3_error("PutObject", e))?;
            tracing::debug!(key = %key, bytes = n, "stored media in S3");
            return Ok(n);
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&object)
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| MediaError::Backend("S3 returned no multipart upload id".into()))?
            .to_string();
        let result = async {
            let (total, parts) = self.upload_parts(&object, &upload_id, first, body).await?;
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&object)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s3_error("CompleteMultipartUpload", e))?;
            Ok(total)
        }
        .await;
        match result {
            Ok(total) => {
                tracing::debug!(key = %key, bytes = total, "stored media in S3 (multipart)");
                Ok(total)
            }
            Err(e) => {
                if let Err(abort) = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&object)
                    .upload_id(&upload_id)
                    .send()
                    .await
                {
                    tracing::warn!(key = %key, error = %DisplayErrorContext(&abort), "aborting multipart upload failed");
                }
                Err(e)
            }
        }
    }

    async fn get(&self, key: &MediaKey) -> Result<BoxReader> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| lookup_error("GetObject", key, e))?;
        Ok(Box::pin(out.body.into_async_read()))
    }

    async fn delete(&self, key: &MediaKey) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| s3_error("DeleteObject", e))?;
        Ok(())
    }

    async fn delete_older_than(&self, before: std::time::SystemTime, limit: u32) -> Result<u64> {
        // Listing pages through every object under the prefix; only the old ones
        // (up to `limit`) are deleted, one request each, so a batch stays short.
        let mut old = Vec::new();
        let mut token = None;
        'pages: loop {
            let mut list = self.client.list_objects_v2().bucket(&self.bucket);
            if !self.prefix.is_empty() {
                list = list.prefix(&self.prefix);
            }
            let page = list
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_error("ListObjectsV2", e))?;
            for object in page.contents() {
                let written = object
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok());
                if let (Some(key), Some(written)) = (object.key(), written)
                    && written < before
                {
                    old.push(key.to_owned());
                    if old.len() >= limit as usize {
                        break 'pages;
                    }
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        for key in &old {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| s3_error("DeleteObject", e))?;
        }
        Ok(old.len() as u64)
    }

    async fn size(&self, key: &MediaKey) -> Result<u64> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| lookup_error("HeadObject", key, e))?;
        Ok(out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }
}
