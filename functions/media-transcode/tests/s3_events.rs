//! The built Lambda binary on S3 events, against a real S3-compatible server
//! (`infra/s3.sh`, started by `cargo xtask test`; its `WA_TEST_S3_*` settings),
//! real ffmpeg and the Runtime API emulator: uploads under `incoming/` become
//! results under `transcoded/`, once.

mod support;

use std::{path::Path, time::Duration};

use aws_sdk_s3::{Client, primitives::ByteStream};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::media::{ffprobe, picture, require_ffmpeg, tone};
use wa_testkit::{
    lambda_runtime_api::{FunctionProcess, RuntimeApi},
    required_env,
};

const EXE: &str = env!("CARGO_BIN_EXE_media-transcode-lambda");
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(120);

struct Bucket {
    client: Client,
    name: String,
    endpoint: String,
    access_key: String,
    secret_key: String,
}

impl Bucket {
    async fn from_env() -> Self {
        let endpoint = required_env("WA_TEST_S3_ENDPOINT");
        let access_key = required_env("WA_TEST_S3_ACCESS_KEY");
        let secret_key = required_env("WA_TEST_S3_SECRET_KEY");
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &access_key,
                &secret_key,
                None,
                None,
                "test",
            ))
            .load()
            .await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .build();
        Self {
            client: Client::from_conf(config),
            name: required_env("WA_TEST_S3_BUCKET"),
            endpoint,
            access_key,
            secret_key,
        }
    }

    /// Uploads `bytes` as `<prefix>/incoming/<sha256>.<extension>`; its key.
    async fn upload(&self, prefix: &str, bytes: Vec<u8>, extension: &str, mime: &str) -> String {
        let sha = hex(&Sha256::digest(&bytes));
        let key = format!("{prefix}/incoming/{sha}.{extension}");
        self.client
            .put_object()
            .bucket(&self.name)
            .key(&key)
            .content_type(mime)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
        key
    }

    /// (ETag, Last-Modified) of `key`, or `None` when it does not exist.
    async fn stamp(&self, key: &str) -> Option<(String, String)> {
        let head = self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .ok()?;
        Some((
            head.e_tag().unwrap().to_owned(),
            head.last_modified().unwrap().to_string(),
        ))
    }

    async fn download(&self, key: &str, to: &Path) {
        let object = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .unwrap();
        std::fs::write(to, object.body.collect().await.unwrap().into_bytes()).unwrap();
    }

    /// The function's environment: this server, path-style, these keys.
    fn function_env<'a>(&'a self, media_prefix: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("AWS_ENDPOINT_URL_S3", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", self.access_key.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.as_str()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("MEDIA_PREFIX", media_prefix),
        ]
    }

    /// An `ObjectCreated:Put` event for `keys`, in the shape of AWS's example,
    /// keys URL-encoded as S3 sends them.
    fn event(&self, keys: &[&str]) -> Value {
        let records: Vec<Value> = keys
            .iter()
            .map(|key| {
                json!({
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-11-29T00:13:56.000Z",
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:AROAEXAMPLE:wa-connector"},
                    "requestParameters": {"sourceIPAddress": "10.42.0.17"},
                    "responseElements": {
                        "x-amz-request-id": "C3D13FE58DE4C810",
                        "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
                    },
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "tf-s3-lambda-20261129001356",
                        "bucket": {
                            "name": self.name,
                            "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                            "arn": format!("arn:aws:s3:::{}", self.name)
                        },
                        "object": {
                            "key": url_encode(key),
                            "size": 1024,
                            "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                            "sequencer": "0055AED6DCD90281E5"
                        }
                    }
                })
            })
            .collect();
        json!({ "Records": records })
    }
}

/// S3's key encoding in events: form encoding, `+` for a space.
fn url_encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A prefix of its own per run, with a space (encoded `+` in events).
fn run_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t-{}-{nanos}/{name} media", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_become_results_once_and_a_broken_one_is_a_typed_error() {
    require_ffmpeg();
    let bucket = Bucket::from_env().await;
    let prefix = run_prefix("transcode");
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(tone(dir.path(), "tone.wav", 2, 2, 44_100)).unwrap();
    let png = std::fs::read(picture(dir.path(), "in.png", "96x64", &[])).unwrap();
    let audio_key = bucket
        .upload(&prefix, wav.clone(), "wav", "audio/wav")
        .await;
    let image_key = bucket.upload(&prefix, png, "png", "image/png").await;
    let sha = hex(&Sha256::digest(&wav));

    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "wa-gateway-media-transcode",
        &bucket.function_env(&prefix),
    );

    // An upload of each kind, and a key outside incoming/.
    let stray = format!("{prefix}/other/{sha}.wav");
    let event = bucket.event(&[&audio_key, &image_key, &stray]);
    let answer = api.invoke(&event, INVOCATION_TIMEOUT).await.response_json();
    let records = answer["records"].as_array().unwrap_or_else(|| {
        panic!("{answer}\n{}", function.logs());
    });
    assert_eq!(records.len(), 3, "{answer}");
    assert_eq!(records[0]["status"], "transcoded", "{answer}");
    assert_eq!(records[0]["key"], audio_key.as_str());
    let note_key = format!("{prefix}/transcoded/{sha}.ogg");
    assert_eq!(records[0]["outputs"][0]["key"], note_key.as_str());
    assert_eq!(
        records[0]["outputs"][0]["content_type"],
        "audio/ogg; codecs=opus"
    );
    assert_eq!(records[1]["status"], "transcoded", "{answer}");
    let thumbnail_key = records[1]["outputs"][0]["key"].as_str().unwrap();
    assert!(thumbnail_key.ends_with(".thumbnail.jpg"), "{answer}");
    assert_eq!(records[2]["status"], "ignored", "{answer}");

    // The results are real media, with what the transcoder measured.
    let note = dir.path().join("note.ogg");
    bucket.download(&note_key, &note).await;
    let probe = ffprobe(&note);
    assert_eq!((probe.codec_name.as_str(), probe.channels), ("opus", 1));
    let head = bucket
        .client
        .head_object()
        .bucket(&bucket.name)
        .key(&note_key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("audio/ogg; codecs=opus"));
    let metadata = head.metadata().unwrap();
    assert_eq!(metadata.get("seconds").map(String::as_str), Some("2"));
    assert_eq!(
        metadata.get("source-key").map(String::as_str),
        Some(audio_key.as_str())
    );
    let thumbnail = dir.path().join("thumb.jpg");
    bucket.download(thumbnail_key, &thumbnail).await;
    assert_eq!(ffprobe(&thumbnail).codec_name, "mjpeg");

    // The same event again (S3 delivers at least once): nothing is redone.
    let before = (
        bucket.stamp(&note_key).await.unwrap(),
        bucket.stamp(thumbnail_key).await.unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await; // Last-Modified has seconds
    let answer = api
        .invoke(&bucket.event(&[&audio_key, &image_key]), INVOCATION_TIMEOUT)
        .await
        .response_json();
    assert_eq!(
        answer["records"][0]["status"], "already_transcoded",
        "{answer}"
    );
    assert_eq!(
        answer["records"][1]["status"], "already_transcoded",
        "{answer}"
    );
    let after = (
        bucket.stamp(&note_key).await.unwrap(),
        bucket.stamp(thumbnail_key).await.unwrap(),
    );
    assert_eq!(before, after, "the results were not written again");

    // A broken upload: the library's typed error, naming the object; no result.
    let broken = b"definitely not audio".to_vec();
    let broken_key = bucket
        .upload(&prefix, broken.clone(), "wav", "audio/wav")
        .await;
    let outcome = api
        .invoke(&bucket.event(&[&broken_key]), INVOCATION_TIMEOUT)
        .await;
    let report = outcome.error();
    assert_eq!(report.error_type, "FfmpegFailed", "{report:?}");
    assert!(report.error_message.contains(&broken_key), "{report:?}");
    let broken_sha = hex(&Sha256::digest(&broken));
    assert_eq!(
        bucket
            .stamp(&format!("{prefix}/transcoded/{broken_sha}.ogg"))
            .await,
        None
    );

    // An upload that is gone by the time the event arrives: S3's side, typed.
    let missing = format!("{prefix}/incoming/{}.wav", "0".repeat(64));
    let report = api
        .invoke(&bucket.event(&[&missing]), INVOCATION_TIMEOUT)
        .await;
    assert_eq!(report.error().error_type, "S3ReadFailed", "{report:?}");
    assert_eq!(api.init_errors(), vec![]);
}
