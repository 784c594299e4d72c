//! A batch as the data side hands it over: the model's input and, for labelled data, the
//! targets (what HF's collator returns: `input_ids`, `attention_mask`, `token_type_ids`,
//! `labels`).

use crate::{BatchTargets, BertInput};

#[derive(Debug, Clone)]
pub struct Batch {
    pub input: BertInput,
    /// `None` for unlabelled data (prediction).
    pub targets: Option<BatchTargets>,
}
