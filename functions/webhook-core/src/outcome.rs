//! What a receiver's answer (or its silence) means for the delivery.

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered(u16),
    /// Worth trying again: 5xx, 408, 425, 429, a timeout or a network error.
    Retry(Failure),
    /// Trying again will not help (other 4xx, 3xx, a bad URL): dead-letter it.
    Reject(Failure),
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// What went wrong, for the delivery log.
    pub reason: String,
    /// The receiver's `Retry-After`, in seconds.
    pub retry_after_secs: Option<u32>,
}

/// How much of a receiver's answer is read, only to quote it in a failure's reason.
pub const MAX_ANSWER_EXCERPT: usize = 4 * 1024;
/// How many characters of that answer the reason quotes.
const QUOTED_CHARS: usize = 200;

impl Outcome {
    /// A retry that happened before or instead of an answer (a timeout, a
    /// refused connection, a secret that could not be read).
    pub fn retry(reason: impl Into<String>) -> Self {
        Self::Retry(Failure::without_answer(reason))
    }

    /// A reject decided before anything was sent (a bad URL or header).
    pub fn reject(reason: impl Into<String>) -> Self {
        Self::Reject(Failure::without_answer(reason))
    }

    /// The same outcome, its failure reason quoting the start of the
    /// receiver's answer (`answer`: up to [`MAX_ANSWER_EXCERPT`] bytes of the
    /// body), so the delivery log shows what the receiver said.
    pub fn quoting(self, answer: &[u8]) -> Self {
        let excerpt: String = String::from_utf8_lossy(answer)
            .trim()
            .chars()
            .take(QUOTED_CHARS)
            .collect();
        let quote = |mut failure: Failure| {
            if !excerpt.is_empty() {
                failure.reason = format!("{}: {excerpt}", failure.reason);
            }
            failure
        };
        match self {
            Self::Retry(failure) => Self::Retry(quote(failure)),
            Self::Reject(failure) => Self::Reject(quote(failure)),
            delivered => delivered,
        }
    }
}

impl Failure {
    /// A failure with no status and no `Retry-After`: nothing was answered.
    pub fn without_answer(reason: impl Into<String>) -> Self {
        Self {
            status: None,
            reason: reason.into(),
            retry_after_secs: None,
        }
    }
}

/// Classifies an HTTP answer. `retry_after` is the raw `Retry-After` header.
pub fn classify_status(status: u16, retry_after: Option<&str>, now_unix: u64) -> Outcome {
    let failure = |reason: String| Failure {
        status: Some(status),
        reason,
        retry_after_secs: retry_after.and_then(|v| parse_retry_after(v, now_unix)),
    };
    match status {
        200..=299 => Outcome::Delivered(status),
        408 | 425 | 429 | 500..=599 => {
            Outcome::Retry(failure(format!("the receiver answered {status}")))
        }
        _ => Outcome::Reject(failure(format!(
            "the receiver answered {status}; not retried"
        ))),
    }
}

/// `Retry-After` as seconds from now: delta-seconds, or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) relative to `now_unix`.
pub fn parse_retry_after(value: &str, now_unix: u64) -> Option<u32> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(u32::try_from(secs).unwrap_or(u32::MAX));
    }
    let at = parse_imf_fixdate(value)?;
    Some(u32::try_from(at.saturating_sub(now_unix)).unwrap_or(u32::MAX))
}

fn parse_imf_fixdate(value: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(classify_status(204, None, 0), Outcome::Delivered(204));
        for retry in [408, 425, 429, 500, 502, 503, 599] {
            assert!(
                matches!(classify_status(retry, None, 0), Outcome::Retry(_)),
                "{retry}"
            );
        }
        for reject in [301, 400, 401, 403, 404, 410, 422] {
            assert!(
                matches!(classify_status(reject, None, 0), Outcome::Reject(_)),
                "{reject}"
            );
        }
        let Outcome::Retry(f) = classify_status(503, Some("120"), 0) else {
            panic!()
        };
        assert_eq!((f.status, f.retry_after_secs), (Some(503), Some(120)));
    }

    #[test]
    fn failures_quote_the_start_of_the_answer() {
        let Outcome::Reject(f) = classify_status(404, None, 0).quoting(b"  no such hook\n") else {
            panic!()
        };
        assert_eq!(
            f.reason,
            "the receiver answered 404; not retried: no such hook"
        );
        let long = vec![b'x'; MAX_ANSWER_EXCERPT];
        let Outcome::Retry(f) = classify_status(500, None, 0).quoting(&long) else {
            panic!()
        };
        assert_eq!(
            f.reason.len(),
            "the receiver answered 500: ".len() + QUOTED_CHARS
        );
        assert_eq!(
            classify_status(200, None, 0).quoting(b"ok"),
            Outcome::Delivered(200)
        );
        assert_eq!(
            Outcome::retry("timed out").quoting(b""),
            Outcome::Retry(Failure::without_answer("timed out"))
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 30 ", 0), Some(30));
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example).
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_700),
            Some(77)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
