//! Reading an MP4's box layout: where `moov` sits, its duration and tracks.
//!
//! Two decisions rest on it. Before a video job we look at the input to see
//! whether it is already H.264/AAC (then it is remuxed, not re-encoded); after
//! it we check what ffmpeg wrote, above all that `moov` precedes `mdat`
//! ("faststart"), without which a phone must download the whole file before
//! playing it. Only box headers and the few boxes we need are read, so a large
//! file costs a handful of seeks.

use std::{
    fs::File,
    io::{self, BufReader, Read, Seek, SeekFrom},
    path::Path,
    time::Duration,
};

/// The largest `moov` we read into memory: real ones are kilobytes to a few
/// megabytes; more means a hostile or broken file.
const MAX_MOOV_BYTES: u64 = 32 * 1024 * 1024;
/// How deep boxes nest before we stop following them (ours need 6).
const MAX_DEPTH: usize = 8;

/// Why bytes are not a usable MP4.
#[derive(Debug, thiserror::Error)]
pub enum Mp4Error {
    /// Reading the file failed.
    #[error("could not read the MP4: {0}")]
    Io(#[from] io::Error),
    /// The data does not start with an `ftyp` box.
    #[error("not an MP4 file (no `ftyp` box at the start)")]
    NotMp4,
    /// A box header is malformed or runs past its parent.
    #[error("malformed MP4 box at byte {offset}")]
    Malformed {
        /// Where the bad box starts (within its parent for nested boxes).
        offset: u64,
    },
    /// There is no `moov` box (or it is absurdly large).
    #[error("the MP4 has no usable `moov` box")]
    NoMoov,
}

/// What a track carries, from its handler type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    /// `vide`.
    Video,
    /// `soun`.
    Audio,
    /// Anything else (subtitles, timecode, hints).
    Other,
}

/// One track's codec facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp4Track {
    /// What the track carries.
    pub kind: TrackKind,
    /// The first sample entry's four-character code (`avc1`, `mp4a`, `hvc1`, …).
    pub codec: String,
    /// Coded width from a visual sample entry (0 for other tracks).
    pub width: u32,
    /// Coded height from a visual sample entry (0 for other tracks).
    pub height: u32,
    /// H.264 `profile_idc` from `avcC`, when the track is `avc1`.
    pub avc_profile: Option<u8>,
}

impl Mp4Track {
    /// Whether this is 8-bit 4:2:0 H.264 every phone decodes: Baseline (66),
    /// Main (77), Extended (88) and High (100) allow nothing else.
    pub fn is_plain_h264(&self) -> bool {
        self.codec == "avc1" && matches!(self.avc_profile, Some(66 | 77 | 88 | 100))
    }
}

/// The layout facts of one MP4 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp4Info {
    /// `moov` comes before the first `mdat`: playable while downloading.
    pub faststart: bool,
    /// Movie duration from `mvhd`.
    pub duration: Duration,
    /// The tracks, in file order.
    pub tracks: Vec<Mp4Track>,
}

impl Mp4Info {
    /// The first video track, if any.
    pub fn video(&self) -> Option<&Mp4Track> {
        self.tracks.iter().find(|t| t.kind == TrackKind::Video)
    }

    /// The first audio track, if any.
    pub fn audio(&self) -> Option<&Mp4Track> {
        self.tracks.iter().find(|t| t.kind == TrackKind::Audio)
    }
}

/// Reads the MP4 at `path`, seeking past media data rather than reading it.
pub fn read_file(path: &Path) -> Result<Mp4Info, Mp4Error> {
    read(BufReader::new(File::open(path)?))
}

/// Parses a whole MP4 held in memory.
pub fn parse(data: &[u8]) -> Result<Mp4Info, Mp4Error> {
    read(io::Cursor::new(data))
}

fn read<R: Read + Seek>(mut reader: R) -> Result<Mp4Info, Mp4Error> {
    let end = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(0))?;
    let mut offset = 0;
    let mut moov = None;
    let mut mdat_seen = false;
    let mut faststart = false;
    while offset + 8 <= end {
        let mut header = [0; 8];
        reader.read_exact(&mut header)?;
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        let (size, header_len) = match u32::from_be_bytes(header[..4].try_into().expect("4")) {
            0 => (end - offset, 8),
            1 => {
                let mut large = [0; 8];
                reader.read_exact(&mut large)?;
                (u64::from_be_bytes(large), 16)
            }
            size => (u64::from(size), 8),
        };
        if offset == 0 && &kind != b"ftyp" {
            return Err(Mp4Error::NotMp4);
        }
        if size < header_len || offset + size > end {
            return Err(Mp4Error::Malformed { offset });
        }
        match &kind {
            b"moov" if moov.is_none() => {
                let body_len = size - header_len;
                if body_len > MAX_MOOV_BYTES {
                    return Err(Mp4Error::NoMoov);
                }
                let mut body = vec![0; usize::try_from(body_len).map_err(|_| Mp4Error::NoMoov)?];
                reader.read_exact(&mut body)?;
                moov = Some(body);
                faststart = !mdat_seen;
            }
            b"mdat" => mdat_seen = true,
            _ => {}
        }
        offset += size;
        reader.seek(SeekFrom::Start(offset))?;
    }
    let moov = moov.ok_or(Mp4Error::NoMoov)?;
    let mut info = Mp4Info {
        faststart,
        duration: Duration::ZERO,
        tracks: Vec::new(),
    };
    for (kind, body) in children(&moov)? {
        match kind {
            b"mvhd" => info.duration = movie_duration(body).ok_or(Mp4Error::NoMoov)?,
            b"trak" => info.tracks.push(track(body)?),
            _ => {}
        }
    }
    Ok(info)
}

/// One box inside a parent: its type and body.
type Child<'a> = (&'a [u8; 4], &'a [u8]);

/// The child boxes of a container body.
fn children(data: &[u8]) -> Result<Vec<Child<'_>>, Mp4Error> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while offset + 8 <= data.len() {
        let malformed = Mp4Error::Malformed {
            offset: offset as u64,
        };
        let size = u32::from_be_bytes(data[offset..offset + 4].try_into().expect("4"));
        let kind: &[u8; 4] = data[offset + 4..offset + 8].try_into().expect("4");
        let (size, header_len) = match size {
            0 => (data.len() - offset, 8),
            1 => {
                let large = data.get(offset + 8..offset + 16).ok_or(malformed)?;
                let large = u64::from_be_bytes(large.try_into().expect("8"));
                (usize::try_from(large).unwrap_or(usize::MAX), 16)
            }
            size => (size as usize, 8),
        };
        if size < header_len || size > data.len() - offset {
            return Err(Mp4Error::Malformed {
                offset: offset as u64,
            });
        }
        out.push((kind, &data[offset + header_len..offset + size]));
        offset += size;
    }
    Ok(out)
}

/// The first child of type `kind`, searched along `path` of containers.
fn find<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Result<Option<&'a [u8]>, Mp4Error> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(Some(data));
    };
    if path.len() > MAX_DEPTH {
        return Ok(None);
    }
    for (kind, body) in children(data)? {
        if kind == *first {
            return find(body, rest);
        }
    }
    Ok(None)
}

fn movie_duration(mvhd: &[u8]) -> Option<Duration> {
    let version = *mvhd.first()?;
    let (timescale, duration) = if version == 1 {
        (
            u32::from_be_bytes(mvhd.get(20..24)?.try_into().ok()?),
            u64::from_be_bytes(mvhd.get(24..32)?.try_into().ok()?),
        )
    } else {
        (
            u32::from_be_bytes(mvhd.get(12..16)?.try_into().ok()?),
            u64::from(u32::from_be_bytes(mvhd.get(16..20)?.try_into().ok()?)),
        )
    };
    if timescale == 0 {
        return None;
    }
    let micros = u128::from(duration) * 1_000_000 / u128::from(timescale);
    Some(Duration::from_micros(
        u64::try_from(micros).unwrap_or(u64::MAX),
    ))
}

fn track(trak: &[u8]) -> Result<Mp4Track, Mp4Error> {
    let handler = find(trak, &[b"mdia", b"hdlr"])?.and_then(|hdlr| hdlr.get(8..12));
    let kind = match handler {
        Some(b"vide") => TrackKind::Video,
        Some(b"soun") => TrackKind::Audio,
        _ => TrackKind::Other,
    };
    let mut track = Mp4Track {
        kind,
        codec: String::new(),
        width: 0,
        height: 0,
        avc_profile: None,
    };
    // stsd: version/flags (4), entry count (4), then sample entries as boxes.
    let Some(stsd) = find(trak, &[b"mdia", b"minf", b"stbl", b"stsd"])? else {
        return Ok(track);
    };
    let Some(entries) = stsd.get(8..) else {
        return Ok(track);
    };
    let Some((codec, entry)) = children(entries)?.into_iter().next() else {
        return Ok(track);
    };
    track.codec = String::from_utf8_lossy(codec).into_owned();
    // A visual sample entry: 6 reserved + 2 index + 16 predefined, then
    // width and height (u16 each); its child boxes start at byte 78.
    if kind == TrackKind::Video
        && let Some(size) = entry.get(24..28)
    {
        track.width = u32::from(u16::from_be_bytes([size[0], size[1]]));
        track.height = u32::from(u16::from_be_bytes([size[2], size[3]]));
        if let Some(config) = entry.get(78..)
            && let Some(avcc) = find(config, &[b"avcC"])?
        {
            track.avc_profile = avcc.get(1).copied();
        }
    }
    Ok(track)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn mvhd(timescale: u32, duration: u32) -> Vec<u8> {
        let mut body = vec![0; 12];
        body.extend_from_slice(&timescale.to_be_bytes());
        body.extend_from_slice(&duration.to_be_bytes());
        body.extend_from_slice(&[0; 80]);
        mp4_box(b"mvhd", &body)
    }

    fn video_trak(width: u16, height: u16, profile: u8) -> Vec<u8> {
        let mut hdlr = vec![0; 8];
        hdlr.extend_from_slice(b"vide");
        hdlr.extend_from_slice(&[0; 13]);
        let mut entry = vec![0; 24];
        entry.extend_from_slice(&width.to_be_bytes());
        entry.extend_from_slice(&height.to_be_bytes());
        entry.resize(78, 0);
        entry.extend(mp4_box(b"avcC", &[1, profile, 0, 30]));
        let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
        stsd.extend(mp4_box(b"avc1", &entry));
        let stbl = mp4_box(b"stbl", &mp4_box(b"stsd", &stsd));
        let minf = mp4_box(b"minf", &stbl);
        let mut mdia = mp4_box(b"hdlr", &hdlr);
        mdia.extend(minf);
        mp4_box(b"trak", &mp4_box(b"mdia", &mdia))
    }

    fn file(moov_first: bool) -> Vec<u8> {
        let mut moov = mvhd(1000, 2500);
        moov.extend(video_trak(320, 240, 100));
        let moov = mp4_box(b"moov", &moov);
        let mdat = mp4_box(b"mdat", b"frames");
        let mut out = mp4_box(b"ftyp", b"isom\0\0\x02\0");
        if moov_first {
            out.extend(moov);
            out.extend(mdat);
        } else {
            out.extend(mdat);
            out.extend(moov);
        }
        out
    }

    #[test]
    fn reads_layout_duration_and_tracks() {
        let info = parse(&file(true)).unwrap();
        assert!(info.faststart);
        assert_eq!(info.duration, Duration::from_millis(2500));
        let video = info.video().unwrap();
        assert_eq!((video.width, video.height), (320, 240));
        assert_eq!(video.codec, "avc1");
        assert!(video.is_plain_h264());
        assert!(info.audio().is_none());
        assert!(!parse(&file(false)).unwrap().faststart);
    }

    #[test]
    fn rejects_what_is_not_mp4() {
        assert!(matches!(
            parse(b"not an mp4 at all, just text"),
            Err(Mp4Error::NotMp4)
        ));
        let mut cut = file(true);
        cut.truncate(cut.len() - 3);
        assert!(matches!(parse(&cut), Err(Mp4Error::Malformed { .. })));
        let only_ftyp = mp4_box(b"ftyp", b"isom");
        assert!(matches!(parse(&only_ftyp), Err(Mp4Error::NoMoov)));
    }
}
