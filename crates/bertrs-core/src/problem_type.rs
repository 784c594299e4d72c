//! HF's `problem_type` (`PretrainedConfig.problem_type`): which loss the head trains with,
//! how its outputs read, and which metrics score it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// `BertForSequenceClassification.forward` picks the loss by it: cross-entropy,
/// BCE-with-logits, or MSE on one output. Serialised as HF writes it in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemType {
    /// Cross-entropy over `num_labels` classes; the prediction is the argmax.
    SingleLabelClassification,
    /// Binary cross-entropy with logits, one per label; a label applies at sigmoid > 0.5.
    MultiLabelClassification,
    /// Mean squared error on one output, which is the prediction.
    Regression,
}

impl ProblemType {
    pub const ALL: [ProblemType; 3] =
        [ProblemType::SingleLabelClassification, ProblemType::MultiLabelClassification, ProblemType::Regression];

    /// The `problem_type` string of an HF config.
    pub fn hf_name(self) -> &'static str {
        match self {
            ProblemType::SingleLabelClassification => "single_label_classification",
            ProblemType::MultiLabelClassification => "multi_label_classification",
            ProblemType::Regression => "regression",
        }
    }
}

impl FromStr for ProblemType {
    type Err = Error;

    /// HF's names, or the short `single`, `multi` (also `single-label`, `multi-label`).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "single_label_classification" | "single" | "single-label" => Ok(ProblemType::SingleLabelClassification),
            "multi_label_classification" | "multi" | "multi-label" => Ok(ProblemType::MultiLabelClassification),
            "regression" => Ok(ProblemType::Regression),
            _ => Err(Error::UnknownProblemType(s.to_string())),
        }
    }
}

impl fmt::Display for ProblemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hf_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_hfs_both_ways() {
        for p in ProblemType::ALL {
            assert_eq!(p.hf_name().parse::<ProblemType>(), Ok(p));
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(p.hf_name()));
            assert_eq!(serde_json::from_value::<ProblemType>(serde_json::json!(p.to_string())).unwrap(), p);
        }
        assert_eq!("multi".parse::<ProblemType>(), Ok(ProblemType::MultiLabelClassification));
        let e = "multiclass".parse::<ProblemType>().unwrap_err();
        assert!(e.to_string().contains("unknown problem type `multiclass`"), "{e}");
    }
}
