//! Linking a device: the QR code drawn in the terminal while an account waits, and
//! the checks on a pairing-code request.
//!
//! The QR payload carries the ADV secret, so it goes to the terminal only (when
//! enabled) and to the account's handle, never into a log line.

use std::io::Write;

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use crate::accounts::AccountError;

/// Renders `payload` as a QR code in Unicode half blocks (two rows per line), dark
/// on light with a quiet zone, the way whatsmeow-based tools show it.
pub fn render_qr(payload: &str) -> Option<String> {
    let code = QrCode::new(payload.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Draws the QR for `account` on stderr (the terminal the operator watches).
pub fn print_qr(account: &str, payload: &str) {
    if let Some(art) = render_qr(payload) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "\nScan this QR code with WhatsApp (Linked devices) to link account `{account}`:\n{art}"
        );
    }
}

/// Checks a phone number for a pairing-code request: digits only (international
/// format without `+`), 6 to 15 of them (E.164).
pub fn validate_phone(phone: &str) -> Result<&str, AccountError> {
    let digits = phone.trim().trim_start_matches('+');
    if (6..=15).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(AccountError::InvalidPhone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_renders_as_unicode_blocks() {
        let art = render_qr("2@abc,def,ghi,jkl").unwrap();
        assert!(art.lines().count() > 10);
        assert!(art.contains('█') || art.contains('▀') || art.contains('▄'));
    }

    #[test]
    fn phones_are_digits_only() {
        assert_eq!(validate_phone("+15551234567").unwrap(), "15551234567");
        for bad in ["", "12345", "1555-123-4567", "1234567890123456", "abcdefgh"] {
            assert!(validate_phone(bad).is_err(), "{bad}");
        }
    }
}
