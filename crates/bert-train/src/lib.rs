//! The generic training loop (to come, issue 4): a trait for "a model that makes a loss and
//! predictions from a batch", HF `Trainer` semantics (AdamW with eps 1e-8 and no decay on
//! biases/LayerNorm, linear/cosine/constant schedules with warmup, global-norm clipping,
//! averaging gradient accumulation), evaluation with metrics, atomic checkpoints and resume.
//! It knows nothing about BERT.
