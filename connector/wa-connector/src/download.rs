//! Downloading media: the encrypted body is streamed from a media host through the
//! decryptor into the media store, under the content-addressed key of the plain file.
//! Nothing is kept unless the MAC and both hashes verify: the decrypting reader fails
//! at the end otherwise, and the store discards a write whose body failed.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncRead, ReadBuf};
use tracing::info;
use wa_media::{DynMediaStore, MediaKey};
use wa_proto::media::{ExpectedHashes, MediaDecryptor, MediaType};
use wa_proto::mediaconn;
use wa_store::MediaInfo;

use crate::media_http::{MediaHttp, MediaTransferError};
use crate::messaging::Messaging;
use crate::requests::Requester;

/// Downloads the media `info` describes (`ty` selects the key derivation), stores the
/// plain file and returns its media-store key. A file already stored is not fetched
/// again.
pub async fn download(
    http: &MediaHttp,
    requester: &Requester,
    media: &DynMediaStore,
    info: &MediaInfo,
    ty: MediaType,
) -> Result<MediaKey, MediaTransferError> {
    let direct_path = info
        .direct_path
        .as_deref()
        .ok_or(MediaTransferError::NotDownloadable("no direct path"))?;
    let media_key: [u8; 32] = info
        .media_key
        .as_deref()
        .and_then(|k| k.try_into().ok())
        .ok_or(MediaTransferError::NotDownloadable("no media key"))?;
    let file_sha256: [u8; 32] = info
        .file_sha256
        .as_deref()
        .and_then(|k| k.try_into().ok())
        .ok_or(MediaTransferError::NotDownloadable("no file hash"))?;
    let file_enc_sha256: Option<[u8; 32]> = info
        .file_enc_sha256
        .as_deref()
        .and_then(|k| k.try_into().ok());
    let key = MediaKey::for_sha256(&file_sha256);
    if media.exists(&key).await? {
        return Ok(key);
    }
    let resp = get_from_hosts(http, requester, direct_path).await?;
    let mut reader = DecryptingReader::new(
        resp.bytes_stream(),
        MediaDecryptor::new(&media_key, ty),
        ExpectedHashes {
            file_enc_sha256,
            file_sha256: Some(file_sha256),
        },
    );
    match media.put(&key, &mut reader).await {
        Ok(bytes) => {
            info!(bytes, key = %key, "media downloaded");
            Ok(key)
        }
        Err(wa_media::MediaError::Read(e)) => Err(MediaTransferError::Verify(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// The answer of the first media host (from the account's `media_conn`, in order)
/// that serves `direct_path` successfully; the last failure when none does.
async fn get_from_hosts(
    http: &MediaHttp,
    requester: &Requester,
    direct_path: &str,
) -> Result<reqwest::Response, MediaTransferError> {
    let conn = http.media_conn(requester).await?;
    let mut last_error = String::from("no host");
    for host in &conn.hosts {
        let url = mediaconn::download_url(host, direct_path, http.scheme);
        match http.http.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(r),
            Ok(r) => last_error = format!("{host} answered {}", r.status()),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(MediaTransferError::Http(last_error))
}

/// Downloads the body at `direct_path` as served (still encrypted: the caller
/// verifies and decrypts it), for small blobs kept in memory such as app-state
/// snapshots; a body over `limit` bytes fails.
pub async fn download_body(
    http: &MediaHttp,
    requester: &Requester,
    direct_path: &str,
    limit: usize,
) -> Result<Vec<u8>, MediaTransferError> {
    let resp = get_from_hosts(http, requester, direct_path).await?;
    let too_big = || MediaTransferError::Http(format!("body over {limit} bytes"));
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| MediaTransferError::Http(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Downloads the media of stored message `message_id` in `chat` and records its
/// media-store key on the message.
pub async fn download_message(
    m: &Messaging,
    requester: &Requester,
    media: &DynMediaStore,
    chat: &str,
    message_id: &str,
) -> Result<MediaKey, MediaTransferError> {
    let stored = m
        .store
        .get_message(&m.account, chat, message_id)
        .await
        .map_err(|e| MediaTransferError::Http(format!("store: {e}")))?
        .ok_or(MediaTransferError::NotDownloadable("no such message"))?;
    let info = stored
        .message
        .media
        .as_ref()
        .ok_or(MediaTransferError::NotDownloadable("not a media message"))?;
    let ty = media_type_of(&stored.message.kind)
        .ok_or(MediaTransferError::NotDownloadable("not a media kind"))?;
    let key = download(&m.media_http, requester, media, info, ty).await?;
    m.store
        .set_media_stored_key(&m.account, chat, message_id, key.as_str())
        .await
        .map_err(|e| MediaTransferError::Http(format!("store: {e}")))?;
    Ok(key)
}

/// The key derivation of a stored message kind (stickers use the image keys).
pub fn media_type_of(kind: &str) -> Option<MediaType> {
    Some(match kind {
        "image" | "sticker" => MediaType::Image,
        "video" => MediaType::Video,
        "audio" => MediaType::Audio,
        "document" => MediaType::Document,
        _ => return None,
    })
}

/// Plain bytes out of an encrypted byte stream; fails at the end unless it verifies.
struct DecryptingReader<S> {
    body: S,
    dec: Option<MediaDecryptor>,
    expected: ExpectedHashes,
    ready: Vec<u8>,
    pos: usize,
}

impl<S> DecryptingReader<S> {
    fn new(body: S, dec: MediaDecryptor, expected: ExpectedHashes) -> Self {
        Self {
            body,
            dec: Some(dec),
            expected,
            ready: Vec::new(),
            pos: 0,
        }
    }
}

impl<S, E> AsyncRead for DecryptingReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.pos < this.ready.len() {
                let n = (this.ready.len() - this.pos).min(buf.remaining());
                buf.put_slice(&this.ready[this.pos..this.pos + n]);
                this.pos += n;
                return Poll::Ready(Ok(()));
            }
            this.ready.clear();
            this.pos = 0;
            let Some(dec) = this.dec.as_mut() else {
                return Poll::Ready(Ok(())); // verified and fully read
            };
            match this.body.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => dec.update(&chunk, &mut this.ready),
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(std::io::Error::other(e.to_string())));
                }
                Poll::Ready(None) => {
                    let dec = this.dec.take().expect("checked above");
                    if let Err(e) = dec.finish(&mut this.ready, &this.expected) {
                        this.ready.clear();
                        return Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            e.to_string(),
                        )));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn read_all(body: Vec<u8>, expected: ExpectedHashes) -> std::io::Result<Vec<u8>> {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(7_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut r = DecryptingReader::new(
            futures_util::stream::iter(chunks),
            MediaDecryptor::new(&[9; 32], MediaType::Audio),
            expected,
        );
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.map(|_| out)
    }

    #[tokio::test]
    async fn verified_bodies_decrypt_and_tampered_ones_fail() {
        let plain: Vec<u8> = (0..100_003u32).map(|i| (i % 251) as u8).collect();
        let (body, hashes) = wa_proto::media::encrypt(&[9; 32], MediaType::Audio, &plain);
        let expected = ExpectedHashes {
            file_enc_sha256: Some(hashes.file_enc_sha256),
            file_sha256: Some(hashes.file_sha256),
        };
        assert_eq!(read_all(body.clone(), expected).await.unwrap(), plain);
        let mut tampered = body;
        tampered[500] ^= 1;
        let err = read_all(tampered, expected).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
