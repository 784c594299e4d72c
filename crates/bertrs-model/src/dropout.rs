//! HF's `nn.Dropout` as a module: active only when a backward pass is possible (the autodiff
//! device, as burn's), the identity at inference. The mask comes from `bertrs_kernels::dropout`
//! (a counter-based host mask on flex, the backend's own generator elsewhere).

use burn::module::Module;
use burn::tensor::Tensor;

#[derive(Module, Debug)]
pub struct Dropout {
    #[module(skip)]
    pub prob: f64,
}

impl Dropout {
    pub fn new(prob: f64) -> Self {
        Self { prob }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.prob == 0.0 || !x.device().is_autodiff() {
            return x;
        }
        bertrs_kernels::dropout(x, self.prob)
    }
}
