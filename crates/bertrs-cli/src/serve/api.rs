//! The wire format: text-embeddings-inference's request and response bodies (its
//! `router/src/http/types.rs`), so that TEI's clients work unchanged, plus the HF Inference
//! API's `parameters` that `huggingface_hub.InferenceClient.text_classification` sends.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// One input: a text, or a pair (`text`, `text_pair`).
#[derive(Debug, Clone, PartialEq)]
pub enum Sequence {
    Text(String),
    Pair(String, String),
}

impl Sequence {
    pub fn chars(&self) -> usize {
        match self {
            Sequence::Text(a) => a.chars().count(),
            Sequence::Pair(a, b) => a.chars().count() + b.chars().count(),
        }
    }
}

/// `inputs` as TEI reads it: a string, a pair `[a, b]`, or a batch `[[a], [a, b], …]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    Single(Sequence),
    Batch(Vec<Sequence>),
}

const INPUTS_SHAPE: &str = "`inputs` must be a string, a pair of strings [string, string] or a batch of strings and pairs [[string], [string, string], ...]";

impl Inputs {
    pub fn parse(v: Value) -> Result<Self, ApiError> {
        let shape = |what: &str| ApiError::unprocessable(format!("{INPUTS_SHAPE}; got {what}"));
        let text = |v: Value, at: &str| match v {
            Value::String(s) if s.is_empty() => Err(ApiError::unprocessable(format!("`inputs`{at} cannot be empty"))),
            Value::String(s) => Ok(s),
            other => Err(shape(&format!("{} at `inputs`{at}", kind(&other)))),
        };
        match v {
            Value::String(_) => Ok(Inputs::Single(Sequence::Text(text(v, "")?))),
            Value::Array(items) if items.is_empty() => Err(ApiError::unprocessable("`inputs` cannot be empty")),
            Value::Array(items) if items[0].is_string() => match <[Value; 2]>::try_from(items) {
                Ok([a, b]) => Ok(Inputs::Single(Sequence::Pair(text(a, "[0]")?, text(b, "[1]")?))),
                Err(items) => Err(shape(&format!("a list of {} strings (a pair has 2; a batch is a list of lists)", items.len()))),
            },
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Array(parts) => match <[Value; 1]>::try_from(parts) {
                        Ok([a]) => Ok(Sequence::Text(text(a, &format!("[{i}][0]"))?)),
                        Err(parts) => match <[Value; 2]>::try_from(parts) {
                            Ok([a, b]) => Ok(Sequence::Pair(text(a, &format!("[{i}][0]"))?, text(b, &format!("[{i}][1]"))?)),
                            Err(parts) => Err(shape(&format!("`inputs`[{i}] with {} strings (1 or 2)", parts.len()))),
                        },
                    },
                    other => Err(shape(&format!("{} at `inputs`[{i}]", kind(&other)))),
                })
                .collect::<Result<_, _>>()
                .map(Inputs::Batch),
            other => Err(shape(&kind(&other))),
        }
    }

    pub fn sequences(self) -> (Vec<Sequence>, bool) {
        match self {
            Inputs::Single(s) => (vec![s], false),
            Inputs::Batch(b) => (b, true),
        }
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// `POST /predict` (and `POST /`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PredictRequest {
    /// A string, a pair `[text, text_pair]`, or a batch `[[text], [text, text_pair], ...]`.
    #[schema(value_type = Object, example = json!("a gripping, funny film"))]
    pub inputs: Value,
    /// Cut inputs longer than the max input length (default: the server's --auto-truncate);
    /// without it a too-long input is an error (413).
    #[serde(default)]
    pub truncate: Option<bool>,
    /// Only `Right` (HF's default); TEI's `Left` is refused rather than ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub truncation_direction: Option<String>,
    /// The raw logits instead of probabilities.
    #[serde(default)]
    pub raw_scores: bool,
    /// The HF Inference API's text-classification parameters (what `InferenceClient`
    /// sends); with them the response is the Inference API's `[[{label, score}, ...]]`.
    #[serde(default)]
    pub parameters: Option<Parameters>,
}

/// The HF Inference API's `parameters` for text classification.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Parameters {
    /// `softmax`, `sigmoid` or `none` (default: softmax for single-label, sigmoid for
    /// multi-label, none for regression).
    #[serde(default)]
    pub function_to_apply: Option<String>,
    /// Only the `top_k` best labels (default: all).
    #[serde(default)]
    pub top_k: Option<usize>,
}

/// One label's score.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Prediction {
    pub score: f32,
    pub label: String,
}

/// `[{score, label}, ...]` for one input, a list of those for a batch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PredictResponse {
    Single(Vec<Prediction>),
    Batch(Vec<Vec<Prediction>>),
}

/// `POST /tokenize`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenizeRequest {
    /// A string or a list of strings.
    #[schema(value_type = Object, example = json!("a gripping, funny film"))]
    pub inputs: Value,
    #[serde(default = "yes")]
    pub add_special_tokens: bool,
}

fn yes() -> bool {
    true
}

/// A token of `POST /tokenize`: `start`/`stop` are byte offsets into the input (none for
/// the special tokens added around it).
#[derive(Debug, Serialize, ToSchema)]
pub struct SimpleToken {
    pub id: u32,
    pub text: String,
    pub special: bool,
    pub start: Option<usize>,
    pub stop: Option<usize>,
}

/// The served model and limits (`GET /info`), TEI's fields plus ours.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Info {
    pub model_id: String,
    pub model_dtype: String,
    #[schema(value_type = Object)]
    pub model_type: Value,
    /// `single_label_classification`, `multi_label_classification` or `regression`.
    pub problem_type: String,
    pub labels: Vec<String>,
    pub max_concurrent_requests: usize,
    pub max_input_length: usize,
    pub max_batch_tokens: usize,
    pub max_batch_requests: usize,
    pub max_client_batch_size: usize,
    pub auto_truncate: bool,
    pub payload_limit: usize,
    /// The burn backend (`flex`, `tch`, `wgpu`, ...).
    pub backend: String,
    /// `padding-free` or `padded`.
    pub execution: String,
    pub version: String,
}

impl Info {
    /// TEI's `model_type`: `{"classifier": {"id2label": ..., "label2id": ...}}`.
    pub fn classifier(labels: &[String]) -> Value {
        let id2label: BTreeMap<String, &String> = labels.iter().enumerate().map(|(i, l)| (i.to_string(), l)).collect();
        let label2id: BTreeMap<&String, usize> = labels.iter().enumerate().map(|(i, l)| (l, i)).collect();
        serde_json::json!({"classifier": {"id2label": id2label, "label2id": label2id}})
    }
}

/// TEI's error kinds, and the status each answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    Unhealthy,
    Backend,
    Overloaded,
    Validation,
    Tokenizer,
}

/// `{"error": ..., "error_type": ...}`, TEI's error body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: String,
    pub error_type: ErrorType,
}

/// An error with the status it is answered with.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorResponse,
}

impl ApiError {
    pub fn new(status: StatusCode, error_type: ErrorType, error: impl Into<String>) -> Self {
        Self { status, body: ErrorResponse { error: error.into(), error_type } }
    }

    /// A body that is not a request (bad JSON, a wrong shape, an empty input): 422.
    pub fn unprocessable(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorType::Validation, error)
    }

    /// Over a limit (body size, client batch, input length): 413, as TEI's validation errors.
    pub fn too_large(error: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorType::Validation, error)
    }

    pub fn overloaded() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorType::Overloaded, "Model is overloaded")
    }

    pub fn backend(error: impl Into<String>) -> Self {
        Self::new(StatusCode::FAILED_DEPENDENCY, ErrorType::Backend, error)
    }

    pub fn unhealthy() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorType::Unhealthy, "unhealthy")
    }

    /// The `err` label of `te_request_failure`.
    pub fn metric_label(&self) -> &'static str {
        match (self.body.error_type, self.status) {
            (ErrorType::Overloaded, _) => "overloaded",
            (ErrorType::Backend, _) => "backend",
            (ErrorType::Unhealthy, _) => "unhealthy",
            (ErrorType::Tokenizer, _) => "tokenizer",
            (_, StatusCode::PAYLOAD_TOO_LARGE) => "too_large",
            _ => "validation",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Inputs, String> {
        Inputs::parse(v).map_err(|e| e.body.error)
    }

    #[test]
    fn inputs_take_teis_three_shapes() {
        assert_eq!(parse(json!("a")), Ok(Inputs::Single(Sequence::Text("a".into()))));
        assert_eq!(parse(json!(["a", "b"])), Ok(Inputs::Single(Sequence::Pair("a".into(), "b".into()))));
        assert_eq!(
            parse(json!([["a"], ["b", "c"]])),
            Ok(Inputs::Batch(vec![Sequence::Text("a".into()), Sequence::Pair("b".into(), "c".into())]))
        );
    }

    #[test]
    fn wrong_shapes_say_where() {
        let e = parse(json!(["a", "b", "c"])).unwrap_err();
        assert!(e.contains("a list of 3 strings"), "{e}");
        let e = parse(json!([["a"], 3])).unwrap_err();
        assert!(e.contains("a number at `inputs`[1]"), "{e}");
        let e = parse(json!([["a"], ["b", "c", "d"]])).unwrap_err();
        assert!(e.contains("`inputs`[1] with 3 strings"), "{e}");
        let e = parse(json!([["a"], []])).unwrap_err();
        assert!(e.contains("`inputs`[1] with 0 strings"), "{e}");
        let e = parse(json!([["a", 1]])).unwrap_err();
        assert!(e.contains("a number at `inputs`[0][1]"), "{e}");
        assert!(parse(json!({"text": "a"})).unwrap_err().contains("got an object"));
        assert!(parse(json!(null)).unwrap_err().contains("got null"));
        assert_eq!(parse(json!([])).unwrap_err(), "`inputs` cannot be empty");
        assert_eq!(parse(json!("")).unwrap_err(), "`inputs` cannot be empty");
        assert_eq!(parse(json!([["a"], [""]])).unwrap_err(), "`inputs`[1][0] cannot be empty");
    }
}
