//! Which evaluation is the best (HF `metric_for_best_model`, `greater_is_better`) and HF's
//! `EarlyStoppingCallback` counter.

use crate::TrainingArgs;
use crate::metrics::METRIC_NAMES;

pub(crate) fn is_metric_name(name: &str) -> bool {
    METRIC_NAMES.contains(&name.strip_prefix("eval_").unwrap_or(name))
}

/// The metric's name without the prefix; HF defaults to the loss.
fn metric(args: &TrainingArgs) -> &str {
    let name = args.metric_for_best_model.as_deref().unwrap_or("loss");
    name.strip_prefix("eval_").unwrap_or(name)
}

/// HF: `greater_is_better` defaults to false for a loss (and here the squared error), true
/// for any other metric.
pub(crate) fn greater_is_better(args: &TrainingArgs) -> bool {
    args.greater_is_better.unwrap_or(!matches!(metric(args), "loss" | "mse"))
}

/// Whether `value` beats `best` (HF `_determine_best_metric`: strictly better; the early
/// stopping callback also asks for more than `threshold` of improvement).
pub(crate) fn improves(args: &TrainingArgs, value: f64, best: Option<f64>, threshold: f64) -> bool {
    match best {
        None => true,
        Some(b) if greater_is_better(args) => value > b && (value - b).abs() > threshold,
        Some(b) => value < b && (value - b).abs() > threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_follows_hf_defaults() {
        let mut a = TrainingArgs::default();
        assert!(!greater_is_better(&a));
        assert!(improves(&a, 0.4, Some(0.5), 0.0));
        a.metric_for_best_model = Some("eval_accuracy".into());
        assert!(greater_is_better(&a));
        assert!(improves(&a, 0.6, Some(0.5), 0.0));
        assert!(!improves(&a, 0.5, Some(0.5), 0.0));
        assert!(!improves(&a, 0.505, Some(0.5), 0.01));
        assert!(is_metric_name("eval_f1_macro") && !is_metric_name("bleu"));
    }
}
