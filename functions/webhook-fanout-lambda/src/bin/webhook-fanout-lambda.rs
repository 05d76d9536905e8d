//! The webhook fan-out Lambda function (`bootstrap` on provided.al2023): reads
//! its settings at cold start (see [`Config::from_vars`]), then serves SQS
//! batches until the runtime stops it.

use std::sync::Arc;

use anyhow::Context as _;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use webhook_fanout_lambda::{Config, Fanout, secret::Secret, sqs::SqsBatchResponse, sqs::SqsEvent};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time() // CloudWatch stamps every line already
        .with_ansi(false)
        .init();

    let config = Config::from_vars(|name| std::env::var(name).ok())?;
    tracing::info!(
        secret = ?config.secret,
        reports = config.reporter.is_some(),
        token = ?config.reporter.as_ref().map(|r| r.token_source()),
        concurrency = config.concurrency,
        "webhook fan-out starting"
    );
    let client = webhook_fanout_lambda::send::client().context("building the HTTP client")?;
    let fanout = Arc::new(Fanout::new(
        client,
        Secret::new(config.secret),
        config.reporter,
        config.concurrency,
    ));

    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let fanout = Arc::clone(&fanout);
        async move {
            let deadline = event.context.deadline();
            let records = event.payload.records.len();
            let response = fanout.handle(event.payload, deadline).await;
            tracing::info!(
                request_id = %event.context.request_id,
                records,
                failures = response.batch_item_failures.len(),
                "batch done"
            );
            Ok::<SqsBatchResponse, Diagnostic>(response)
        }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
    .context("the Lambda runtime stopped")
}
