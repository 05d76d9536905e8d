//! Dimensions of the still images we write (JPEG thumbnails, WebP stickers),
//! read from their headers so every output is checked without ffprobe.

/// The frame size of a baseline or progressive JPEG, from its first
/// start-of-frame segment; `None` if `data` is not a JPEG.
pub(crate) fn jpeg_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut offset = 2;
    loop {
        // Markers may be padded with extra 0xFF bytes.
        while *data.get(offset)? == 0xFF && *data.get(offset + 1)? == 0xFF {
            offset += 1;
        }
        if *data.get(offset)? != 0xFF {
            return None;
        }
        let marker = *data.get(offset + 1)?;
        let length = usize::from(u16::from_be_bytes([
            *data.get(offset + 2)?,
            *data.get(offset + 3)?,
        ]));
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let segment = data.get(offset + 4..offset + 2 + length)?;
            let height = u16::from_be_bytes([*segment.get(1)?, *segment.get(2)?]);
            let width = u16::from_be_bytes([*segment.get(3)?, *segment.get(4)?]);
            return Some((u32::from(width), u32::from(height)));
        }
        if marker == 0xDA || length < 2 {
            return None; // scan data before any frame header
        }
        offset += 2 + length;
    }
}

/// The canvas size of a WebP, from its `VP8X`, `VP8 ` or `VP8L` chunk, and
/// whether it declares an alpha channel; `None` if `data` is not a WebP.
pub(crate) fn webp_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    if data.get(0..4)? != b"RIFF" || data.get(8..12)? != b"WEBP" {
        return None;
    }
    let chunk = data.get(12..16)?;
    let body = data.get(20..)?;
    let le24 = |b: &[u8]| u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    match chunk {
        b"VP8X" => {
            let b = body.get(4..10)?;
            Some((le24(&b[0..3]) + 1, le24(&b[3..6]) + 1))
        }
        b"VP8 " => {
            // Frame tag (3), start code 9d 01 2a, then 14-bit sizes.
            let b = body.get(3..10)?;
            if b[0..3] != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let width = u16::from_le_bytes([b[3], b[4]]) & 0x3FFF;
            let height = u16::from_le_bytes([b[5], b[6]]) & 0x3FFF;
            Some((u32::from(width), u32::from(height)))
        }
        b"VP8L" => {
            let b = body.get(0..5)?;
            if b[0] != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_size_comes_from_the_frame_header() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 60, 0, 100, 3, 0, 0, 0]);
        assert_eq!(jpeg_dimensions(&jpeg), Some((100, 60)));
        assert_eq!(jpeg_dimensions(b"\xFF\xD8\xFF\xDA\0\x02"), None);
        assert_eq!(jpeg_dimensions(b"GIF89a"), None);
        assert_eq!(jpeg_dimensions(&jpeg[..10]), None);
    }

    #[test]
    fn webp_size_comes_from_the_first_chunk() {
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x10\0\0\0".to_vec();
        vp8x.extend_from_slice(&[0xFF, 0x01, 0x00, 0xFF, 0x01, 0x00]);
        assert_eq!(webp_dimensions(&vp8x), Some((512, 512)));
        let mut vp8 = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0".to_vec();
        vp8.extend_from_slice(&[0, 0, 0, 0x9D, 0x01, 0x2A, 0x00, 0x02, 0x80, 0x01]);
        assert_eq!(webp_dimensions(&vp8), Some((512, 384)));
        assert_eq!(webp_dimensions(b"RIFF\0\0\0\0WAVEfmt "), None);
    }
}
