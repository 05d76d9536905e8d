//! One webhook attempt, without I/O: the signed headers it carries, what the
//! receiver's answer means, and when to try again.
//!
//! The same logic runs in three places: the `webhook-fanout` component (hosted
//! by the connector), the fan-out Lambda, and the connector's dispatcher (which
//! schedules retries). Callers bring the clock and the randomness.
#![warn(missing_docs)]

mod backoff;
mod outcome;
mod signing;

pub use backoff::{MAX_DELAY, next_attempt_delay, should_give_up};
pub use outcome::{Failure, MAX_ANSWER_EXCERPT, Outcome, classify_status, parse_retry_after};
pub use signing::{Attempt, HeaderError, SIGNATURE_HEADER, signature, signed_headers};
