//! One row's prediction from its logits, as HF's text-classification pipeline scores them:
//! softmax for single-label, sigmoid (each label on above 0.5) for multi-label, the raw
//! output for regression.

use bertrs_model::ProblemType;
use bertrs_train::metrics::{argmax, sigmoid, softmax};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum Scored {
    Single { label: String, score: f32, probs: Vec<f32> },
    Multi { labels: Vec<String>, probs: Vec<f32> },
    Value(f32),
}

/// A row's prediction, with the input columns it carries (`--keep-columns`).
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub logits: Vec<f32>,
    pub scored: Scored,
    pub kept: Vec<Value>,
}

/// The output fields of a problem type (kept columns may not reuse them).
pub fn fields(problem: ProblemType) -> &'static [&'static str] {
    match problem {
        ProblemType::SingleLabelClassification => &["label", "score", "logits", "probs"],
        ProblemType::MultiLabelClassification => &["labels", "logits", "probs"],
        ProblemType::Regression => &["value", "logits"],
    }
}

impl Prediction {
    pub fn new(problem: ProblemType, names: &[String], logits: Vec<f32>, kept: Vec<Value>) -> Self {
        let scored = match problem {
            ProblemType::SingleLabelClassification => {
                let probs = softmax(&logits);
                let best = argmax(&probs);
                Scored::Single { label: names.get(best).cloned().unwrap_or_default(), score: probs[best], probs }
            }
            ProblemType::MultiLabelClassification => {
                let probs: Vec<f32> = logits.iter().copied().map(sigmoid).collect();
                let labels = probs.iter().zip(names).filter(|(p, _)| **p > 0.5).map(|(_, n)| n.clone()).collect();
                Scored::Multi { labels, probs }
            }
            ProblemType::Regression => Scored::Value(logits[0]),
        };
        Self { logits, scored, kept }
    }

    /// The JSON Lines row: the kept columns by name, then the prediction's fields.
    pub fn to_json(&self, kept_names: &[String]) -> Value {
        let mut row = Map::new();
        for (name, v) in kept_names.iter().zip(&self.kept) {
            row.insert(name.clone(), v.clone());
        }
        let fields = match &self.scored {
            Scored::Single { label, score, probs } => json!({"label": label, "score": score, "logits": self.logits, "probs": probs}),
            Scored::Multi { labels, probs } => json!({"labels": labels, "logits": self.logits, "probs": probs}),
            Scored::Value(v) => json!({"value": v, "logits": self.logits}),
        };
        if let Value::Object(f) = fields {
            row.extend(f);
        }
        Value::Object(row)
    }
}
