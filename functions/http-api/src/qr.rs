//! QR codes as PNG images, for clients that show GOWA's `qr_link`.

use bytes::Bytes;
use qrcode::{Color, QrCode};

use crate::error::{ApiError, ApiResult};

/// Pixels per QR module.
const SCALE: usize = 8;
/// White modules around the code (the QR standard's quiet zone).
const QUIET_ZONE: usize = 4;

/// Renders `data` as a black-on-white, 1-bit grayscale PNG.
pub fn png(data: &str) -> ApiResult<Bytes> {
    let code = QrCode::new(data.as_bytes())
        .map_err(|e| ApiError::internal(format!("cannot encode the QR code: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * SCALE;
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0xFFu8; row_bytes * side];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / SCALE, y / SCALE);
            let dark = mx >= QUIET_ZONE
                && my >= QUIET_ZONE
                && mx - QUIET_ZONE < modules
                && my - QUIET_ZONE < modules
                && colors[(my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)] == Color::Dark;
            if dark {
                // 1-bit grayscale: 0 is black, most significant bit first.
                pixels[y * row_bytes + x / 8] &= !(0x80 >> (x % 8));
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder
            .write_header()
            .map_err(|e| ApiError::internal(format!("cannot write the PNG: {e}")))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| ApiError::internal(format!("cannot write the PNG: {e}")))?;
    }
    Ok(Bytes::from(out))
}
