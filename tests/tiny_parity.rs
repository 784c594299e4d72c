//! A tiny random BERT against PyTorch (fixtures from `scripts/make_tiny_fixtures.py`):
//! hidden states, pooled output, logits, the loss of each problem type, and the gradient of
//! every parameter after one backward pass, run padding-free (the default) and padded (HF's
//! layout); and the two layouts against each other. Tolerances 1e-5 forward, 1e-4 gradients.

use bertrs_e2e::{assert_close, device, fixtures, read_reference, values, RefTensor};
use bertrs_model::export::named_gradients;
use bertrs_model::{BatchTargets, BertForSequenceClassification, BertInput, Execution, ProblemType};
use burn::module::Param;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::collections::HashMap;

const FWD_TOL: f32 = 1e-5;
const GRAD_TOL: f32 = 1e-4;

fn input(r: &HashMap<String, RefTensor>, device: &Device) -> BertInput {
    input_in(r, device, Execution::PaddingFree)
}

fn input_in(r: &HashMap<String, RefTensor>, device: &Device, execution: Execution) -> BertInput {
    let ids = &r["input_ids"];
    let (b, s) = (ids.shape[0], ids.shape[1]);
    BertInput::from_ids(
        b,
        s,
        ids.as_i64(),
        r["attention_mask"].as_i64(),
        r["token_type_ids"].as_i64(),
        device,
    )
    .unwrap()
    .with_execution(execution)
}

/// `values` at the positions whose attention mask is 1, `width` values per position: what a
/// model's hidden states must agree on (padded positions hold whatever the layout leaves).
fn on_tokens(values: &[f32], mask: &[i64], width: usize) -> Vec<f32> {
    assert_eq!(values.len(), mask.len() * width, "one row of {width} per mask position");
    mask.iter().zip(values.chunks(width)).filter(|(m, _)| **m == 1).flat_map(|(_, v)| v.iter().copied()).collect()
}

fn labels(problem: ProblemType, t: &RefTensor, device: &Device) -> BatchTargets {
    match problem {
        ProblemType::SingleLabelClassification => BatchTargets::Class(Tensor::<1, Int>::from_data(
            TensorData::new(t.as_i64(), [t.shape[0]]),
            device,
        )),
        ProblemType::MultiLabelClassification => BatchTargets::MultiHot(Tensor::from_data(
            TensorData::new(t.as_f32(), [t.shape[0], t.shape[1]]),
            device,
        )),
        ProblemType::Regression => {
            BatchTargets::Value(Tensor::from_data(TensorData::new(t.as_f32(), [t.shape[0]]), device))
        }
    }
}

fn check(problem: ProblemType, dir_name: &str, execution: Execution) {
    let dir = fixtures().join("tiny").join(dir_name);
    let r = read_reference(&dir.join("reference.safetensors"));
    let device = device().autodiff();
    let model = BertForSequenceClassification::from_pretrained(&dir, &device).unwrap();
    assert_eq!(model.config.problem_type(), problem);
    let mask = r["attention_mask"].as_i64();
    assert!(mask.contains(&0), "the fixture batch must hold padding");

    let base = model.bert.forward(input_in(&r, &device, execution));
    let h = model.config.hidden_size;
    let (ours, want) = (values(base.last_hidden_state), r["last_hidden_state"].as_f32());
    let (ours, want) = match execution {
        // Padded positions are zeros here and padding-derived values in HF's output.
        Execution::PaddingFree => (on_tokens(&ours, &mask, h), on_tokens(&want, &mask, h)),
        Execution::Padded => (ours, want),
    };
    assert_close("last_hidden_state", &ours, &want, FWD_TOL);
    assert_close("pooler_output", &values(base.pooler_output), &r["pooler_output"].as_f32(), FWD_TOL);

    let out = model
        .forward_with_labels(input_in(&r, &device, execution), labels(problem, &r["labels"], &device))
        .unwrap();
    assert_close("logits", &values(out.logits), &r["logits"].as_f32(), FWD_TOL);
    let loss = out.loss.unwrap();
    assert_close("loss", &values(loss.clone()), &r["loss"].as_f32(), FWD_TOL);

    let grads = loss.backward();
    let ours = named_gradients(&model, &grads).unwrap();
    let want: Vec<&String> = r.keys().filter(|k| k.starts_with("grad.")).collect();
    assert_eq!(ours.len(), want.len(), "gradient count: ours {:?}", ours.keys());
    for key in want {
        let name = key.trim_start_matches("grad.");
        let got = ours.get(name).unwrap_or_else(|| panic!("no gradient for {name}"));
        assert_eq!(got.shape, r[key].shape, "{name}: shape");
        assert_close(&format!("grad {name}"), &got.values, &r[key].as_f32(), GRAD_TOL);
    }
}

/// Padding-free against padded, same weights and batch: logits and loss within 1e-5, every
/// parameter's gradient within 1e-4 (issue 13), and the hidden state of every real token.
fn layouts_agree(problem: ProblemType, dir_name: &str) {
    let dir = fixtures().join("tiny").join(dir_name);
    let r = read_reference(&dir.join("reference.safetensors"));
    let device = device().autodiff();
    let model = BertForSequenceClassification::from_pretrained(&dir, &device).unwrap();
    let run = |execution| {
        let out = model
            .forward_with_labels(input_in(&r, &device, execution), labels(problem, &r["labels"], &device))
            .unwrap();
        let loss = out.loss.unwrap();
        let grads = named_gradients(&model, &loss.clone().backward()).unwrap();
        let hidden = values(model.bert.forward(input_in(&r, &device, execution)).last_hidden_state);
        (values(out.logits), values(loss), grads, hidden)
    };
    let (free, padded) = (run(Execution::PaddingFree), run(Execution::Padded));
    assert_close("logits", &free.0, &padded.0, FWD_TOL);
    assert_close("loss", &free.1, &padded.1, FWD_TOL);
    assert_eq!(free.2.len(), padded.2.len());
    for (name, g) in &padded.2 {
        assert_close(&format!("grad {name}"), &free.2[name].values, &g.values, GRAD_TOL);
    }
    let (mask, h) = (r["attention_mask"].as_i64(), model.config.hidden_size);
    assert_close("hidden states of real tokens", &on_tokens(&free.3, &mask, h), &on_tokens(&padded.3, &mask, h), FWD_TOL);
}

#[test]
fn single_label_matches_pytorch() {
    check(ProblemType::SingleLabelClassification, "single_label_classification", Execution::PaddingFree);
}

#[test]
fn multi_label_matches_pytorch() {
    check(ProblemType::MultiLabelClassification, "multi_label_classification", Execution::PaddingFree);
}

#[test]
fn regression_matches_pytorch() {
    check(ProblemType::Regression, "regression", Execution::PaddingFree);
}

#[test]
fn single_label_padded_matches_pytorch() {
    check(ProblemType::SingleLabelClassification, "single_label_classification", Execution::Padded);
}

#[test]
fn multi_label_padded_matches_pytorch() {
    check(ProblemType::MultiLabelClassification, "multi_label_classification", Execution::Padded);
}

#[test]
fn regression_padded_matches_pytorch() {
    check(ProblemType::Regression, "regression", Execution::Padded);
}

#[test]
fn single_label_padding_free_equals_padded() {
    layouts_agree(ProblemType::SingleLabelClassification, "single_label_classification");
}

#[test]
fn multi_label_padding_free_equals_padded() {
    layouts_agree(ProblemType::MultiLabelClassification, "multi_label_classification");
}

#[test]
fn regression_padding_free_equals_padded() {
    layouts_agree(ProblemType::Regression, "regression");
}

/// The comparison is sharp: a 1e-3 change of one LayerNorm weight breaks it.
#[test]
fn a_perturbed_weight_fails_parity() {
    let dir = fixtures().join("tiny/single_label_classification");
    let r = read_reference(&dir.join("reference.safetensors"));
    let device = device();
    let mut model = BertForSequenceClassification::from_pretrained(&dir, &device).unwrap();
    let gamma = model.bert.embeddings.LayerNorm.gamma.val();
    model.bert.embeddings.LayerNorm.gamma = Param::from_tensor(gamma.add_scalar(1e-3));
    let logits = values(model.forward(input(&r, &device)));
    let diff = bertrs_e2e::max_abs_diff(&logits, &r["logits"].as_f32());
    assert!(diff > FWD_TOL, "perturbation not detected: max diff {diff:e}");
}

/// Dropout is active in training only: two training passes differ, eval passes agree.
#[test]
fn dropout_only_in_training() {
    let dir = fixtures().join("tiny/single_label_classification");
    let r = read_reference(&dir.join("reference.safetensors"));
    let device = device().autodiff();
    let mut config = bertrs_model::BertConfig::from_file(dir.join("config.json")).unwrap();
    config.hidden_dropout_prob = 0.5;
    let model = BertForSequenceClassification::from_pretrained_with_config(&dir, &config, &device).unwrap();
    let a = values(model.forward(input(&r, &device)));
    let b = values(model.forward(input(&r, &device)));
    assert!(bertrs_e2e::max_abs_diff(&a, &b) > 1e-4, "dropout had no effect in training");
    let eval = burn::module::Module::valid(&model);
    let plain = device.clone().without_autodiff();
    let c = values(eval.forward(input(&r, &plain)));
    let d = values(eval.forward(input(&r, &plain)));
    assert_eq!(c, d);
}

