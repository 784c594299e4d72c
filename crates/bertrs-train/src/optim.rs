//! HF's AdamW set-up: `torch.optim.AdamW` (`crate::adamw::HfAdamW`, in place on flex and libtorch) with
//! `eps` 1e-8 (burn's default is 1e-5), decoupled weight decay, and no decay for biases and
//! LayerNorm weights (HF `Trainer.get_decay_parameter_names`), as a second parameter group.

use burn::module::ParamGroup;
use burn::optim::ModuleOptimizer;

use crate::TrainingArgs;
use crate::adamw::HfAdamW;

/// Path fragments of parameters that HF excludes from weight decay: biases and the weights
/// of normalisation layers (`LayerNorm` in HF naming, `layer_norm`/`norm` elsewhere).
pub const NO_DECAY: [&str; 4] = ["bias", "LayerNorm", "layer_norm", "norm"];

pub fn hf_adamw(args: &TrainingArgs) -> ModuleOptimizer {
    let adamw = |wd: f64| HfAdamW::new(args.adam_beta1, args.adam_beta2, args.adam_epsilon, wd);
    ModuleOptimizer::from(adamw(args.weight_decay)).with_group(ParamGroup::from_any_predicates(NO_DECAY.to_vec()), adamw(0.0), None)
}
