//! The label map: the problem type and the label names by id (HF `id2label`; `label2id` is
//! its inverse). Built from the training split's labels (bertrs-data) or read from a
//! model's `config.json` (bertrs-model), and written back into the config HF loads.

use std::collections::BTreeMap;

use crate::ProblemType;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    pub problem_type: ProblemType,
    /// Label names in id order; empty for regression (one unnamed output).
    pub names: Vec<String>,
}

impl LabelMap {
    pub fn new(problem_type: ProblemType, names: Vec<String>) -> Self {
        Self { problem_type, names }
    }

    /// The model's output size (`num_labels`).
    pub fn num_labels(&self) -> usize {
        match self.problem_type {
            ProblemType::Regression => 1,
            _ => self.names.len(),
        }
    }

    /// The name of each output, as `save_pretrained` writes `id2label`: the names, or HF's
    /// default `LABEL_{i}` where there are none (run_glue's regression head is `LABEL_0`).
    pub fn output_names(&self) -> Vec<String> {
        (0..self.num_labels()).map(|i| self.names.get(i).cloned().unwrap_or_else(|| format!("LABEL_{i}"))).collect()
    }

    /// HF's `id2label`: ids written as strings, as in `config.json`.
    pub fn id2label(&self) -> BTreeMap<String, String> {
        self.output_names().into_iter().enumerate().map(|(i, n)| (i.to_string(), n)).collect()
    }

    /// HF's `label2id`.
    pub fn label2id(&self) -> BTreeMap<String, usize> {
        self.output_names().into_iter().enumerate().map(|(i, n)| (n, i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id2label_is_hfs() {
        let m = LabelMap::new(ProblemType::SingleLabelClassification, vec!["neg".into(), "pos".into()]);
        assert_eq!(m.num_labels(), 2);
        assert_eq!(m.id2label(), BTreeMap::from([("0".into(), "neg".into()), ("1".into(), "pos".into())]));
        assert_eq!(m.label2id()["pos"], 1);
        let r = LabelMap::new(ProblemType::Regression, Vec::new());
        assert_eq!((r.num_labels(), r.output_names()), (1, vec!["LABEL_0".to_string()]));
    }
}
