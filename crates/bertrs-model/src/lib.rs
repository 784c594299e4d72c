//! BERT in burn, mirroring HF `transformers`' `modeling_bert.py`: the encoder
//! ([`BertModel`]), the classification head ([`BertForSequenceClassification`]) with HF's
//! loss for each `problem_type`, loading of HF checkpoints and export back to HF.
//!
//! Module and field names are HF's, so a parameter's path is its HF key (see [`export`]).
//! The backend is not chosen here: pass a `burn::tensor::Device` (see [`device`]).
//!
//! ```no_run
//! use bertrs_model::{BertForSequenceClassification, BertInput, device::BackendChoice};
//! let device = BackendChoice::Flex.device()?;
//! let model = BertForSequenceClassification::from_pretrained("path/to/hf-model", &device)?;
//! // [CLS] hello [SEP] in the bert-base-uncased vocabulary.
//! let input = BertInput::from_ids(1, 3, vec![101, 7592, 102], vec![1; 3], vec![0; 3], &device)?;
//! let logits = model.forward(input); // [1, num_labels]
//! println!("{:?}", logits.into_data());
//! model.save_pretrained("exported")?; // transformers' from_pretrained loads it back
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Fields are named `LayerNorm` as in HF so record paths are HF keys; the derive copies
// the name into generated code, where a field-level allow does not reach.
#![allow(non_snake_case)]

pub mod attention;
pub mod bert;
pub mod classification;
pub mod config;
pub mod dropout;
pub mod embeddings;
mod error;
pub mod export;
pub mod layer;
pub mod loss;
pub mod packing;
pub mod residual;
pub mod state_dict;
mod vars;

/// Picking a backend by name (`flex`, `tch`, `tch-cuda:N`, `wgpu`): see `bertrs_kernels::device`.
pub use bertrs_kernels::device;
pub use bert::{BertModel, BertModelOutput};
pub use classification::{BertForSequenceClassification, ClassifierOutput, LoadOptions};
pub use config::{BertConfig, HiddenAct, InvalidConfig};
pub use error::{Error, Result};
pub use packing::TokenLayout;
/// The shared vocabulary (bertrs-core), re-exported: the model takes a `BertInput` and
/// computes HF's loss for a `ProblemType` from `BatchTargets`.
pub use bertrs_core::{BatchTargets, BertInput, Execution, LabelMap, ProblemType};
pub use state_dict::StateDict;
