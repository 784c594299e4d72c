//! `bertrs-cli serve`: a classifier behind text-embeddings-inference's HTTP API.
//!
//! axum on a tokio runtime takes requests, parses and tokenizes them (tokenization on
//! tokio's blocking pool), and queues each input for the model, which runs on a thread of its
//! own (`batcher.rs`): the async side never waits on the model except through a reply
//! channel. SIGINT or SIGTERM stops accepting, lets in-flight requests finish, then exits 0.

mod api;
mod batcher;
mod cors;
mod encode;
mod metrics;
mod rank;
mod routes;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use bertrs_model::ProblemType;
use tokio::sync::Semaphore;

use crate::args::ServeArgs;
use crate::model_dir;

/// The playground page: one self-contained file, no external assets.
const PLAYGROUND: &str = include_str!("playground.html");

/// What every handler shares.
pub struct AppState {
    info: api::Info,
    problem: ProblemType,
    encoder: Arc<encode::Encoder>,
    queue: batcher::Queue,
    permits: Arc<Semaphore>,
    metrics: Arc<metrics::Metrics>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let mut opened = model_dir::Opened::new(&args.model, args.backend.backend.as_deref(), None)?;
    // TEI's max input length: the model's positions (and the tokenizer's limit, if lower).
    let longest = opened.tokenizer.model_max_length().map_or(opened.config.max_position_embeddings, |n| n.min(opened.config.max_position_embeddings));
    let max_input = args.max_input_length.unwrap_or(longest);
    if !(3..=opened.config.max_position_embeddings).contains(&max_input) {
        bail!("--max-input-length {max_input} must be between 3 and the model's max_position_embeddings ({})", opened.config.max_position_embeddings);
    }
    opened.max_length = max_input;
    let problem = opened.config.problem_type();
    let labels = opened.config.labels();
    let encoder = Arc::new(encode::Encoder::new(&opened.tokenizer, opened.max_length, opened.config.type_vocab_size)?);
    let execution = args.backend.execution();
    let info = api::Info {
        model_id: args.model.clone(),
        model_dtype: "float32".into(),
        model_type: api::Info::classifier(&labels),
        problem_type: problem.to_string(),
        labels,
        max_concurrent_requests: args.max_concurrent_requests,
        max_input_length: opened.max_length,
        max_batch_tokens: args.max_batch_tokens,
        max_batch_requests: args.max_batch_requests,
        max_client_batch_size: args.max_client_batch_size,
        auto_truncate: args.auto_truncate,
        payload_limit: args.payload_limit,
        backend: opened.backend.to_string(),
        execution: if execution == bertrs_model::Execution::Padded { "padded" } else { "padding-free" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let metrics = Arc::new(metrics::Metrics::default());
    let model = batcher::Model { dir: opened.dir.clone(), config: opened.config.clone(), device: opened.device.clone(), execution, pad_id: opened.tokenizer.pad_id() };
    let limits = batcher::Limits { max_batch_tokens: args.max_batch_tokens, max_batch_requests: args.max_batch_requests };
    let (queue, model_thread) = batcher::spawn(model, limits, metrics.clone())?;
    let state = Arc::new(AppState { info, problem, encoder, queue, permits: Arc::new(Semaphore::new(args.max_concurrent_requests)), metrics });
    let app = Router::new()
        .route("/", get(routes::playground).post(routes::predict))
        .route("/predict", post(routes::predict))
        .route("/tokenize", post(routes::tokenize))
        .route("/info", get(routes::info))
        .route("/health", get(routes::health))
        .route("/metrics", get(routes::metrics))
        .route("/api-doc/openapi.json", get(routes::openapi))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(args.payload_limit))
        .layer(axum::middleware::from_fn_with_state(Arc::new(args.cors_allow_origin.clone()), cors::layer))
        .with_state(state);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let addr = format!("{}:{}", args.host, args.port);
        let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr().context("the listening socket has no address")?;
        // The one line a script waits for (the port is the real one with --port 0).
        eprintln!("serving {} on http://{local} (playground at /, API at /api-doc/openapi.json)", args.model);
        axum::serve(listener, app).with_graceful_shutdown(shutdown()).await.context("the server failed")
    })?;
    // Every handler (and its sender) is gone: the model thread sees the queue close and ends.
    drop(runtime);
    model_thread.join().map_err(|_| anyhow::anyhow!("the model thread panicked"))?;
    eprintln!("stopped: every request in flight was answered");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    eprintln!("shutting down: finishing the requests in flight");
}
