//! The webhook fan-out as an AWS Lambda function, fed by the gateway's SQS
//! event queue.
//!
//! Each queue message is one `delivery-request` (WIT `wa:gateway/delivery`,
//! the JSON the `webhook-fanout` component takes on `POST /deliver`). The
//! function makes one attempt per message with `webhook-core`'s signing,
//! header rules and reading of the answer — the component's logic, so a
//! receiver cannot tell the two apart — and answers SQS with a partial batch
//! response:
//!
//! | outcome | the message |
//! |---|---|
//! | delivered (2xx) | deleted |
//! | retry (5xx, 408, 425, 429, timeout, network) | received again after the visibility timeout; the redrive policy dead-letters it in the end |
//! | reject (other 4xx, 3xx, bad URL or header) | deleted: trying again will not help |
//! | not a delivery-request | deleted, logged at error level with its `messageId` |
//!
//! That table is the queue-only mode. With a connector configured
//! (`CONNECTOR_URL`, the cloud mode's `WEBHOOK_QUEUE_URL` on its side), each
//! outcome is reported to it (`webhooks/report-outcome`, with the bearer token
//! from `CONNECTOR_TOKEN_ARN` through the secrets extension, or
//! `CONNECTOR_TOKEN`; a token that cannot be read holds the attempt back, as
//! an unreadable gateway key does) and the connector keeps the schedule: a
//! reported outcome, a retry included, settles the message (the connector
//! queues the next attempt after its back-off); a report that fails makes the
//! message come back, so the same attempt is made and reported again
//! (receivers dedupe on `X-Webhook-Delivery`, the connector ignores attempts
//! it already has).
//!
//! The pieces: [`sqs`] (the event and the answer), [`request`] (the message
//! body), [`send`] (one HTTP attempt), [`secret`] (the gateway-wide key and
//! the connector token), [`report`] (the connector), [`batch`] (one
//! invocation), [`config`] (the environment).
#![warn(missing_docs)]

pub mod batch;
pub mod config;
pub mod report;
pub mod request;
pub mod secret;
pub mod send;
pub mod sqs;

pub use batch::Fanout;
pub use config::Config;
