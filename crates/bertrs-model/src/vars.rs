//! Where parameters come from when a module is built: a checkpoint, or HF's fresh
//! initialisation (`BertPreTrainedModel._init_weights`: normal(0, initializer_range) for
//! Linear and Embedding weights, zero biases, LayerNorm ones/zeros). One constructor per
//! module serves both, as candle's `VarBuilder` does.

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use crate::Result;
use crate::state_dict::StateDict;

#[derive(Clone)]
pub(crate) struct Vars<'a> {
    ckpt: Option<&'a StateDict>,
    prefix: String,
    device: Device,
    init_std: f64,
}

enum Init {
    Normal,
    Zeros,
    Ones,
}

impl<'a> Vars<'a> {
    pub fn new(ckpt: Option<&'a StateDict>, device: &Device, init_std: f64) -> Self {
        Self {
            ckpt,
            prefix: String::new(),
            device: device.clone(),
            init_std,
        }
    }

    /// The same source one module deeper: `vars.pp("encoder").pp("layer.0")`.
    pub fn pp(&self, name: &str) -> Self {
        let mut next = self.clone();
        next.prefix = self.key(name);
        next
    }

    /// A source that initialises everything fresh (for heads absent from the checkpoint).
    pub fn fresh(&self) -> Self {
        Self {
            ckpt: None,
            ..self.clone()
        }
    }

    /// Whether the checkpoint has this tensor (always false for a fresh source).
    pub fn contains(&self, name: &str) -> bool {
        self.ckpt.is_some_and(|c| c.contains(&self.key(name)))
    }

    /// The checkpoint's shape of a tensor, when it has one; and the checkpoint's file.
    pub fn checkpoint_shape(&self, name: &str) -> Option<(Vec<usize>, std::path::PathBuf)> {
        let ckpt = self.ckpt?;
        ckpt.tensor(&self.key(name)).map(|(shape, _)| (shape.to_vec(), ckpt.path().to_path_buf()))
    }

    /// Whether this source reads a checkpoint.
    pub fn from_checkpoint(&self) -> bool {
        self.ckpt.is_some()
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn tensor<const D: usize>(&self, name: &str, shape: [usize; D], init: Init) -> Result<Tensor<D>> {
        match self.ckpt {
            Some(ckpt) => {
                let entry = ckpt.take(&self.key(name), &shape)?;
                Ok(Tensor::from_data(
                    TensorData::new(entry.values.clone(), shape),
                    &self.device,
                ))
            }
            None => Ok(match init {
                Init::Normal => Tensor::random(
                    shape,
                    Distribution::Normal(0.0, self.init_std),
                    &self.device,
                ),
                Init::Zeros => Tensor::zeros(shape, &self.device),
                Init::Ones => Tensor::ones(shape, &self.device),
            }),
        }
    }

    /// An `nn.Linear(d_in, d_out)`. HF stores the weight `[out, in]`; burn's is `[in, out]`.
    pub fn linear(&self, name: &str, d_in: usize, d_out: usize) -> Result<Linear> {
        let vars = self.pp(name);
        let weight = match vars.ckpt {
            Some(ckpt) => {
                let entry = ckpt.take(&vars.key("weight"), &[d_out, d_in])?;
                // Transposed here, once, so the parameter is contiguous for the matmul.
                let mut t = vec![0f32; d_in * d_out];
                for (o, row) in entry.values.chunks_exact(d_in).enumerate() {
                    for (i, v) in row.iter().enumerate() {
                        t[i * d_out + o] = *v;
                    }
                }
                Tensor::from_data(TensorData::new(t, [d_in, d_out]), &self.device)
            }
            None => vars.tensor("weight", [d_in, d_out], Init::Normal)?,
        };
        let bias = vars.tensor("bias", [d_out], Init::Zeros)?;
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(bias)),
        })
    }

    pub fn embedding(&self, name: &str, n: usize, d: usize) -> Result<Embedding> {
        let weight = self.pp(name).tensor("weight", [n, d], Init::Normal)?;
        Ok(Embedding {
            weight: Param::from_tensor(weight),
        })
    }

    /// HF's module is named `LayerNorm`; its tensors `weight`/`bias` are burn's `gamma`/`beta`.
    pub fn layer_norm(&self, name: &str, d: usize, eps: f64) -> Result<LayerNorm> {
        let vars = self.pp(name);
        let mut ln = LayerNormConfig::new(d).with_epsilon(eps).init(&self.device);
        ln.gamma = Param::from_tensor(vars.tensor("weight", [d], Init::Ones)?);
        ln.beta = Some(Param::from_tensor(vars.tensor("bias", [d], Init::Zeros)?));
        Ok(ln)
    }
}
