//! The losses of HF `BertForSequenceClassification.forward`, by `problem_type`.

use burn::tensor::activation::log_softmax;
use burn::tensor::Tensor;

use bertrs_core::{BatchTargets, ProblemType};
use crate::{Error, Result};

/// `CrossEntropyLoss` (mean), `BCEWithLogitsLoss` (mean over all elements) or `MSELoss`
/// (mean), as HF picks them from `problem_type`.
pub fn classification_loss(
    problem: ProblemType,
    logits: Tensor<2>,
    labels: BatchTargets,
) -> Result<Tensor<1>> {
    let [b, n] = logits.dims();
    match (problem, labels) {
        (ProblemType::SingleLabelClassification, BatchTargets::Class(y)) => {
            check_len("labels", y.dims()[0], b)?;
            let picked = log_softmax(logits, 1).gather(1, y.reshape([b, 1]));
            Ok(picked.neg().mean())
        }
        (ProblemType::MultiLabelClassification, BatchTargets::MultiHot(y)) => {
            if y.dims() != [b, n] {
                return Err(Error::Input(format!(
                    "multi-label targets have shape {:?}, logits {:?}",
                    y.dims(),
                    [b, n]
                )));
            }
            // max(x, 0) - x*y + log(1 + exp(-|x|)): PyTorch's numerically stable form.
            let x = logits;
            let loss = x.clone().clamp_min(0.0) - x.clone() * y + x.abs().neg().exp().log1p();
            Ok(loss.mean())
        }
        (ProblemType::Regression, BatchTargets::Value(y)) => {
            check_len("targets", y.dims()[0], b)?;
            // HF squeezes logits [b, 1] → [b]; with more outputs it compares element-wise.
            let pred = logits.reshape([b * n]);
            let y = if n == 1 { y } else { y.reshape([b * n]) };
            Ok((pred - y).square().mean())
        }
        (problem, labels) => Err(Error::Input(format!(
            "a {problem} head needs {problem} targets, got {} targets",
            labels.problem_type()
        ))),
    }
}

fn check_len(what: &str, got: usize, batch: usize) -> Result<()> {
    if got == batch {
        Ok(())
    } else {
        Err(Error::Input(format!("{got} {what} for a batch of {batch}")))
    }
}
