//! `BertConfig`: HF `config.json` for BERT, with HF's defaults
//! (transformers `models/bert/configuration_bert.py` and `PretrainedConfig`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use bertrs_core::{LabelMap, ProblemType};

use crate::{Error, Result};

/// The activation of the feed-forward block (`hidden_act`), as HF's `ACT2FN` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HiddenAct {
    /// Exact GELU with erf: HF `"gelu"`.
    #[serde(rename = "gelu")]
    Gelu,
    /// tanh approximation: HF `"gelu_new"`, `"gelu_pytorch_tanh"`, `"gelu_fast"`.
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
    #[serde(rename = "silu", alias = "swish")]
    Silu,
    #[serde(rename = "tanh")]
    Tanh,
}

fn d_act() -> HiddenAct {
    HiddenAct::Gelu
}
fn d_dropout() -> f64 {
    0.1
}
fn d_max_pos() -> usize {
    512
}
fn d_type_vocab() -> usize {
    2
}
fn d_init_range() -> f64 {
    0.02
}
fn d_ln_eps() -> f64 {
    1e-12
}
fn d_pos_type() -> String {
    "absolute".into()
}
fn d_model_type() -> String {
    "bert".into()
}

/// The most labels a head may have (label names are kept per row of output).
pub const MAX_LABELS: usize = 1 << 16;
/// The most parameters a config may describe (about 34 GB of f32): beyond any BERT there is.
pub const MAX_PARAMETERS: u128 = 1 << 33;

/// HF `BertConfig`. Unknown keys are kept in `extra` so a round trip writes them back.
///
/// The five shape fields are required: HF would default them to bert-base's sizes, but a
/// config without them is not describing the weights beside it, and failing here names the
/// problem better than a shape error on the first tensor would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "d_act")]
    pub hidden_act: HiddenAct,
    #[serde(default = "d_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "d_dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "d_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "d_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "d_init_range")]
    pub initializer_range: f64,
    #[serde(default = "d_ln_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
    #[serde(default = "d_pos_type")]
    pub position_embedding_type: String,
    #[serde(default)]
    pub classifier_dropout: Option<f64>,
    #[serde(default)]
    pub problem_type: Option<ProblemType>,
    /// `PretrainedConfig.id2label`; keys are ids written as strings, as in HF files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label2id: Option<BTreeMap<String, usize>>,
    /// `num_labels` is not stored by HF (it is `len(id2label)`), but older files carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_labels: Option<usize>,
    #[serde(default = "d_model_type")]
    pub model_type: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A config.json value that this implementation (or HF) refuses: the key and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidConfig {
    pub key: &'static str,
    pub message: String,
}

fn bad(key: &'static str, message: String) -> std::result::Result<(), InvalidConfig> {
    Err(InvalidConfig { key, message })
}

impl BertConfig {
    /// Reads and validates a `config.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parses and validates a `config.json`'s text; `path` names it in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let config: Self = serde_json::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.validate().map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(config)
    }

    /// Checks what serde cannot: divisibility, probabilities, supported variants.
    pub fn validate(&self) -> std::result::Result<(), InvalidConfig> {
        let nonzero = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        for (key, v) in nonzero {
            if v == 0 {
                return bad(key, format!("`{key}` must be greater than 0"));
            }
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return bad("hidden_size", format!(
                "`hidden_size` ({}) is not a multiple of `num_attention_heads` ({})",
                self.hidden_size, self.num_attention_heads
            ));
        }
        let probs = [
            ("hidden_dropout_prob", Some(self.hidden_dropout_prob)),
            (
                "attention_probs_dropout_prob",
                Some(self.attention_probs_dropout_prob),
            ),
            ("classifier_dropout", self.classifier_dropout),
        ];
        for (key, p) in probs {
            if let Some(p) = p
                && !(0.0..1.0).contains(&p)
            {
                return bad(key, format!("`{key}` must be in [0, 1), got {p}"));
            }
        }
        if self.position_embedding_type != "absolute" {
            return bad("position_embedding_type", format!(
                "`position_embedding_type` {:?} is not supported (only \"absolute\")",
                self.position_embedding_type
            ));
        }
        if let Some(map) = &self.id2label {
            for k in map.keys() {
                match k.parse::<usize>() {
                    // Ids name the head's rows: 0..n, each once (HF indexes id2label by them).
                    Ok(id) if id < map.len() => {}
                    Ok(id) => return bad("id2label", format!("`id2label` has {} entries but id {id}: ids must be 0..{}", map.len(), map.len())),
                    Err(_) => return bad("id2label", format!("`id2label` key {k:?} is not an integer id")),
                }
            }
            if let Some(n) = self.num_labels
                && !map.is_empty()
                && n != map.len()
            {
                return bad("num_labels", format!("`num_labels` is {n} but `id2label` has {} entries", map.len()));
            }
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return bad("layer_norm_eps", format!("`layer_norm_eps` must be a finite number > 0, got {}", self.layer_norm_eps));
        }
        let n = self.num_labels();
        if n == 0 || n > MAX_LABELS {
            return bad("num_labels", format!("the head has {n} labels; it must have 1 to {MAX_LABELS}"));
        }
        if self.problem_type == Some(ProblemType::Regression) && n != 1 {
            return bad("problem_type", format!("`problem_type` regression has one output, but the config has {n} labels"));
        }
        self.check_sizes()
    }

    /// Bounds every size before anything is allocated from it: a config.json that asks for
    /// a 10^12-element embedding gets an error naming the key, not an allocation abort.
    fn check_sizes(&self) -> std::result::Result<(), InvalidConfig> {
        let bounds = [
            ("vocab_size", self.vocab_size, 1 << 24),
            ("hidden_size", self.hidden_size, 1 << 16),
            ("num_hidden_layers", self.num_hidden_layers, 1 << 10),
            ("num_attention_heads", self.num_attention_heads, 1 << 10),
            ("intermediate_size", self.intermediate_size, 1 << 18),
            ("max_position_embeddings", self.max_position_embeddings, 1 << 20),
            ("type_vocab_size", self.type_vocab_size, 1 << 10),
        ];
        for (key, v, max) in bounds {
            if v > max {
                return bad(key, format!("`{key}` is {v}, more than this implementation allows ({max})"));
            }
        }
        // Parameters, roughly: embeddings + layers; within the bounds above this cannot
        // overflow u128.
        let (h, i) = (self.hidden_size as u128, self.intermediate_size as u128);
        let embeddings = (self.vocab_size + self.max_position_embeddings + self.type_vocab_size) as u128 * h;
        let layers = self.num_hidden_layers as u128 * (4 * h * h + 2 * h * i);
        let total = embeddings + layers;
        if total > MAX_PARAMETERS {
            return bad("num_hidden_layers", format!("the config describes {total} parameters, more than this implementation allows ({MAX_PARAMETERS})"));
        }
        Ok(())
    }

    /// `num_labels` as HF computes it: the size of `id2label`, else 2.
    pub fn num_labels(&self) -> usize {
        match (&self.id2label, self.num_labels) {
            (Some(m), _) if !m.is_empty() => m.len(),
            (_, Some(n)) => n,
            _ => 2,
        }
    }

    /// Label names in id order; `LABEL_{i}` where the config has none (HF's default).
    pub fn labels(&self) -> Vec<String> {
        (0..self.num_labels())
            .map(|i| {
                self.id2label
                    .as_ref()
                    .and_then(|m| m.get(&i.to_string()).cloned())
                    .unwrap_or_else(|| format!("LABEL_{i}"))
            })
            .collect()
    }

    /// Sets the labels, writing `id2label` and `label2id` the way `save_pretrained` does.
    /// `problem_type` is left as it is.
    pub fn set_labels(&mut self, names: &[String]) {
        let map = LabelMap::new(ProblemType::SingleLabelClassification, names.to_vec());
        self.id2label = Some(map.id2label());
        self.label2id = Some(map.label2id());
        self.num_labels = None;
    }

    /// The head's problem type and label names (none for regression: its one output is not
    /// a label).
    pub fn label_map(&self) -> LabelMap {
        let problem_type = self.problem_type();
        let names = match problem_type {
            ProblemType::Regression => Vec::new(),
            _ => self.labels(),
        };
        LabelMap::new(problem_type, names)
    }

    /// Makes the head `map`'s: `problem_type`, `id2label` and `label2id` as
    /// `save_pretrained` writes them (run_glue's regression head is one `LABEL_0`).
    pub fn set_label_map(&mut self, map: &LabelMap) {
        self.set_labels(&map.output_names());
        self.problem_type = Some(map.problem_type);
    }

    /// The loss HF would pick: the configured `problem_type`, else regression for one label
    /// and single-label classification otherwise (HF decides between single- and multi-label
    /// by the labels' dtype; callers with multi-hot labels set `problem_type`).
    pub fn problem_type(&self) -> ProblemType {
        match self.problem_type {
            Some(p) => p,
            None if self.num_labels() == 1 => ProblemType::Regression,
            None => ProblemType::SingleLabelClassification,
        }
    }

    /// Dropout before the classifier: `classifier_dropout`, else `hidden_dropout_prob`.
    pub fn classifier_dropout_prob(&self) -> f64 {
        self.classifier_dropout.unwrap_or(self.hidden_dropout_prob)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// The JSON that `save_pretrained` would write for `BertForSequenceClassification`.
    pub fn to_hf_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "architectures".into(),
                serde_json::json!(["BertForSequenceClassification"]),
            );
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 16})
    }

    #[test]
    fn defaults_match_hf() {
        let c: BertConfig = serde_json::from_value(minimal()).unwrap();
        assert_eq!(c.hidden_act, HiddenAct::Gelu);
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.max_position_embeddings, 512);
        assert_eq!(c.type_vocab_size, 2);
        assert_eq!(c.num_labels(), 2);
        assert_eq!(c.labels(), vec!["LABEL_0", "LABEL_1"]);
        assert_eq!(c.problem_type(), ProblemType::SingleLabelClassification);
        assert_eq!(c.classifier_dropout_prob(), 0.1);
    }

    #[test]
    fn unknown_activation_is_an_error() {
        let mut v = minimal();
        v["hidden_act"] = "gelu_wobbly".into();
        let e = serde_json::from_value::<BertConfig>(v).unwrap_err();
        assert!(e.to_string().contains("gelu_wobbly"), "{e}");
    }

    #[test]
    fn missing_shape_field_names_it() {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("hidden_size");
        let e = serde_json::from_value::<BertConfig>(v).unwrap_err();
        assert!(e.to_string().contains("hidden_size"), "{e}");
    }

    #[test]
    fn heads_must_divide_hidden() {
        let mut v = minimal();
        v["num_attention_heads"] = 3.into();
        let c: BertConfig = serde_json::from_value(v).unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.message.contains("multiple") && e.key == "hidden_size", "{e:?}");
    }

    #[test]
    fn labels_round_trip() {
        let mut c: BertConfig = serde_json::from_value(minimal()).unwrap();
        c.set_labels(&["neg".into(), "pos".into(), "neutral".into()]);
        let back: BertConfig = serde_json::from_value(c.to_hf_json()).unwrap();
        assert_eq!(back.labels(), vec!["neg", "pos", "neutral"]);
        assert_eq!(back.num_labels(), 3);
        // A label map goes into a config and comes back the same, for every problem type.
        for map in [
            LabelMap::new(ProblemType::SingleLabelClassification, vec!["b".into(), "a".into()]),
            LabelMap::new(ProblemType::MultiLabelClassification, vec!["x".into(), "y".into(), "z".into()]),
            LabelMap::new(ProblemType::Regression, Vec::new()),
        ] {
            c.set_label_map(&map);
            let back: BertConfig = serde_json::from_value(c.to_hf_json()).unwrap();
            assert_eq!(back.label_map(), map);
            back.validate().unwrap();
        }
        assert_eq!(c.labels(), ["LABEL_0"]);
    }
}
