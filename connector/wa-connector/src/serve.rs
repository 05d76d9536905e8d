//! `wa-connector serve`: wires the configured parts together and runs until stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tracing_subscriber::EnvFilter;
use wa_host::{HostConfig, HostEngine, HttpComponent, OutboundHttp};

use crate::accounts::{AccountManager, ConnectorOptions};
use crate::config::ServeConfig;
use crate::gateway::{Deployment, Gateway};
use crate::{http_server, internal_api, webhooks};

/// The authority hosted components use for the connector; their requests to it
/// are answered in-process (see [`wa_host::InternalRoute`]).
pub const INTERNAL_AUTHORITY: &str = "connector.internal";

/// How much longer than the webhook timeout an attempt may run in the host.
const FANOUT_MARGIN: std::time::Duration = std::time::Duration::from_millis(250);

/// Linear memory one component instance may use.
const COMPONENT_MEMORY_BYTES: usize = 256 * 1024 * 1024;

/// Runs the connector until SIGINT or SIGTERM.
pub async fn run(config: ServeConfig) -> anyhow::Result<()> {
    init_tracing(config.debug);
    let stop = shutdown_signal();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        db = ?config.db_uri,
        server = %config.server_url,
        media = ?config.media_uri,
        webhooks = config.webhooks.len(),
        basic_auth_accounts = config.basic_auth.0.len(),
        api_keys = config.api_keys.0.len(),
        "starting wa-connector"
    );

    let conversion = config
        .media_conversion()
        .map_err(|e| anyhow::anyhow!("invalid video encoder settings: {e}"))?;
    std::fs::create_dir_all(&config.component_cache).with_context(|| {
        format!(
            "cannot create the component cache {}",
            config.component_cache.display()
        )
    })?;
    let cache_dir = std::path::absolute(&config.component_cache)?;
    let store = wa_store::open_parsed(config.database())
        .await
        .context("cannot open the database (DB_URI)")?;
    let media = wa_media::open(&config.media_config())
        .await
        .context("cannot open the media store (MEDIA_URI)")?;
    tracing::info!(store = store.kind(), media = media.kind(), "storage ready");

    let metrics = crate::metrics::Metrics::default();
    let store: wa_store::DynStore = Arc::new(crate::storage::ConnectorStore::new(
        store,
        metrics.storage().clone(),
        config.chat_storage,
    ));
    let retention = crate::retention::spawn(
        store.clone(),
        Some(media.clone()),
        config.retention(),
        metrics.storage().clone(),
    );
    let accounts = Arc::new(AccountManager::new(
        store.clone(),
        ConnectorOptions {
            server_url: config.server_url.to_string(),
            trust_root: config.trust_root,
            print_qr: config.print_qr,
            media: Some(media.clone()),
            auto_download_media: config.auto_download_media,
            auto_reject_calls: config.auto_reject_call,
            metrics: metrics.clone(),
            send_rate: config.send_rate(),
            http_client: config.http_client(),
            ..ConnectorOptions::default()
        },
    ));
    accounts
        .resume_all()
        .await
        .context("cannot resume the linked accounts")?;
    if let Some(id) = &config.link_account {
        let handle = accounts
            .start(id)
            .await
            .with_context(|| format!("cannot start account {id}"))?;
        tracing::info!(account = %id, state = %handle.state(), "account started");
    }

    let gateway = Gateway::new(
        accounts.clone(),
        store.clone(),
        Some(media.clone()),
        Deployment {
            host: "wa-connector".to_owned(),
        },
    )
    .with_webhook_retry_window(config.webhook_retry_window)
    .with_media_conversion(conversion)
    .with_metrics(metrics.clone());
    let host_config = HostConfig {
        request_timeout: config.request_timeout,
        cache_dir: Some(cache_dir),
        // Room for one buffered upload at the largest media limit, twice.
        max_memory_bytes: COMPONENT_MEMORY_BYTES,
        env: [
            ("WA_HOST".to_owned(), "wa-connector".to_owned()),
            ("WA_STORE".to_owned(), store.kind().to_owned()),
            ("WA_MEDIA".to_owned(), media.kind().to_owned()),
            (
                "CONNECTOR_URL".to_owned(),
                format!("http://{INTERNAL_AUTHORITY}"),
            ),
        ]
        .into_iter()
        .chain(config.component_env())
        .collect(),
        internal: Some(in_process_route(gateway.clone())),
        outbound: outbound_http(&config),
        ..HostConfig::default()
    };
    let engine = HostEngine::new(&host_config)?;
    let component = HttpComponent::load(&engine, &config.http_component, &host_config).context(
        "cannot load the REST API component (build it with `cargo xtask build-components`)",
    )?;

    let webhooks = start_webhooks(&config, &engine, store.clone(), metrics.clone()).await?;

    let tls = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            Some(crate::tls::acceptor(cert, key).context("cannot set up TLS")?)
        }
        _ => None,
    };
    let address = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %local, "listening on {scheme}://{local}");

    let internal = config
        .internal_api_token
        .clone()
        .map(|token| http_server::InternalEndpoint { gateway, token });
    http_server::serve(
        listener,
        tls,
        Arc::new(component),
        Arc::new(http_server::Access {
            credentials: config.credentials(),
            rate_limit: config.api_rate_limit().map(|limit| {
                crate::rate_limit::KeyedLimiter::new(limit, Arc::new(crate::clock::SystemClock))
            }),
            pprof: config.pprof,
        }),
        internal.map(Arc::new),
        Arc::new(crate::monitoring::Monitoring::new(
            metrics,
            accounts.clone(),
            store,
            config.metrics_public,
        )),
        stop,
    )
    .await?;
    for task in webhooks {
        task.abort();
    }
    if let Some(task) = retention {
        task.abort();
    }
    accounts.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Loads the fan-out component and starts the webhook planner and sender.
/// How the hosted components' own requests (webhook deliveries, `image_url`
/// and `file_url` fetches) go out: the same `HTTP_CLIENT_*` settings as the
/// connector's media transfers.
fn outbound_http(config: &ServeConfig) -> OutboundHttp {
    OutboundHttp {
        max_idle_per_host: config.http_client_max_idle_per_host,
        idle_timeout: config.http_client_idle_timeout,
        timeout: config.http_client_timeout,
    }
}

async fn start_webhooks(
    config: &ServeConfig,
    engine: &HostEngine,
    store: wa_store::DynStore,
    metrics: crate::metrics::Metrics,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let options = Arc::new(config.webhook_options());
    let deliverer: Arc<dyn webhooks::Deliver> = match &config.webhook_queue_url {
        Some(queue_url) => {
            if config.internal_api_token.is_none() {
                tracing::warn!(
                    "WEBHOOK_QUEUE_URL is set without INTERNAL_API_TOKEN: the fan-out \
                     Lambda cannot report outcomes, and queued deliveries are re-queued \
                     when their lease ends"
                );
            }
            tracing::info!(%queue_url, "webhook attempts go to the queue");
            Arc::new(webhooks::QueueDeliverer::from_env(queue_url.clone()).await)
        }
        None => {
            let host_config = HostConfig {
                // The receiver's silence, not the host, should end a slow attempt.
                request_timeout: options.timeout + FANOUT_MARGIN,
                max_concurrent_requests: u32::try_from(options.concurrency).unwrap_or(u32::MAX),
                cache_dir: Some(std::path::absolute(&config.component_cache)?),
                env: vec![("WA_HOST".to_owned(), "wa-connector".to_owned())],
                outbound: outbound_http(config),
                ..HostConfig::default()
            };
            let component = HttpComponent::load(engine, &config.webhook_component, &host_config)
                .context(
                    "cannot load the webhook fan-out component (build it with `cargo xtask build-components`)",
                )?;
            Arc::new(webhooks::ComponentDeliverer::new(
                Arc::new(component),
                options.timeout,
            ))
        }
    };
    let (wake_planner, planned) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    tracing::info!(
        urls = options.urls.len(),
        timeout = ?options.timeout,
        concurrency = options.concurrency,
        retry_window = ?options.retry_window,
        "webhook fan-out ready"
    );
    Ok(vec![
        tokio::spawn(webhooks::planner::run(
            store.clone(),
            options.clone(),
            wake_planner,
            planned.clone(),
        )),
        tokio::spawn(webhooks::sender::run(
            store, deliverer, options, planned, metrics,
        )),
    ])
}

/// Hands hosted components' requests for [`INTERNAL_AUTHORITY`] to the internal
/// endpoint without a network hop.
fn in_process_route(gateway: Gateway) -> wa_host::InternalRoute {
    wa_host::InternalRoute {
        authority: INTERNAL_AUTHORITY.to_owned(),
        service: Arc::new(move |request| {
            let gateway = gateway.clone();
            Box::pin(async move {
                use http_body_util::BodyExt;
                internal_api::handle(&gateway, request)
                    .await
                    .map(|body| body.map_err(|never| match never {}).boxed_unsync())
            })
        }),
    }
}

fn init_tracing(debug: bool) {
    let default = if debug {
        "info,wa_=debug,wa_connector=debug"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Watches SIGINT and SIGTERM. The handlers are installed here, before the caller
/// announces it is listening, so a signal sent right after that line is never met
/// by the default action (an abrupt exit that would skip closing the connections).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)));
        async move {
            match handlers {
                Ok((mut term, mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot watch SIGTERM; stopping on Ctrl-C only");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
