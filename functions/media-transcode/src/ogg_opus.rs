//! Reading an OGG/Opus file's identification header and exact duration.
//!
//! After ffmpeg writes a voice note we check the bytes ourselves rather than
//! trusting its exit status: the file must be OGG carrying Opus, and its
//! duration (which WhatsApp shows on the voice-note bubble) comes from the last
//! page's granule position minus the encoder's pre-skip, per RFC 7845. No
//! ffprobe needed, and the function stays exact to the sample.

use std::time::Duration;

/// Opus granule positions always count 48 kHz samples (RFC 7845 §4).
const GRANULE_RATE: u64 = 48_000;
/// `OggS` capture pattern (RFC 3533 §6).
const CAPTURE: &[u8; 4] = b"OggS";
/// Fixed part of an Ogg page header, before the segment table.
const PAGE_HEADER_LEN: usize = 27;

/// Why bytes are not a usable OGG/Opus stream.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum OggOpusError {
    /// The data does not start with an Ogg page.
    #[error("not an OGG file (no `OggS` page at the start)")]
    NotOgg,
    /// A page header or body runs past the end of the data.
    #[error("truncated OGG page at byte {offset}")]
    Truncated {
        /// Where the incomplete page starts.
        offset: usize,
    },
    /// The first packet is not an Opus identification header.
    #[error("the OGG stream does not carry Opus (no `OpusHead` packet)")]
    NotOpus,
    /// No page carries a granule position, so the duration is unknown.
    #[error("the OGG/Opus stream has no audio pages")]
    NoAudio,
}

/// What a voice-note consumer needs from an OGG/Opus file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OggOpusInfo {
    /// Output channel count from `OpusHead` (1 for a voice note).
    pub channels: u8,
    /// The sample rate the audio was encoded from, from `OpusHead`.
    pub input_sample_rate: u32,
    /// Samples (at 48 kHz) the decoder drops at the start.
    pub pre_skip: u16,
    /// Playable length: last granule position minus pre-skip.
    pub duration: Duration,
}

/// One Ogg page's header fields that we use.
struct Page<'a> {
    granule: i64,
    serial: u32,
    body: &'a [u8],
}

/// Parses the pages of `data` (a whole OGG/Opus file, first logical stream).
pub fn parse(data: &[u8]) -> Result<OggOpusInfo, OggOpusError> {
    if !data.starts_with(CAPTURE) {
        return Err(OggOpusError::NotOgg);
    }
    let mut offset = 0;
    let first = read_page(data, &mut offset)?;
    let head = first.body;
    // OpusHead: magic(8) version(1) channels(1) pre_skip(2) rate(4) gain(2) family(1)
    if head.len() < 19 || !head.starts_with(b"OpusHead") {
        return Err(OggOpusError::NotOpus);
    }
    let channels = head[9];
    let pre_skip = u16::from_le_bytes([head[10], head[11]]);
    let input_sample_rate = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);

    let mut last_granule = None;
    while offset < data.len() {
        let page = read_page(data, &mut offset)?;
        // -1 means "no packet ends on this page".
        if page.serial == first.serial && page.granule >= 0 {
            last_granule = Some(page.granule as u64);
        }
    }
    let samples = last_granule
        .ok_or(OggOpusError::NoAudio)?
        .saturating_sub(u64::from(pre_skip));
    Ok(OggOpusInfo {
        channels,
        input_sample_rate,
        pre_skip,
        duration: Duration::from_micros(samples * 1_000_000 / GRANULE_RATE),
    })
}

fn read_page<'a>(data: &'a [u8], offset: &mut usize) -> Result<Page<'a>, OggOpusError> {
    let start = *offset;
    let truncated = || OggOpusError::Truncated { offset: start };
    let header = data
        .get(start..start + PAGE_HEADER_LEN)
        .ok_or_else(truncated)?;
    if !header.starts_with(CAPTURE) {
        return Err(OggOpusError::NotOgg);
    }
    let granule = i64::from_le_bytes(header[6..14].try_into().expect("8 bytes"));
    let serial = u32::from_le_bytes(header[14..18].try_into().expect("4 bytes"));
    let segments = usize::from(header[26]);
    let table_start = start + PAGE_HEADER_LEN;
    let table = data
        .get(table_start..table_start + segments)
        .ok_or_else(truncated)?;
    let body_len: usize = table.iter().map(|&lace| usize::from(lace)).sum();
    let body_start = table_start + segments;
    let body = data
        .get(body_start..body_start + body_len)
        .ok_or_else(truncated)?;
    *offset = body_start + body_len;
    Ok(Page {
        granule,
        serial,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(granule: i64, serial: u32, body: &[u8]) -> Vec<u8> {
        assert!(body.len() < 255, "one lacing segment is enough for tests");
        let mut out = Vec::new();
        out.extend_from_slice(CAPTURE);
        out.extend_from_slice(&[0, 0]); // version, header type
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&serial.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // sequence, CRC (not checked)
        out.push(1);
        out.push(body.len() as u8);
        out.extend_from_slice(body);
        out
    }

    fn opus_head(channels: u8, pre_skip: u16, rate: u32) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.push(1);
        head.push(channels);
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&rate.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]);
        head
    }

    #[test]
    fn duration_is_last_granule_minus_pre_skip() {
        let mut file = page(0, 7, &opus_head(1, 312, 48_000));
        file.extend(page(-1, 7, b"OpusTags"));
        file.extend(page(48_312, 7, b"audio"));
        file.extend(page(96_312, 7, b"audio"));
        file.extend(page(999_999, 8, b"other stream is ignored"));
        let info = parse(&file).unwrap();
        assert_eq!(info.channels, 1);
        assert_eq!(info.pre_skip, 312);
        assert_eq!(info.input_sample_rate, 48_000);
        assert_eq!(info.duration, Duration::from_secs(2));
    }

    #[test]
    fn rejects_what_is_not_ogg_opus() {
        assert_eq!(parse(b"RIFF....WAVE"), Err(OggOpusError::NotOgg));
        assert_eq!(
            parse(&page(0, 1, b"\x01vorbis-header-here")),
            Err(OggOpusError::NotOpus)
        );
        assert_eq!(
            parse(&page(0, 1, &opus_head(1, 0, 48_000))),
            Err(OggOpusError::NoAudio)
        );
        let mut cut = page(0, 1, &opus_head(1, 0, 48_000));
        cut.extend(&page(960, 1, b"audio")[..20]);
        let offset = cut.len() - 20;
        assert_eq!(parse(&cut), Err(OggOpusError::Truncated { offset }));
    }
}
