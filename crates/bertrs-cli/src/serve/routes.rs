//! The handlers: TEI's routes (`/predict`, `/tokenize`, `/info`, `/health`, `/metrics`),
//! the OpenAPI document and the playground page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::oneshot;
use utoipa::OpenApi;

use super::api::{ApiError, ErrorResponse, Info, Inputs, PredictRequest, PredictResponse, Prediction, SimpleToken, TokenizeRequest};
use super::batcher::{Done, Job};
use super::metrics::Hist;
use super::rank::{Apply, rank};
use super::{AppState, PLAYGROUND};

/// Requests up to this many characters are tokenized on the async worker.
const INLINE_TOKENIZE_CHARS: usize = 4096;

/// The body as JSON of `T`, whatever the content type says (curl users forget it); every
/// failure is TEI's JSON error, never axum's plain text.
fn body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(format!("the request body is over the server's --payload-limit: {}", r.body_text())),
        _ => ApiError::unprocessable(r.body_text()),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::unprocessable(format!("the body is not a valid request: {e}")))
}

/// Classifies a text, a pair or a batch.
#[utoipa::path(post, path = "/predict", tag = "bertrs",
    request_body = PredictRequest,
    responses(
        (status = 200, description = "Labels with scores, best first", body = PredictResponse),
        (status = 413, description = "Over a limit (body, batch size, input length)", body = ErrorResponse),
        (status = 422, description = "Not a valid request", body = ErrorResponse),
        (status = 424, description = "The model failed", body = ErrorResponse),
        (status = 429, description = "Too many requests at once", body = ErrorResponse),
    ))]
pub async fn predict(State(state): State<Arc<AppState>>, raw: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    match predict_inner(&state, raw, start).await {
        Ok((headers, body)) => {
            state.metrics.observe_time(Hist::RequestDuration, start.elapsed());
            (headers, Json(body)).into_response()
        }
        Err(e) => {
            state.metrics.count("te_request_failure", "err", e.metric_label());
            e.into_response()
        }
    }
}

async fn predict_inner(state: &Arc<AppState>, raw: Result<Bytes, BytesRejection>, start: Instant) -> Result<(HeaderMap, Value), ApiError> {
    let req: PredictRequest = body(raw)?;
    let (seqs, is_batch) = Inputs::parse(req.inputs)?.sequences();
    state.metrics.count("te_request_count", "method", if is_batch { "batch" } else { "single" });
    if seqs.len() > state.info.max_client_batch_size {
        return Err(ApiError::too_large(format!("batch size {} > maximum allowed batch size {}", seqs.len(), state.info.max_client_batch_size)));
    }
    if let Some(d) = req.truncation_direction.as_deref().filter(|d| !d.eq_ignore_ascii_case("right")) {
        return Err(ApiError::unprocessable(format!("`truncation_direction` `{d}` is not supported: inputs are cut on the right, as HF's tokenizers do by default")));
    }
    let apply = Apply::choose(state.problem, req.raw_scores, req.parameters.as_ref())?;
    // Held until the answer is built: at most --max-concurrent-requests requests are in the
    // server at once, so the queue (and memory) is bounded under any load.
    let _permit = state.permits.clone().try_acquire_owned().map_err(|_| ApiError::overloaded())?;
    let truncate = req.truncate.unwrap_or(state.info.auto_truncate);
    let chars: usize = seqs.iter().map(|s| s.chars()).sum();
    let tokenizing = Instant::now();
    let enc = state.encoder.clone();
    let encode_all = move || seqs.iter().enumerate().map(|(i, s)| enc.encode(s, truncate, is_batch.then_some(i))).collect::<Result<Vec<_>, _>>();
    // A sentence tokenizes in tens of microseconds: on the async worker, cheaper than a
    // hand-off. Long inputs (up to the payload limit) go to the blocking pool so that they
    // never stall the other connections.
    let tokens = if chars <= INLINE_TOKENIZE_CHARS {
        encode_all()?
    } else {
        tokio::task::spawn_blocking(encode_all).await.map_err(|e| ApiError::backend(format!("tokenization failed: {e}")))??
    };
    let tokenization = tokenizing.elapsed();
    state.metrics.observe_time(Hist::TokenizationDuration, tokenization);
    let n_tokens: usize = tokens.iter().map(|t| t.ids.len()).sum();
    let mut waiting = Vec::with_capacity(tokens.len());
    for t in tokens {
        state.metrics.observe(Hist::InputLength, t.ids.len() as f64);
        let (reply, rx) = oneshot::channel();
        state.queue.send(Job { ids: t.ids, types: t.types, queued: Instant::now(), reply }).map_err(|_| ApiError::unhealthy())?;
        state.metrics.queue(1);
        waiting.push(rx);
    }
    let mut done: Vec<Done> = Vec::with_capacity(waiting.len());
    for rx in waiting {
        done.push(rx.await.map_err(|_| ApiError::unhealthy())?.map_err(ApiError::backend)?);
    }
    let top_k = req.parameters.as_ref().and_then(|p| p.top_k);
    let ranked: Vec<Vec<Prediction>> = done.iter().map(|d| rank(&state.info.labels, &d.logits, apply, top_k)).collect();
    // The HF Inference API (what InferenceClient speaks) wraps even one input's list.
    let response = match (is_batch, req.parameters.is_some()) {
        (false, false) => PredictResponse::Single(ranked.into_iter().next().unwrap_or_default()),
        _ => PredictResponse::Batch(ranked),
    };
    state.metrics.count("te_request_success", "method", if is_batch { "batch" } else { "single" });
    let mean = |f: fn(&Done) -> Duration| done.iter().map(f).sum::<Duration>() / done.len().max(1) as u32;
    let headers = timing_headers(&state.info.backend, start, chars, n_tokens, tokenization, mean(|d| d.queue), mean(|d| d.inference));
    let body = serde_json::to_value(response).map_err(|e| ApiError::backend(e.to_string()))?;
    Ok((headers, body))
}

/// TEI's per-request headers (milliseconds; a batch's queue and inference times are the
/// means over its inputs, as TEI reports them).
fn timing_headers(backend: &str, start: Instant, chars: usize, tokens: usize, tokenization: Duration, queue: Duration, inference: Duration) -> HeaderMap {
    let mut h = HeaderMap::new();
    let ms = |d: Duration| d.as_millis().to_string();
    let total = ms(start.elapsed());
    for (name, value) in [
        ("x-compute-type", format!("cpu+{backend}")),
        ("x-compute-time", total.clone()),
        ("x-compute-characters", chars.to_string()),
        ("x-compute-tokens", tokens.to_string()),
        ("x-total-time", total),
        ("x-tokenization-time", ms(tokenization)),
        ("x-queue-time", ms(queue)),
        ("x-inference-time", ms(inference)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h
}

/// The model's tokens for a text or a list of texts.
#[utoipa::path(post, path = "/tokenize", tag = "bertrs",
    request_body = TokenizeRequest,
    responses(
        (status = 200, description = "The tokens of each input", body = Vec<Vec<SimpleToken>>),
        (status = 413, description = "Over a limit", body = ErrorResponse),
        (status = 422, description = "Not a valid request", body = ErrorResponse),
    ))]
pub async fn tokenize(State(state): State<Arc<AppState>>, raw: Result<Bytes, BytesRejection>) -> Response {
    let result = async {
        let req: TokenizeRequest = body(raw)?;
        let texts = match req.inputs {
            Value::String(s) => vec![s],
            Value::Array(items) if !items.is_empty() => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(ApiError::unprocessable(format!("`inputs`[{i}] is not a string"))),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(ApiError::unprocessable("`inputs` must be a string or a non-empty list of strings")),
        };
        if texts.len() > state.info.max_client_batch_size {
            return Err(ApiError::too_large(format!("batch size {} > maximum allowed batch size {}", texts.len(), state.info.max_client_batch_size)));
        }
        let enc = state.encoder.clone();
        let add = req.add_special_tokens;
        tokio::task::spawn_blocking(move || texts.iter().map(|t| enc.tokens(t, add)).collect::<Result<Vec<_>, _>>())
            .await
            .map_err(|e| ApiError::backend(format!("tokenization failed: {e}")))?
    }
    .await;
    match result {
        Ok(tokens) => Json(tokens).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The served model, its labels and the server's limits.
#[utoipa::path(get, path = "/info", tag = "bertrs", responses((status = 200, description = "Served model info", body = Info)))]
pub async fn info(State(state): State<Arc<AppState>>) -> Json<Info> {
    Json(state.info.clone())
}

/// 200 while the model thread serves, 503 once it has stopped.
#[utoipa::path(get, path = "/health", tag = "bertrs",
    responses((status = 200, description = "Serving"), (status = 503, description = "The model thread has stopped", body = ErrorResponse)))]
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    if state.queue.alive() { StatusCode::OK.into_response() } else { ApiError::unhealthy().into_response() }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "bertrs", responses((status = 200, description = "Prometheus text format", body = String)))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "bertrs-cli serve", description = "text-embeddings-inference's classifier API, served by bertrs-cli"),
    paths(predict, tokenize, info, health, metrics),
)]
pub struct ApiDoc;

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

pub async fn playground() -> Html<&'static str> {
    Html(PLAYGROUND)
}

/// Unknown paths: TEI's JSON error shape, 404.
pub async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, super::api::ErrorType::Validation, "no such route: see /api-doc/openapi.json").into_response()
}

/// A known path with the wrong method (`GET /predict`): 405 in the same shape.
pub async fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, super::api::ErrorType::Validation, "wrong method for this route: see /api-doc/openapi.json").into_response()
}
