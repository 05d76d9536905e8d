//! Uploading media: the plain file is read from the media store, encrypted with a
//! fresh media key, and streamed to a media host; the result is what a media message
//! carries.
//!
//! The upload URL names the SHA-256 of the encrypted body, which is known only after
//! encrypting everything. Rather than keep the ciphertext in memory or in a temp file,
//! the file is encrypted twice: once to compute the hashes, once while streaming the
//! body (encryption is deterministic for a given key). Memory stays one chunk.

use bytes::Bytes;
use futures_util::stream;
use rand_core::{OsRng, RngCore};
use tokio::io::AsyncReadExt;
use tracing::{debug, info};
use wa_media::{DynMediaStore, MediaKey};
use wa_proto::content::UploadedMedia;
use wa_proto::media::{EncryptedMedia, MediaEncryptor, MediaType};
use wa_proto::mediaconn;

use crate::media_http::{CHUNK, MediaHttp, MediaTransferError};
use crate::requests::Requester;

/// Encrypts the blob `key` of `media` as `ty` and uploads it; `mimetype` is what the
/// message will declare.
pub async fn upload(
    http: &MediaHttp,
    requester: &Requester,
    media: &DynMediaStore,
    key: &MediaKey,
    ty: MediaType,
    mimetype: &str,
) -> Result<UploadedMedia, MediaTransferError> {
    let mut media_key = [0u8; 32];
    OsRng.fill_bytes(&mut media_key);
    let hashes = encrypt_pass(media, key, &media_key, ty).await?;
    let body_len = encrypted_len(hashes.file_length);
    let conn = http.media_conn(requester).await?;
    let path = mediaconn::upload_path(ty, &hashes.file_enc_sha256, &conn.auth);
    let mut last_error = None;
    for host in &conn.hosts {
        let url = format!("{}://{host}{path}", http.scheme);
        let body =
            reqwest::Body::wrap_stream(encrypting_stream(media.get(key).await?, media_key, ty));
        let resp = http
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_LENGTH, body_len)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::ORIGIN, "https://web.whatsapp.com")
            .body(body)
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => {
                let bytes = r
                    .bytes()
                    .await
                    .map_err(|e| MediaTransferError::Http(e.to_string()))?;
                let answer = mediaconn::parse_upload_response(&bytes)
                    .map_err(|e| MediaTransferError::Http(format!("bad upload answer: {e}")))?;
                info!(host = %host, bytes = hashes.file_length, "media uploaded");
                return Ok(UploadedMedia {
                    url: answer.url,
                    direct_path: answer.direct_path,
                    media_key,
                    file_sha256: hashes.file_sha256,
                    file_enc_sha256: hashes.file_enc_sha256,
                    file_length: hashes.file_length,
                    mimetype: mimetype.to_owned(),
                });
            }
            Ok(r) => {
                if r.status() == reqwest::StatusCode::UNAUTHORIZED {
                    http.invalidate().await;
                }
                last_error = Some(format!(
                    "{url_host} answered {}",
                    r.status(),
                    url_host = host
                ));
            }
            Err(e) => last_error = Some(e.to_string()),
        }
        debug!(host = %host, error = last_error.as_deref().unwrap_or(""), "upload failed; next host");
    }
    Err(MediaTransferError::Http(
        last_error.unwrap_or_else(|| "no host".into()),
    ))
}

/// Size of the encrypted body for `len` plain bytes: PKCS#7 to whole blocks, plus
/// the 10-byte MAC.
fn encrypted_len(len: u64) -> u64 {
    (len / 16 + 1) * 16 + 10
}

/// The first pass: the hashes of the encrypted body, discarding the ciphertext.
async fn encrypt_pass(
    media: &DynMediaStore,
    key: &MediaKey,
    media_key: &[u8; 32],
    ty: MediaType,
) -> Result<EncryptedMedia, MediaTransferError> {
    let mut reader = media.get(key).await?;
    let mut enc = MediaEncryptor::new(media_key, ty);
    let mut buf = vec![0u8; CHUNK];
    let mut out = Vec::with_capacity(CHUNK + 32);
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(wa_media::MediaError::Read)?;
        if n == 0 {
            break;
        }
        enc.update(&buf[..n], &mut out);
        out.clear();
    }
    Ok(enc.finish(&mut out))
}

/// The second pass, as the upload body: ciphertext chunks as they are produced.
fn encrypting_stream(
    reader: wa_media::BoxReader,
    media_key: [u8; 32],
    ty: MediaType,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    struct State {
        reader: wa_media::BoxReader,
        enc: Option<MediaEncryptor>,
        buf: Vec<u8>,
    }
    let state = State {
        reader,
        enc: Some(MediaEncryptor::new(&media_key, ty)),
        buf: vec![0u8; CHUNK],
    };
    stream::try_unfold(state, |mut s| async move {
        let Some(enc) = s.enc.as_mut() else {
            return Ok(None);
        };
        let n = s.reader.read(&mut s.buf).await?;
        let mut out = Vec::with_capacity(n + 32);
        if n == 0 {
            let enc = s.enc.take().expect("checked above");
            enc.finish(&mut out);
        } else {
            enc.update(&s.buf[..n], &mut out);
        }
        Ok(Some((Bytes::from(out), s)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_length_matches_the_encryptor() {
        for len in [0usize, 1, 15, 16, 17, 100_000] {
            let (body, _) = wa_proto::media::encrypt(&[3; 32], MediaType::Image, &vec![1u8; len]);
            assert_eq!(encrypted_len(len as u64), body.len() as u64, "len {len}");
        }
    }
}
