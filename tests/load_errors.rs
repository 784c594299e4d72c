//! Loading HF checkpoints: accepted variants (prefix, legacy names, missing head) and every
//! kind of bad input, each a typed error that names the file and key.

use std::collections::BTreeMap;
use std::path::Path;

use bertrs_e2e::{assert_close, device, fixtures, read_reference, values};
use bertrs_model::{BertForSequenceClassification, BertInput, Error};
use safetensors::tensor::{Dtype, TensorView};

fn tiny() -> std::path::PathBuf {
    fixtures().join("tiny/single_label_classification")
}

/// The tiny model's tensors as (shape, little-endian f32 bytes).
fn tensors() -> BTreeMap<String, (Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(tiny().join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, (v.shape().to_vec(), v.data().to_vec())))
        .collect()
}

/// A model dir with the tiny config and the given tensors.
fn write_dir(dir: &Path, t: &BTreeMap<String, (Vec<usize>, Vec<u8>)>) {
    std::fs::copy(tiny().join("config.json"), dir.join("config.json")).unwrap();
    let views: Vec<(String, TensorView)> = t
        .iter()
        .map(|(k, (s, b))| (k.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(dir.join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
}

fn input() -> BertInput {
    let r = read_reference(&tiny().join("reference.safetensors"));
    let s = r["input_ids"].shape[1];
    BertInput::from_ids(3, s, r["input_ids"].as_i64(), r["attention_mask"].as_i64(), r["token_type_ids"].as_i64(), &device()).unwrap()
}

fn reference_logits() -> Vec<f32> {
    read_reference(&tiny().join("reference.safetensors"))["logits"].as_f32()
}

fn load(dir: &Path) -> Result<BertForSequenceClassification, Error> {
    BertForSequenceClassification::from_pretrained(dir, &device())
}

#[test]
fn legacy_gamma_beta_names_load() {
    let renamed = tensors()
        .into_iter()
        .map(|(k, v)| (k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"), v))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), &renamed);
    let logits = values(load(dir.path()).unwrap().forward(input()));
    assert_close("logits", &logits, &reference_logits(), 1e-5);
}

#[test]
fn missing_head_is_fresh_not_an_error() {
    let mut t = tensors();
    t.retain(|k, _| !k.starts_with("classifier."));
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), &t);
    let model = load(dir.path()).unwrap();
    assert_eq!(model.forward(input()).dims(), [3, 3]);
}

#[test]
fn missing_encoder_key_names_it() {
    let mut t = tensors();
    t.remove("bert.encoder.layer.1.output.dense.weight");
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), &t);
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, Error::MissingKey { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("encoder.layer.1.output.dense.weight") && msg.contains("model.safetensors"), "{msg}");
}

#[test]
fn wrong_shape_names_key_and_both_shapes() {
    let mut t = tensors();
    t.insert("bert.pooler.dense.bias".into(), (vec![31], vec![0u8; 31 * 4]));
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), &t);
    let msg = load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("bert.pooler.dense.bias") && msg.contains("[31]") && msg.contains("[32]"), "{msg}");
}

#[test]
fn corrupt_and_truncated_weights_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), &tensors());
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("model.safetensors") && msg.contains("not a valid safetensors"), "{msg}");
    std::fs::write(&path, b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage garbage").unwrap();
    let msg = load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("model.safetensors"), "{msg}");
}

#[test]
fn missing_dir_and_missing_weights_are_errors() {
    let msg = load(Path::new("/no/such/model")).unwrap_err().to_string();
    assert!(msg.contains("/no/such/model"), "{msg}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(tiny().join("config.json"), dir.path().join("config.json")).unwrap();
    let msg = load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no model weights"), "{msg}");
}

#[test]
fn bad_configs_are_errors_naming_the_field() {
    let base: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tiny().join("config.json")).unwrap()).unwrap();
    let cases: Vec<(&str, Box<dyn Fn(&mut serde_json::Value)>)> = vec![
        ("hidden_size", Box::new(|c| { c.as_object_mut().unwrap().remove("hidden_size"); })),
        ("gelu_wobbly", Box::new(|c| c["hidden_act"] = "gelu_wobbly".into())),
        ("num_attention_heads", Box::new(|c| c["num_attention_heads"] = 5.into())),
        ("config.json", Box::new(|c| *c = serde_json::Value::String("not an object".into()))),
        // Issue 14: every size bounded before anything is allocated, eps usable, labels sane.
        ("`vocab_size` is 1000000000000", Box::new(|c| c["vocab_size"] = 1_000_000_000_000u64.into())),
        ("parameters", Box::new(|c| { c["num_hidden_layers"] = 1000.into(); c["hidden_size"] = 8192.into(); c["num_attention_heads"] = 8.into(); })),
        ("`max_position_embeddings` is", Box::new(|c| c["max_position_embeddings"] = (1u64 << 40).into())),
        ("`layer_norm_eps`", Box::new(|c| c["layer_norm_eps"] = 0.0.into())),
        ("`layer_norm_eps`", Box::new(|c| c["layer_norm_eps"] = (-1e-12).into())),
        ("`num_labels` is 5", Box::new(|c| c["num_labels"] = 5.into())),
        ("ids must be 0..3", Box::new(|c| { c["id2label"].as_object_mut().unwrap().remove("1"); c["id2label"]["7"] = "x".into(); })),
        ("regression has one output", Box::new(|c| c["problem_type"] = "regression".into())),
    ];
    for (needle, edit) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), &tensors());
        let mut c = base.clone();
        edit(&mut c);
        std::fs::write(dir.path().join("config.json"), c.to_string()).unwrap();
        let msg = load(dir.path()).unwrap_err().to_string();
        assert!(msg.contains(needle) && msg.contains("config.json"), "{needle}: {msg}");
    }
}

#[test]
fn export_round_trips_with_hf_keys() {
    let model = load(&tiny()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save_pretrained(dir.path()).unwrap();
    // Same keys and shapes as the file transformers wrote.
    let ours: BTreeMap<String, Vec<usize>> = {
        let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        st.tensors().into_iter().map(|(k, v)| (k, v.shape().to_vec())).collect()
    };
    let theirs: BTreeMap<String, Vec<usize>> = tensors().into_iter().map(|(k, (s, _))| (k, s)).collect();
    assert_eq!(ours, theirs);
    let back = load(dir.path()).unwrap();
    assert_eq!(back.config.labels(), model.config.labels());
    assert_close("round trip", &values(back.forward(input())), &reference_logits(), 1e-6);
}

#[test]
fn pytorch_model_bin_loads_and_corrupt_bin_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "pytorch_model.bin"] {
        std::fs::copy(tiny().join(f), dir.path().join(f)).unwrap();
    }
    let logits = values(load(dir.path()).unwrap().forward(input()));
    assert_close("logits from pytorch_model.bin", &logits, &reference_logits(), 1e-5);
    std::fs::write(dir.path().join("pytorch_model.bin"), b"PK\x03\x04 not really a zip").unwrap();
    let msg = load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("pytorch_model.bin"), "{msg}");
}

/// A sharded checkpoint's index may only name files of its own directory: a shard at
/// `../` (a valid weights file, so only the path can be the reason) is refused with the
/// index file and the shard named; the same shard inside the directory loads.
#[test]
fn sharded_index_cannot_leave_its_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(tiny().join("config.json"), dir.join("config.json")).unwrap();
    let keys: Vec<String> = tensors().into_keys().collect();
    let index = |shard: &str| {
        let map: serde_json::Map<String, serde_json::Value> = keys.iter().map(|k| (k.clone(), shard.into())).collect();
        serde_json::json!({ "metadata": {}, "weight_map": map }).to_string()
    };
    for outside in ["../outside.safetensors", "/etc/passwd"] {
        std::fs::copy(tiny().join("model.safetensors"), root.path().join("outside.safetensors")).unwrap();
        std::fs::write(dir.join("model.safetensors.index.json"), index(outside)).unwrap();
        let err = load(&dir).err().expect("a shard outside the directory must be refused").to_string();
        assert!(err.contains("model.safetensors.index.json") && err.contains(outside), "{err}");
    }
    std::fs::copy(tiny().join("model.safetensors"), dir.join("model-00001-of-00001.safetensors")).unwrap();
    std::fs::write(dir.join("model.safetensors.index.json"), index("model-00001-of-00001.safetensors")).unwrap();
    let model = load(&dir).unwrap();
    assert_close("logits", &values(model.forward(input())), &reference_logits(), 1e-5);
}
