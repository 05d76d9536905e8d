//! Frame codec: every WebSocket payload carries one or more frames, each a 3-byte
//! big-endian length followed by the payload. The client's very first frame is
//! preceded by the 4-byte connection header.

use thiserror::Error;

/// The connection header sent before the first frame: `"WA"`, magic 6, dictionary 3.
pub const CONNECTION_HEADER: [u8; 4] = [b'W', b'A', 6, crate::binary::DICT_VERSION];

/// Largest payload a 3-byte length can describe.
pub const MAX_FRAME_LEN: usize = (1 << 24) - 1;

/// Why framing failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The payload does not fit in a 3-byte length.
    #[error("frame payload of {0} bytes exceeds the 3-byte length limit")]
    TooLarge(usize),
    /// The peer announced a frame longer than our configured limit.
    #[error("peer announced a {len}-byte frame, limit is {limit}")]
    OverLimit {
        /// Announced length.
        len: usize,
        /// Configured limit.
        limit: usize,
    },
    /// The first bytes from the client were not the expected connection header.
    #[error("bad connection header {0:02x?}")]
    BadHeader([u8; 4]),
}

/// Writes frames; prefixes the connection header once when built as a client.
#[derive(Debug, Clone)]
pub struct FrameEncoder {
    header: Option<Vec<u8>>,
}

impl FrameEncoder {
    /// A client-side encoder: the first frame gets `header` (usually [`CONNECTION_HEADER`]).
    pub fn client(header: &[u8]) -> Self {
        Self {
            header: Some(header.to_vec()),
        }
    }

    /// A server-side encoder: frames are never prefixed.
    pub fn server() -> Self {
        Self { header: None }
    }

    /// Appends one framed `payload` to `out`.
    pub fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        if payload.len() > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge(payload.len()));
        }
        if let Some(h) = self.header.take() {
            out.extend_from_slice(&h);
        }
        let len = payload.len() as u32;
        out.extend_from_slice(&len.to_be_bytes()[1..]);
        out.extend_from_slice(payload);
        Ok(())
    }
}

/// Reassembles frames from arbitrarily split input.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    limit: usize,
    expect_header: Option<[u8; 4]>,
}

impl FrameDecoder {
    /// A client-side decoder: the server sends no header.
    pub fn client() -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            limit: MAX_FRAME_LEN,
            expect_header: None,
        }
    }

    /// A server-side decoder: the first 4 bytes must equal `header`.
    pub fn server(header: [u8; 4]) -> Self {
        Self {
            expect_header: Some(header),
            ..Self::client()
        }
    }

    /// Lowers the largest accepted frame (defaults to [`MAX_FRAME_LEN`]).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit.min(MAX_FRAME_LEN);
        self
    }

    /// Feeds received bytes; call [`FrameDecoder::next_frame`] until it returns `None`.
    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete frame, if any.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let avail = &self.buf[self.start..];
        if let Some(h) = self.expect_header {
            if avail.len() < 4 {
                return Ok(None);
            }
            let got = [avail[0], avail[1], avail[2], avail[3]];
            if got != h {
                return Err(FrameError::BadHeader(got));
            }
            self.expect_header = None;
            self.start += 4;
            return self.next_frame();
        }
        if avail.len() < 3 {
            return Ok(None);
        }
        let len =
            (usize::from(avail[0]) << 16) | (usize::from(avail[1]) << 8) | usize::from(avail[2]);
        if len > self.limit {
            return Err(FrameError::OverLimit {
                len,
                limit: self.limit,
            });
        }
        if avail.len() < 3 + len {
            return Ok(None);
        }
        let frame = avail[3..3 + len].to_vec();
        self.start += 3 + len;
        if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_only_on_first_frame_and_split_input() {
        let mut enc = FrameEncoder::client(&CONNECTION_HEADER);
        let mut wire = Vec::new();
        enc.encode(b"abc", &mut wire).unwrap();
        enc.encode(b"", &mut wire).unwrap();
        enc.encode(&[7; 300], &mut wire).unwrap();
        assert_eq!(&wire[..7], &[b'W', b'A', 6, 3, 0, 0, 3]);
        let mut dec = FrameDecoder::server(CONNECTION_HEADER);
        let mut frames = Vec::new();
        for b in &wire {
            dec.push(std::slice::from_ref(b));
            while let Some(f) = dec.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames, vec![b"abc".to_vec(), vec![], vec![7; 300]]);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn rejects_bad_header_and_over_limit() {
        let mut dec = FrameDecoder::server(CONNECTION_HEADER);
        dec.push(b"XA\x06\x03");
        assert!(matches!(dec.next_frame(), Err(FrameError::BadHeader(_))));
        let mut dec = FrameDecoder::client().with_limit(10);
        dec.push(&[0, 0, 11]);
        assert_eq!(
            dec.next_frame(),
            Err(FrameError::OverLimit { len: 11, limit: 10 })
        );
        let mut enc = FrameEncoder::server();
        assert_eq!(
            enc.encode(&vec![0; MAX_FRAME_LEN + 1], &mut Vec::new()),
            Err(FrameError::TooLarge(MAX_FRAME_LEN + 1))
        );
    }
}
