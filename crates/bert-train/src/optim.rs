//! HF's AdamW set-up on burn's optimizer: `torch.optim.AdamW` with `eps` 1e-8 (burn's default
//! is 1e-5), decoupled weight decay, and no decay for biases and LayerNorm weights
//! (HF `Trainer.get_decay_parameter_names`), as a second parameter group.

use burn::module::ParamGroup;
use burn::optim::{AdamWConfig, ModuleOptimizer};

use crate::TrainingArgs;

/// Path fragments of parameters that HF excludes from weight decay: biases and the weights
/// of normalisation layers (`LayerNorm` in HF naming, `layer_norm`/`norm` elsewhere).
pub const NO_DECAY: [&str; 4] = ["bias", "LayerNorm", "layer_norm", "norm"];

pub fn hf_adamw(args: &TrainingArgs) -> ModuleOptimizer {
    let config = |wd: f64| {
        AdamWConfig::new()
            .with_beta_1(args.adam_beta1 as f32)
            .with_beta_2(args.adam_beta2 as f32)
            .with_epsilon(args.adam_epsilon as f32)
            .with_weight_decay(wd as f32)
    };
    config(args.weight_decay).init().with_group(
        ParamGroup::from_any_predicates(NO_DECAY.to_vec()),
        config(0.0).build(),
        None,
    )
}
