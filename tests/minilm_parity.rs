//! The real all-MiniLM-L6-v2 against PyTorch + transformers
//! (`fixtures/minilm/parity_reference.json`, written by `../shared/reference/parity_ref.py`):
//! CLS hidden state, pooled output and logits with the reference classifier head, one
//! example at a time and as one right-padded batch (run padding-free and padded), within 1e-4.

use bertrs_e2e::{assert_close, device, fixtures, minilm_dir, values};
use bertrs_model::state_dict::StateDict;
use bertrs_model::{BertConfig, BertForSequenceClassification, BertInput, Execution};
use burn::module::Param;
use burn::tensor::Device;
use serde_json::Value;

const TOL: f32 = 1e-4;

fn reference() -> Value {
    let path = fixtures().join("minilm/parity_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn i64s(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

/// MiniLM (a BertModel checkpoint: no `bert.` prefix, no head) with the reference head
/// added as a second checkpoint file, the way a sharded checkpoint is read.
fn model(device: &Device) -> BertForSequenceClassification {
    let dir = minilm_dir();
    let config = BertConfig::from_file(dir.join("config.json")).unwrap();
    let mut ckpt = StateDict::from_safetensors(dir.join("model.safetensors")).unwrap();
    ckpt.extend(StateDict::from_safetensors(fixtures().join("minilm/parity_classifier_head.safetensors")).unwrap());
    BertForSequenceClassification::load(&config, &ckpt, device).unwrap()
}

fn single(ex: &Value, device: &Device) -> BertInput {
    let ids = i64s(&ex["input_ids"]);
    let n = ids.len();
    BertInput::from_ids(1, n, ids, i64s(&ex["attention_mask"]), i64s(&ex["token_type_ids"]), device).unwrap()
}

#[test]
fn each_example_matches_pytorch() {
    let device = device();
    let model = model(&device);
    let r = reference();
    for ex in r["examples"].as_array().unwrap() {
        let what = ex["text"].as_str().unwrap().chars().take(30).collect::<String>();
        let out = model.bert.forward(single(ex, &device));
        let [_, s, h] = out.last_hidden_state.dims();
        let lhs = values(out.last_hidden_state.clone());
        assert_close(&format!("{what}: CLS hidden"), &lhs[..h], &f32s(&ex["cls_hidden_full"]), TOL);
        if s > 1 {
            assert_close(&format!("{what}: token 1"), &lhs[h..h + 8], &f32s(&ex["last_hidden_state_token1_first8"]), TOL);
        }
        let mean: Vec<f32> = (0..8).map(|j| (0..s).map(|t| lhs[t * h + j]).sum::<f32>() / s as f32).collect();
        assert_close(&format!("{what}: mean pooled"), &mean, &f32s(&ex["mean_pooled_first8"]), TOL);
        assert_close(&format!("{what}: pooler"), &values(out.pooler_output), &f32s(&ex["pooler_full"]), TOL);
        let logits = values(model.forward(single(ex, &device)));
        assert_close(&format!("{what}: logits"), &logits, &f32s(&ex["logits"]), TOL);
    }
}

#[test]
fn padded_batch_matches_pytorch_and_single_rows() {
    batch_matches_pytorch(Execution::PaddingFree);
}

#[test]
fn padded_batch_run_padded_matches_pytorch_and_single_rows() {
    batch_matches_pytorch(Execution::Padded);
}

fn batch_matches_pytorch(execution: Execution) {
    let device = device();
    let model = model(&device);
    let r = reference();
    let examples = r["examples"].as_array().unwrap();
    let pad = &r["padded_batch"];
    let l = pad["padded_len"].as_u64().unwrap() as usize;
    let b = examples.len();
    let (mut ids, mut mask, mut types) = (vec![0i64; b * l], vec![0i64; b * l], vec![0i64; b * l]);
    for (i, ex) in examples.iter().enumerate() {
        let (a, m, t) = (i64s(&ex["input_ids"]), i64s(&ex["attention_mask"]), i64s(&ex["token_type_ids"]));
        assert!(a.len() == m.len() && a.len() == t.len() && a.len() <= l, "example {i}: ids, mask and types differ in length");
        for (j, ((a, m), t)) in a.into_iter().zip(m).zip(t).enumerate() {
            ids[i * l + j] = a;
            mask[i * l + j] = m;
            types[i * l + j] = t;
        }
    }
    assert!(mask.contains(&0), "the reference batch must hold padding");
    let input = BertInput::from_ids(b, l, ids, mask, types, &device).unwrap().with_execution(execution);
    let out = model.bert.forward(input.clone());
    let h = 384;
    let lhs = values(out.last_hidden_state);
    let pooled = values(out.pooler_output);
    let logits = values(model.forward(input));
    for (i, ex) in examples.iter().enumerate() {
        assert_close(&format!("row {i}: CLS"), &lhs[i * l * h..i * l * h + 8], &f32s(&pad["cls_hidden_first8"][i]), TOL);
        assert_close(&format!("row {i}: pooler"), &pooled[i * h..i * h + 8], &f32s(&pad["pooler_first8"][i]), TOL);
        assert_close(&format!("row {i}: logits"), &logits[i * 2..i * 2 + 2], &f32s(&pad["logits"][i]), TOL);
        // Padding must not change a row's result: same as the row alone, within 1e-5.
        let alone = values(model.forward(single(ex, &device)));
        assert_close(&format!("row {i}: padded vs alone"), &logits[i * 2..i * 2 + 2], &alone, 1e-5);
    }
}

#[test]
fn perturbed_weight_fails_minilm_parity() {
    let device = device();
    let mut model = model(&device);
    let ln = &model.bert.encoder.layer[3].output.LayerNorm;
    model.bert.encoder.layer[3].output.LayerNorm.gamma = Param::from_tensor(ln.gamma.val().add_scalar(1e-3));
    let r = reference();
    let ex = &r["examples"][0];
    let logits = values(model.forward(single(ex, &device)));
    let pooled = values(model.bert.forward(single(ex, &device)).pooler_output);
    let d = bertrs_e2e::max_abs_diff(&pooled, &f32s(&ex["pooler_full"])).max(bertrs_e2e::max_abs_diff(&logits, &f32s(&ex["logits"])));
    assert!(d > TOL, "a 1e-3 perturbation went unnoticed (max diff {d:e})");
}
