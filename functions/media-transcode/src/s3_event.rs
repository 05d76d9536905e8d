//! The S3 event notification a bucket trigger sends (`ObjectCreated:*`): only
//! the fields the function reads, named as AWS sends them. Object keys arrive
//! URL-encoded, with `+` for spaces; [`S3EventRecord::key`] decodes them.

use serde::Deserialize;

/// One invocation's notification (S3 sends one record per event in practice).
#[derive(Debug, Clone, Deserialize)]
pub struct S3Event {
    /// The records.
    #[serde(rename = "Records")]
    pub records: Vec<S3EventRecord>,
}

/// One object event.
#[derive(Debug, Clone, Deserialize)]
pub struct S3EventRecord {
    /// E.g. `ObjectCreated:Put`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    /// The bucket and the object.
    pub s3: S3Entity,
}

/// The `s3` part of a record.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Entity {
    /// The bucket.
    pub bucket: S3Bucket,
    /// The object.
    pub object: S3Object,
}

/// The bucket of a record.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Bucket {
    /// Its name.
    pub name: String,
}

/// The object of a record.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Object {
    /// The key, URL-encoded (`+` for a space).
    pub key: String,
    /// Its size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Its ETag.
    #[serde(rename = "eTag", default)]
    pub e_tag: Option<String>,
}

impl S3EventRecord {
    /// Whether this record is about a newly written object.
    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:")
    }

    /// The object's key, decoded; `None` when the encoding is broken.
    pub fn key(&self) -> Option<String> {
        decode_key(&self.s3.object.key)
    }
}

/// Decodes an event's object key: `+` is a space, `%XX` a byte, and the bytes
/// must be UTF-8.
pub fn decode_key(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &tail[2..];
                continue;
            }
            other => bytes.push(other),
        }
        rest = tail;
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example event of AWS's "Using an Amazon S3 trigger" page.
    const EXAMPLE: &str = r#"{
      "Records": [
        {
          "eventVersion": "2.0",
          "eventSource": "aws:s3",
          "awsRegion": "us-east-1",
          "eventTime": "1970-01-01T00:00:00.000Z",
          "eventName": "ObjectCreated:Put",
          "userIdentity": {"principalId": "EXAMPLE"},
          "requestParameters": {"sourceIPAddress": "127.0.0.1"},
          "responseElements": {
            "x-amz-request-id": "EXAMPLE123456789",
            "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH"
          },
          "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "testConfigRule",
            "bucket": {
              "name": "example-bucket",
              "ownerIdentity": {"principalId": "EXAMPLE"},
              "arn": "arn:aws:s3:::example-bucket"
            },
            "object": {
              "key": "test%2Fkey",
              "size": 1024,
              "eTag": "0123456789abcdef0123456789abcdef",
              "sequencer": "0A1B2C3D4E5F678901"
            }
          }
        }
      ]
    }"#;

    #[test]
    fn reads_the_documented_event() {
        let event: S3Event = serde_json::from_str(EXAMPLE).unwrap();
        let record = &event.records[0];
        assert!(record.is_object_created());
        assert_eq!(record.s3.bucket.name, "example-bucket");
        assert_eq!(record.key().as_deref(), Some("test/key"));
        assert_eq!(record.s3.object.size, Some(1024));
    }

    #[test]
    fn keys_decode_plus_and_percent_escapes() {
        assert_eq!(
            decode_key("media/incoming/my+voice%2Bnote%C3%A9.ogg").as_deref(),
            Some("media/incoming/my voice+noteé.ogg")
        );
        assert_eq!(decode_key("plain").as_deref(), Some("plain"));
        for broken in ["bad%", "bad%4", "bad%zz", "bad%ff"] {
            assert_eq!(decode_key(broken), None, "{broken}");
        }
    }
}
