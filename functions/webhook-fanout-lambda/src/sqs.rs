//! The SQS event a queue trigger hands the function, and the partial batch
//! response it answers with: only the fields this function reads, named as
//! AWS sends them (anything else in the event is ignored).

use serde::{Deserialize, Serialize};

/// One invocation's batch of queue messages.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    /// The messages, up to the trigger's batch size.
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

/// One queue message.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    /// Names the message in `batchItemFailures` (and in our logs).
    pub message_id: String,
    /// The message body: here one `delivery-request` as JSON.
    #[serde(default)]
    pub body: String,
    /// System attributes; the receive count numbers redelivered attempts.
    #[serde(default)]
    pub attributes: SqsAttributes,
}

/// The system attributes this function reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SqsAttributes {
    /// How many times the message has been received, this time included
    /// (AWS sends it as a decimal string).
    #[serde(rename = "ApproximateReceiveCount")]
    pub approximate_receive_count: Option<String>,
}

impl SqsMessage {
    /// How many times this message has been received, counting this one
    /// (1 when the attribute is missing or unreadable).
    pub fn receive_count(&self) -> u32 {
        self.attributes
            .approximate_receive_count
            .as_deref()
            .and_then(|count| count.trim().parse().ok())
            .filter(|count| *count >= 1)
            .unwrap_or(1)
    }
}

/// The partial batch response: the messages to receive again. Messages not
/// named here are deleted from the queue (the trigger must be configured with
/// `ReportBatchItemFailures`, which the Terraform module does).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsBatchResponse {
    /// One entry per message to redeliver.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A message to redeliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The message's `messageId`.
    pub item_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example event of AWS's "Using Lambda with Amazon SQS" page.
    const EXAMPLE: &str = r#"{
      "Records": [
        {
          "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
          "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
          "body": "Test message.",
          "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185"
          },
          "messageAttributes": {
            "myAttribute": {"stringValue": "myValue", "stringListValues": [],
                            "binaryListValues": [], "dataType": "String"}
          },
          "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
          "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
          "awsRegion": "us-east-2"
        },
        {
          "messageId": "2e1424d4-f796-459a-8184-9c92662be6da",
          "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
          "body": "Test message.",
          "attributes": {
            "ApproximateReceiveCount": "3",
            "SentTimestamp": "1545082650636",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082650649"
          },
          "messageAttributes": {},
          "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
          "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
          "awsRegion": "us-east-2"
        }
      ]
    }"#;

    #[test]
    fn reads_the_documented_event() {
        let event: SqsEvent = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(event.records.len(), 2);
        assert_eq!(
            event.records[0].message_id,
            "059f36b4-87a3-44ab-83d2-661975830a7d"
        );
        assert_eq!(event.records[0].body, "Test message.");
        assert_eq!(event.records[0].receive_count(), 1);
        assert_eq!(event.records[1].receive_count(), 3);
    }

    #[test]
    fn an_unreadable_receive_count_counts_as_the_first() {
        let message: SqsMessage = serde_json::from_str(
            r#"{"messageId":"m","body":"b","attributes":{"ApproximateReceiveCount":"x"}}"#,
        )
        .unwrap();
        assert_eq!(message.receive_count(), 1);
        let message: SqsMessage = serde_json::from_str(r#"{"messageId":"m"}"#).unwrap();
        assert_eq!((message.receive_count(), message.body.as_str()), (1, ""));
    }

    #[test]
    fn the_response_has_the_documented_shape() {
        let response = SqsBatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: "m1".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
        );
    }
}
