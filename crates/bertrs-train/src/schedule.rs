//! HF's learning-rate schedules (`transformers.optimization`), as the factor applied to the
//! base rate at optimizer step `step` (0-based, as `LambdaLR` counts).

use crate::SchedulerType;

/// `lr_lambda(step)` of `get_{linear,cosine,constant}_schedule_with_warmup`.
pub fn lr_lambda(kind: SchedulerType, step: usize, warmup: usize, total: usize) -> f64 {
    let (s, w, t) = (step as f64, warmup as f64, total as f64);
    if step < warmup && kind != SchedulerType::Constant {
        return s / w.max(1.0);
    }
    match kind {
        SchedulerType::Constant | SchedulerType::ConstantWithWarmup => 1.0,
        SchedulerType::Linear => ((t - s) / (t - w).max(1.0)).max(0.0),
        SchedulerType::Cosine => {
            let progress = (s - w) / (t - w).max(1.0);
            (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_matches_hf() {
        // get_linear_schedule_with_warmup(opt, 2, 10): factors at steps 0..=10
        let want = [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0];
        for (i, w) in want.iter().enumerate() {
            assert!((lr_lambda(SchedulerType::Linear, i, 2, 10) - w).abs() < 1e-12, "step {i}");
        }
        // No warmup: the first step uses the full rate.
        assert_eq!(lr_lambda(SchedulerType::Linear, 0, 0, 10), 1.0);
    }

    #[test]
    fn cosine_and_constant() {
        assert!((lr_lambda(SchedulerType::Cosine, 6, 2, 10) - 0.5).abs() < 1e-12);
        assert_eq!(lr_lambda(SchedulerType::ConstantWithWarmup, 1, 4, 10), 0.25);
        assert_eq!(lr_lambda(SchedulerType::Constant, 1, 4, 10), 1.0);
    }
}
