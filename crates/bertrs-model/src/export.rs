//! Writing an HF directory (`model.safetensors` + `config.json`) that
//! `BertForSequenceClassification.from_pretrained` loads, and reading module tensors by
//! HF key (also used to compare gradients with PyTorch).

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor};
use safetensors::tensor::{Dtype, TensorView};

use crate::classification::BertForSequenceClassification;
use crate::{Error, Result};

/// A float tensor in HF layout: key, shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Walks a module and names each parameter with its HF key: field paths are HF's names
/// already, except `self_attn` (HF `self`) and burn's LayerNorm `gamma`/`beta`
/// (HF `weight`/`bias`); Linear weights are transposed back to `[out, in]`.
struct HfNamer<'g> {
    stack: Vec<(String, String)>,
    out: BTreeMap<String, NamedTensor>,
    /// Record each parameter's gradient from here instead of its value.
    grads: Option<&'g Gradients>,
    /// The first parameter that could not be read back (a visitor cannot return it).
    failed: Option<Error>,
}

impl<'g> HfNamer<'g> {
    fn new(grads: Option<&'g Gradients>) -> Self {
        HfNamer {
            stack: Vec::new(),
            out: BTreeMap::new(),
            grads,
            failed: None,
        }
    }

    fn finish(self) -> Result<BTreeMap<String, NamedTensor>> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }

    fn key(&self) -> String {
        let parts: Vec<&str> = self
            .stack
            .iter()
            .map(|(name, _)| match name.as_str() {
                "self_attn" => "self",
                "gamma" => "weight",
                "beta" => "bias",
                n => n,
            })
            .collect();
        parts.join(".")
    }
}

impl ModuleVisitor for HfNamer<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.stack.push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let is_linear_weight = matches!(self.stack.last(), Some((n, c)) if n == "weight" && c == "Struct:Linear");
        let value = param.val();
        let picked = match self.grads {
            None => value,
            Some(grads) => match value.grad(grads) {
                Some(g) => g,
                None => return,
            },
        };
        let dims = picked.dims();
        let (picked, shape) = if is_linear_weight && D == 2 {
            (picked.transpose(), vec![dims[1], dims[0]])
        } else {
            (picked, dims.to_vec())
        };
        let key = self.key();
        match picked.into_data().try_into_vec_as::<f32>() {
            Ok(values) => {
                self.out.insert(key, NamedTensor { shape, values });
            }
            Err(e) => {
                self.failed.get_or_insert(Error::ReadBack { key, message: format!("{e:?}") });
            }
        }
    }
}

/// Every parameter of `module` by HF key. Field paths are HF module paths, so a
/// `BertForSequenceClassification` gives `bert.…`/`classifier.…` and a `BertModel` the
/// unprefixed keys of a `BertModel` checkpoint.
pub fn named_tensors<M: Module>(module: &M) -> Result<BTreeMap<String, NamedTensor>> {
    let mut namer = HfNamer::new(None);
    module.visit(&mut namer);
    namer.finish()
}

/// The gradient of every parameter of `module` by HF key; parameters without one are left out.
pub fn named_gradients<M: Module>(module: &M, grads: &Gradients) -> Result<BTreeMap<String, NamedTensor>> {
    let mut namer = HfNamer::new(Some(grads));
    module.visit(&mut namer);
    namer.finish()
}

impl BertForSequenceClassification {
    /// The tensors `save_pretrained` would write: `bert.*` and `classifier.*`.
    pub fn hf_state_dict(&self) -> Result<BTreeMap<String, NamedTensor>> {
        named_tensors(self)
    }

    /// Writes `model.safetensors` and `config.json` into `dir` (created if needed). Each
    /// file is written whole or not at all (`bertrs_fs::write_atomic`), so a crash never
    /// leaves a torn file.
    pub fn save_pretrained(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let tensors = self.hf_state_dict()?;
        let bytes: BTreeMap<&String, Vec<u8>> = tensors
            .iter()
            .map(|(k, t)| (k, t.values.iter().flat_map(|v| v.to_le_bytes()).collect()))
            .collect();
        let views = tensors
            .iter()
            .map(|(k, t)| {
                TensorView::new(Dtype::F32, t.shape.clone(), &bytes[k])
                    .map(|v| (k.clone(), v))
                    .map_err(|e| Error::Input(format!("tensor {k}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let metadata = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
        let st = safetensors::serialize(views, Some(metadata))
            .map_err(|e| Error::Input(format!("serialising safetensors: {e}")))?;
        bertrs_fs::write_atomic(&dir.join("model.safetensors"), &st)?;
        let config = serde_json::to_vec_pretty(&self.config.to_hf_json())
            .map_err(|e| Error::Input(format!("serialising config: {e}")))?;
        Ok(bertrs_fs::write_atomic(&dir.join("config.json"), &config)?)
    }
}
