//! BERT in burn, mirroring HF `transformers`' `modeling_bert.py`: the encoder
//! ([`BertModel`]), the classification head ([`BertForSequenceClassification`]) with HF's
//! loss for each `problem_type`, loading of HF checkpoints and export back to HF.
//!
//! Module and field names are HF's, so a parameter's path is its HF key (see [`export`]).
//! The backend is not chosen here: pass a `burn::tensor::Device` (see [`device`]).

// Fields are named `LayerNorm` as in HF so record paths are HF keys; the derive copies
// the name into generated code, where a field-level allow does not reach.
#![allow(non_snake_case)]

pub mod activation;
pub mod attention;
pub mod bert;
pub mod checkpoint;
pub mod classification;
pub mod config;
pub mod device;
pub mod embeddings;
mod error;
pub mod export;
pub mod input;
pub mod layer;
pub mod loss;
mod vars;

pub use bert::{BertModel, BertModelOutput};
pub use checkpoint::Checkpoint;
pub use classification::{BertForSequenceClassification, ClassifierOutput};
pub use config::{BertConfig, HiddenAct, ProblemType};
pub use error::{Error, Result};
pub use input::BertInput;
pub use loss::Labels;
