//! An input's logits as TEI answers them: every label with its score, best first. Scores
//! are what `predict` writes: softmax for single-label, each label's sigmoid for
//! multi-label, the value for regression; `raw_scores` (TEI) or the Inference API's
//! `function_to_apply` choose another.

use bertrs_model::ProblemType;
use bertrs_train::metrics::{sigmoid, softmax};

use super::api::{ApiError, Parameters, Prediction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    Softmax,
    Sigmoid,
    None,
}

impl Apply {
    /// The function for a problem type, unless the request names one.
    pub fn choose(problem: ProblemType, raw_scores: bool, parameters: Option<&Parameters>) -> Result<Self, ApiError> {
        if let Some(name) = parameters.and_then(|p| p.function_to_apply.as_deref()) {
            return match name {
                "softmax" => Ok(Apply::Softmax),
                "sigmoid" => Ok(Apply::Sigmoid),
                "none" => Ok(Apply::None),
                other => Err(ApiError::unprocessable(format!("`parameters.function_to_apply` is `{other}`: softmax, sigmoid or none"))),
            };
        }
        Ok(match (raw_scores, problem) {
            (true, _) | (false, ProblemType::Regression) => Apply::None,
            (false, ProblemType::SingleLabelClassification) => Apply::Softmax,
            (false, ProblemType::MultiLabelClassification) => Apply::Sigmoid,
        })
    }
}

/// `[{score, label}]` sorted by score, highest first (ties keep label order); `top_k` keeps
/// the first k.
pub fn rank(names: &[String], logits: &[f32], apply: Apply, top_k: Option<usize>) -> Vec<Prediction> {
    let scores: Vec<f32> = match apply {
        Apply::Softmax => softmax(logits),
        Apply::Sigmoid => logits.iter().copied().map(sigmoid).collect(),
        Apply::None => logits.to_vec(),
    };
    let mut out: Vec<Prediction> = scores
        .into_iter()
        .enumerate()
        .map(|(i, score)| Prediction { score, label: names.get(i).cloned().unwrap_or_else(|| format!("LABEL_{i}")) })
        .collect();
    // Scores are finite here (the model thread refuses non-finite logits).
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(top_k.unwrap_or(usize::MAX));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["neg".into(), "pos".into(), "mixed".into()]
    }

    #[test]
    fn softmax_sorted_best_first() {
        let r = rank(&names(), &[0.0, 2.0, 1.0], Apply::Softmax, None);
        let labels: Vec<&str> = r.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["pos", "mixed", "neg"]);
        let total: f32 = r.iter().map(|p| p.score).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!((r[0].score - softmax(&[0.0, 2.0, 1.0])[1]).abs() < 1e-7);
        assert_eq!(rank(&names(), &[0.0, 2.0, 1.0], Apply::None, Some(1)), vec![Prediction { score: 2.0, label: "pos".into() }]);
    }

    #[test]
    fn the_function_follows_the_problem_unless_asked() {
        let p = |f: &str| Parameters { function_to_apply: Some(f.into()), top_k: None };
        assert_eq!(Apply::choose(ProblemType::SingleLabelClassification, false, None).unwrap(), Apply::Softmax);
        assert_eq!(Apply::choose(ProblemType::MultiLabelClassification, false, None).unwrap(), Apply::Sigmoid);
        assert_eq!(Apply::choose(ProblemType::Regression, false, None).unwrap(), Apply::None);
        assert_eq!(Apply::choose(ProblemType::SingleLabelClassification, true, None).unwrap(), Apply::None);
        assert_eq!(Apply::choose(ProblemType::SingleLabelClassification, false, Some(&p("sigmoid"))).unwrap(), Apply::Sigmoid);
        assert!(Apply::choose(ProblemType::SingleLabelClassification, false, Some(&p("tanh"))).is_err());
        let r = rank(&names(), &[0.0, 0.0, 0.0], Apply::Sigmoid, None);
        assert!(r.iter().all(|p| p.score == 0.5));
        assert_eq!(r.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(), ["neg", "pos", "mixed"]);
    }
}
