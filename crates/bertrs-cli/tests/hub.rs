//! `--model org/name` is a hub id fetched on first use into the HF cache, as
//! `from_pretrained` does, here from a local server with the hub's URL layout: sharded
//! weights, a gated repository with `HF_TOKEN` (401 without, 403 with a wrong one); an
//! unreachable hub is a one-line error that names the alternatives.

#[path = "../../bertrs-assets/tests/support/hub_server.rs"]
mod hub_server;
mod common;

use std::process::Command;

use common::fixtures;
use hub_server::{COMMIT, GATED_TOKEN, Server};

fn predict(model: &str, input: &std::path::Path, out: &std::path::Path, env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bertrs-cli"));
    cmd.args(["predict", "--model", model, "--input"]).arg(input).arg("--output").arg(out);
    cmd.env_remove("HF_TOKEN").env_remove("HF_HUB_OFFLINE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_hub_id_is_downloaded_into_the_hf_cache_and_used() {
    let src = fixtures().join("tiny/single_label_classification");
    let files: Vec<(String, Vec<u8>)> = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]
        .iter()
        .map(|f| (format!("org/tiny/{f}"), std::fs::read(src.join(f)).unwrap()))
        .collect();
    let server = Server::start(&files.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>());
    let tmp = tempfile::tempdir().unwrap();
    let input = src.join("predict_input.jsonl");
    let (from_hub, from_dir) = (tmp.path().join("hub.jsonl"), tmp.path().join("dir.jsonl"));
    let env = [("HF_ENDPOINT", server.endpoint()), ("HF_HOME", tmp.path().join("hf").display().to_string())];
    let o = predict("org/tiny", &input, &from_hub, &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snapshot = tmp.path().join("hf/hub/models--org--tiny/snapshots").join(COMMIT);
    assert!(snapshot.join("model.safetensors").is_file());
    let o = predict(src.to_str().unwrap(), &input, &from_dir, &[]);
    assert!(o.status.success());
    assert_eq!(std::fs::read(&from_hub).unwrap(), std::fs::read(&from_dir).unwrap());
    // Offline, the cache is enough.
    let gets = server.gets();
    let mut offline = env.to_vec();
    offline.push(("HF_HUB_OFFLINE", "1".into()));
    let o = predict("org/tiny", &input, &from_hub, &offline);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(server.gets(), gets);
}

#[test]
fn an_unreachable_hub_is_one_clear_error() {
    let (_refusing, endpoint) = hub_server::refusing_address();
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures().join("tiny/single_label_classification/predict_input.jsonl");
    let env = [("HF_ENDPOINT", endpoint), ("HF_HOME", tmp.path().display().to_string())];
    let o = predict("org/tiny", &input, &tmp.path().join("out.jsonl"), &env);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("org/tiny") && err.contains("cannot reach the HF hub"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The tiny model's files under `repo`, the weights as given.
fn tiny_repo(repo: &str, weights: Vec<(&str, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let src = fixtures().join("tiny/single_label_classification");
    let mut files: Vec<(String, Vec<u8>)> = ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]
        .iter()
        .map(|f| (format!("{repo}/{f}"), std::fs::read(src.join(f)).unwrap()))
        .collect();
    files.extend(weights.into_iter().map(|(f, b)| (format!("{repo}/{f}"), b)));
    files
}

/// A safetensors file split in two shards plus the index transformers writes
/// (`model.safetensors.index.json`: `weight_map` from tensor name to shard file).
fn shard(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut names: Vec<&String> = header.as_object().unwrap().keys().filter(|k| *k != "__metadata__").collect();
    names.sort();
    let names_in = |half: usize| -> Vec<&String> { names.iter().enumerate().filter(|(i, _)| i % 2 == half).map(|(_, k)| *k).collect() };
    let files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    let mut weight_map = serde_json::Map::new();
    let mut out = Vec::new();
    for (half, file) in files.iter().enumerate() {
        let (mut head, mut body) = (serde_json::Map::new(), Vec::new());
        for name in names_in(half) {
            let t = &header[name.as_str()];
            let (a, b) = (t["data_offsets"][0].as_u64().unwrap() as usize, t["data_offsets"][1].as_u64().unwrap() as usize);
            head.insert(name.clone(), serde_json::json!({"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [body.len(), body.len() + b - a]}));
            body.extend_from_slice(&data[a..b]);
            weight_map.insert(name.clone(), (*file).into());
        }
        let head = serde_json::to_vec(&head).unwrap();
        let mut shard = (head.len() as u64).to_le_bytes().to_vec();
        shard.extend(head);
        shard.extend(body);
        out.push((*file, shard));
    }
    let index = serde_json::json!({"metadata": {"total_size": data.len()}, "weight_map": weight_map});
    out.push(("model.safetensors.index.json", serde_json::to_vec_pretty(&index).unwrap()));
    out
}

#[test]
fn sharded_weights_and_gated_repositories_load_like_the_directory() {
    let src = fixtures().join("tiny/single_label_classification");
    let weights = std::fs::read(src.join("model.safetensors")).unwrap();
    let mut files = tiny_repo("org/sharded", shard(&weights));
    files.extend(tiny_repo("gated/tiny", vec![("model.safetensors", weights.clone())]));
    let server = Server::start(&files.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>());
    let tmp = tempfile::tempdir().unwrap();
    let input = src.join("predict_input.jsonl");
    let env = [("HF_ENDPOINT", server.endpoint()), ("HF_HOME", tmp.path().join("hf").display().to_string())];
    let from_dir = tmp.path().join("dir.jsonl");
    assert!(predict(src.to_str().unwrap(), &input, &from_dir, &[]).status.success());
    // Sharded: the index and both shards are fetched, and the model is the same.
    let sharded = tmp.path().join("sharded.jsonl");
    let o = predict("org/sharded", &input, &sharded, &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snapshot = tmp.path().join("hf/hub/models--org--sharded/snapshots").join(COMMIT);
    for f in ["model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
        assert!(snapshot.join(f).is_file(), "{f} not in the cache");
    }
    assert!(!snapshot.join("model.safetensors").exists());
    assert_eq!(std::fs::read(&sharded).unwrap(), std::fs::read(&from_dir).unwrap());
    // Gated: no token is a 401, a wrong one a 403, each naming what to do; HF_TOKEN works.
    let gated = tmp.path().join("gated.jsonl");
    for (token, code) in [(None, "401"), (Some("hf_wrong"), "403")] {
        let mut e = env.to_vec();
        if let Some(t) = token {
            e.push(("HF_TOKEN", t.to_string()));
        }
        let o = predict("gated/tiny", &input, &gated, &e);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(code) && err.contains("HF_TOKEN") && err.contains("gated/tiny"), "{token:?}: {err}");
        assert!(!gated.exists());
    }
    let mut e = env.to_vec();
    e.push(("HF_TOKEN", GATED_TOKEN.to_string()));
    let o = predict("gated/tiny", &input, &gated, &e);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&gated).unwrap(), std::fs::read(&from_dir).unwrap());
}

/// `--dataset org/name` reads a hub dataset as `load_dataset` does: the Parquet conversion's
/// splits, downloaded into the HF cache (`datasets--org--name`), then usable offline.
#[test]
fn a_hub_dataset_trains_evaluates_and_predicts_and_then_works_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let conv = "datasets/org/movies@refs/convert/parquet/default";
    let mut files = Vec::new();
    for (split, ids) in [("train", 0..40), ("validation", 40..52), ("test", 52..60)] {
        let p = tmp.path().join(format!("{split}.parquet"));
        common::write_split(&p, ids);
        files.push((format!("{conv}/{split}/0000.parquet"), std::fs::read(&p).unwrap()));
    }
    let server = Server::start(&files.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>());
    let hf_home = tmp.path().join("hf").display().to_string();
    let run = |args: &[&str], endpoint: String, offline: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bertrs-cli"));
        cmd.args(args).env("HF_ENDPOINT", endpoint).env("HF_HOME", &hf_home).env_remove("HF_TOKEN").env_remove("HF_HUB_OFFLINE");
        if offline {
            cmd.env("HF_HUB_OFFLINE", "1");
        }
        cmd.output().unwrap()
    };
    let model = fixtures().join("tiny/single_label_classification");
    let out = tmp.path().join("run");
    let o = run(
        &["train", "--model", model.to_str().unwrap(), "--dataset", "org/movies", "--output-dir", out.to_str().unwrap(), "--max-steps", "4", "--batch-size", "8", "--max-length", "16", "--save-strategy", "no", "--ignore-mismatched-sizes"],
        server.endpoint(),
        false,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("downloading dataset org/movies/default/train/0000.parquet"), "{err}");
    // The validation split was evaluated (12 rows); the ClassLabel names are the labels.
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("eval_results.json")).unwrap()).unwrap();
    let counted: u64 = results["eval_confusion_matrix"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(counted, 12, "{results}");
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["id2label"], serde_json::json!({"0": "pos", "1": "neg"}));
    let snapshot = tmp.path().join("hf/hub/datasets--org--movies/snapshots").join(COMMIT);
    assert!(snapshot.join("default/validation/0000.parquet").is_file());

    // Offline, with no hub at all: the cached splits are enough.
    let (_refusing, nowhere) = hub_server::refusing_address();
    let o = run(&["eval", "--model", out.to_str().unwrap(), "--dataset", "org/movies", "--max-length", "16"], nowhere.clone(), true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The test split was never fetched: offline, it is not there; online, it is.
    let pred = tmp.path().join("test.jsonl");
    let predict_args = ["predict", "--model", out.to_str().unwrap(), "--dataset", "org/movies", "--split", "test", "--output", pred.to_str().unwrap(), "--keep-columns", "id"];
    let o = run(&predict_args, nowhere.clone(), true);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no `test` split"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&predict_args, server.endpoint(), false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = common::jsonl(&pred);
    assert_eq!(rows.iter().map(|r| r["id"].as_u64().unwrap()).collect::<Vec<_>>(), (52..60).collect::<Vec<u64>>());
    let gets = server.gets();
    let o = run(&predict_args, nowhere.clone(), true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(common::jsonl(&pred), rows);
    assert_eq!(server.gets(), gets);
    // A split the dataset lacks, and a dataset never downloaded.
    let o = run(&["predict", "--model", out.to_str().unwrap(), "--dataset", "org/movies", "--split", "unlabeled", "--output", pred.to_str().unwrap()], nowhere.clone(), true);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("has no `unlabeled` split"), "{err}");
    let o = run(&["eval", "--model", out.to_str().unwrap(), "--dataset", "org/other"], nowhere, true);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("org/other") && err.contains("HF_HUB_OFFLINE"), "{err}");
}
