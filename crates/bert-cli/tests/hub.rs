//! `--model org/name` is a hub id fetched on first use into the HF cache, as
//! `from_pretrained` does, here from a local server with the hub's URL layout; an unreachable
//! hub is a one-line error that names the alternatives.

#[path = "../../bert-assets/tests/support/hub_server.rs"]
mod hub_server;
mod common;

use std::process::Command;

use common::fixtures;
use hub_server::{COMMIT, Server};

fn predict(model: &str, input: &std::path::Path, out: &std::path::Path, env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bert-cli"));
    cmd.args(["predict", "--model", model, "--input"]).arg(input).arg("--output").arg(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env_remove("HF_TOKEN").env_remove("HF_HUB_OFFLINE").output().unwrap()
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
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures().join("tiny/single_label_classification/predict_input.jsonl");
    let env = [("HF_ENDPOINT", format!("http://127.0.0.1:{port}")), ("HF_HOME", tmp.path().display().to_string())];
    let o = predict("org/tiny", &input, &tmp.path().join("out.jsonl"), &env);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("org/tiny") && err.contains("cannot reach the HF hub"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
