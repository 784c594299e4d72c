//! Targets: what one example should predict, and a batch's targets in the form each of HF's
//! losses takes (`labels` of `BertForSequenceClassification.forward`).

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{Error, ProblemType, Result};

/// What one example should predict.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Single-label: the class id.
    Class(usize),
    /// Multi-label: the ids of the labels that apply, ascending (may be none).
    Labels(Vec<usize>),
    /// Regression: the value.
    Value(f32),
}

impl Target {
    pub fn problem_type(&self) -> ProblemType {
        match self {
            Target::Class(_) => ProblemType::SingleLabelClassification,
            Target::Labels(_) => ProblemType::MultiLabelClassification,
            Target::Value(_) => ProblemType::Regression,
        }
    }

    /// A multi-label target as one flag per label (`num_labels` of them).
    pub fn multi_hot(&self, num_labels: usize) -> Vec<bool> {
        let mut hot = vec![false; num_labels];
        if let Target::Labels(on) = self {
            for &l in on.iter().filter(|&&l| l < num_labels) {
                hot[l] = true;
            }
        }
        hot
    }
}

/// A batch's targets as HF's losses take them.
#[derive(Debug, Clone)]
pub enum BatchTargets {
    /// Class ids `[batch]` (cross-entropy).
    Class(Tensor<1, Int>),
    /// `[batch, num_labels]` of 0/1 (BCE with logits).
    MultiHot(Tensor<2>),
    /// `[batch]` (MSE).
    Value(Tensor<1>),
}

impl BatchTargets {
    /// The tensors of `targets` (one per example, all of `problem`'s kind, label ids below
    /// `num_labels`) on `device`.
    pub fn new(problem: ProblemType, targets: &[Target], num_labels: usize, device: &Device) -> Result<Self> {
        let b = targets.len();
        let wrong = |index: usize, t: &Target| Error::Target {
            index,
            message: format!("a {} target in a {problem} batch", t.problem_type()),
        };
        let beyond = |index: usize, id: usize| Error::Target {
            index,
            message: format!("label id {id} is beyond the head's {num_labels} labels"),
        };
        Ok(match problem {
            ProblemType::SingleLabelClassification => {
                let mut y = Vec::with_capacity(b);
                for (i, t) in targets.iter().enumerate() {
                    match t {
                        Target::Class(c) if *c < num_labels => y.push(*c as i64),
                        Target::Class(c) => return Err(beyond(i, *c)),
                        t => return Err(wrong(i, t)),
                    }
                }
                BatchTargets::Class(Tensor::from_data(TensorData::new(y, [b]), device))
            }
            ProblemType::MultiLabelClassification => {
                let mut hot = vec![0f32; b * num_labels];
                for (i, t) in targets.iter().enumerate() {
                    let Target::Labels(on) = t else { return Err(wrong(i, t)) };
                    for &l in on {
                        if l >= num_labels {
                            return Err(beyond(i, l));
                        }
                        hot[i * num_labels + l] = 1.0;
                    }
                }
                BatchTargets::MultiHot(Tensor::from_data(TensorData::new(hot, [b, num_labels]), device))
            }
            ProblemType::Regression => {
                let mut y = Vec::with_capacity(b);
                for (i, t) in targets.iter().enumerate() {
                    match t {
                        Target::Value(v) => y.push(*v),
                        t => return Err(wrong(i, t)),
                    }
                }
                BatchTargets::Value(Tensor::from_data(TensorData::new(y, [b]), device))
            }
        })
    }

    pub fn problem_type(&self) -> ProblemType {
        match self {
            BatchTargets::Class(_) => ProblemType::SingleLabelClassification,
            BatchTargets::MultiHot(_) => ProblemType::MultiLabelClassification,
            BatchTargets::Value(_) => ProblemType::Regression,
        }
    }

    /// The examples in the batch.
    pub fn len(&self) -> usize {
        match self {
            BatchTargets::Class(y) => y.dims()[0],
            BatchTargets::MultiHot(y) => y.dims()[0],
            BatchTargets::Value(y) => y.dims()[0],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::flex()
    }

    #[test]
    fn each_kind_becomes_its_losss_tensor() {
        let d = device();
        let c = BatchTargets::new(ProblemType::SingleLabelClassification, &[Target::Class(2), Target::Class(0)], 3, &d).unwrap();
        let BatchTargets::Class(y) = &c else { panic!("{c:?}") };
        assert_eq!(y.clone().into_data().try_into_vec_as::<i64>().unwrap(), [2, 0]);
        let m = BatchTargets::new(ProblemType::MultiLabelClassification, &[Target::Labels(vec![0, 2]), Target::Labels(vec![])], 3, &d)
            .unwrap();
        let BatchTargets::MultiHot(y) = &m else { panic!("{m:?}") };
        assert_eq!(y.clone().into_data().try_into_vec_as::<f32>().unwrap(), [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let r = BatchTargets::new(ProblemType::Regression, &[Target::Value(0.5)], 1, &d).unwrap();
        assert_eq!((r.problem_type(), r.len()), (ProblemType::Regression, 1));
        assert_eq!(Target::Labels(vec![1]).multi_hot(3), [false, true, false]);
    }

    #[test]
    fn a_target_of_another_kind_or_beyond_the_head_is_named() {
        let d = device();
        let e = BatchTargets::new(ProblemType::SingleLabelClassification, &[Target::Class(0), Target::Value(1.0)], 2, &d).unwrap_err();
        assert_eq!(e.to_string(), "target 1: a regression target in a single_label_classification batch");
        let e = BatchTargets::new(ProblemType::SingleLabelClassification, &[Target::Class(2)], 2, &d).unwrap_err();
        assert_eq!(e.to_string(), "target 0: label id 2 is beyond the head's 2 labels");
        let e = BatchTargets::new(ProblemType::MultiLabelClassification, &[Target::Labels(vec![0, 5])], 2, &d).unwrap_err();
        assert!(e.to_string().contains("label id 5"), "{e}");
    }
}
