//! The training loop against PyTorch: 5 steps of AdamW (eps 1e-8, weight decay without biases
//! and LayerNorm) + `get_linear_schedule_with_warmup` + `clip_grad_norm_` on the tiny model
//! (fixture from `scripts/make_tiny_fixtures.py`) end with the same parameters, within 1e-5.

use bertrs_e2e::{assert_close, device, fixtures, read_reference, RefTensor};
use bertrs_model::export::named_tensors;
use bertrs_model::{BatchTargets, BertForSequenceClassification, BertInput, ProblemType};
use bertrs_train::{BatchError, Classifier, Dataset, SchedulerType, StepOutput, Target, Trainer, TrainingArgs};
use burn::module::Module;
use burn::tensor::Device;
use std::collections::HashMap;

#[derive(Module, Debug)]
struct Task {
    model: BertForSequenceClassification,
}

impl Classifier for Task {
    type Batch = (BertInput, BatchTargets);
    fn step(&self, (input, labels): Self::Batch) -> StepOutput {
        let out = self.model.forward_with_labels(input, labels).unwrap();
        StepOutput { loss: out.loss.unwrap(), logits: out.logits }
    }
}

struct Rows(HashMap<String, RefTensor>);

impl Dataset for Rows {
    type Batch = (BertInput, BatchTargets);
    fn len(&self) -> usize {
        3
    }
    fn label(&self, i: usize) -> usize {
        self.0["labels"].as_i64()[i] as usize
    }
    fn batch(&self, idx: &[usize], device: &Device) -> Result<Self::Batch, BatchError> {
        let s = self.0["input_ids"].shape[1];
        let pick = |name: &str| -> Vec<i64> {
            let v = self.0[name].as_i64();
            idx.iter().flat_map(|&i| v[i * s..(i + 1) * s].to_vec()).collect()
        };
        let input = BertInput::from_ids(idx.len(), s, pick("input_ids"), pick("attention_mask"), pick("token_type_ids"), device)?;
        let y: Vec<Target> = idx.iter().map(|&i| Target::Class(self.label(i))).collect();
        // The tiny fixture's head has three labels (negative, neutral, positive).
        Ok((input, BatchTargets::new(ProblemType::SingleLabelClassification, &y, 3, device)?))
    }
}

#[test]
fn five_steps_match_pytorch() {
    let dir = fixtures().join("tiny/single_label_classification");
    let data = Rows(read_reference(&dir.join("reference.safetensors")));
    let want = read_reference(&dir.join("optimizer_reference.safetensors"));
    let args = TrainingArgs {
        learning_rate: 1e-2,
        weight_decay: 0.1,
        max_grad_norm: 0.5,
        max_steps: 5,
        warmup_steps: 2,
        lr_scheduler_type: SchedulerType::Linear,
        per_device_train_batch_size: 3,
        logging_steps: 1,
        ..TrainingArgs::default()
    };
    let trainer = Trainer::new(args, device(), 3).unwrap();
    let model = Task {
        model: BertForSequenceClassification::from_pretrained(&dir, &device().autodiff()).unwrap(),
    };
    let (mut losses, mut norms) = (Vec::new(), Vec::new());
    let out = trainer
        .train(model, &data, None, |e| {
            losses.push(e.loss.unwrap() as f32);
            norms.push(e.grad_norm.unwrap() as f32);
        })
        .unwrap();
    let series = |name: &str| -> Vec<f32> { (0..5).map(|k| want[&format!("{name}.{k}")].as_f32()[0]).collect() };
    assert_close("losses", &losses, &series("loss"), 1e-5);
    assert_close("grad norms", &norms, &series("grad_norm"), 1e-4);
    // The clipping was really exercised.
    assert!(norms.iter().any(|n| *n > 0.5), "{norms:?}");
    let params = named_tensors(&out.model.model).unwrap();
    let mut compared = 0;
    for (key, t) in &want {
        if let Some(name) = key.strip_prefix("param.") {
            compared += 1;
            // The key bias adds the same amount to every score of a query row, which softmax
            // ignores: its true gradient is 0, and Adam scales the round-off on both sides to
            // steps of ±lr. Nothing meaningful to compare.
            if name.ends_with("attention.self.key.bias") {
                continue;
            }
            assert_close(name, &params[name].values, &t.as_f32(), 1e-5);
        }
    }
    assert_eq!(compared, params.len());
}
