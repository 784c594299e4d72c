//! The crate's one error: an input or a target of the wrong shape or kind, named.

/// What a caller handed over that does not fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// One of the id tensors does not hold `batch * seq` values.
    #[error("{name} has {got} values, expected batch {batch} x seq {seq} = {}", .batch * .seq)]
    InputShape { name: &'static str, got: usize, batch: usize, seq: usize },
    /// A target that is not of the batch's problem type, or a label id beyond the head.
    #[error("target {index}: {message}")]
    Target { index: usize, message: String },
    /// A `problem_type` name that HF does not have.
    #[error("unknown problem type `{0}` (single_label_classification, multi_label_classification or regression)")]
    UnknownProblemType(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
