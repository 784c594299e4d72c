//! The words every bertrs crate shares, defined once (after text-embeddings-inference's
//! `backends/core`): HF's `problem_type`, what one example should predict ([`Target`]) and
//! a batch's targets as the loss takes them ([`BatchTargets`]), the model's input
//! ([`BertInput`], laid out padded or padding-free) and a labelled [`Batch`], and the label
//! map (`id2label`). bertrs-data builds these from files, bertrs-model computes with them,
//! bertrs-train scores them; none of those owns them.
//!
//! ```
//! use bertrs_core::{BatchTargets, LabelMap, ProblemType, Target};
//! let map = LabelMap::new(ProblemType::SingleLabelClassification, vec!["neg".into(), "pos".into()]);
//! assert_eq!(map.num_labels(), 2);
//! let device = burn::tensor::Device::flex();
//! let y = BatchTargets::new(map.problem_type, &[Target::Class(1), Target::Class(0)], map.num_labels(), &device)?;
//! assert!(matches!(y, BatchTargets::Class(_)));
//! # Ok::<(), bertrs_core::Error>(())
//! ```

mod batch;
mod error;
mod input;
mod label_map;
mod problem_type;
mod target;

pub use batch::Batch;
pub use error::{Error, Result};
pub use input::{BertInput, Execution};
pub use label_map::LabelMap;
pub use problem_type::ProblemType;
pub use target::{BatchTargets, Target};
