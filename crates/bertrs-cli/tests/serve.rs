//! `bertrs-cli serve` (issue 15) from its clients' side: a real server process on a free
//! port, spoken to by reqwest, curl, a hand-written HTTP/1.1 client (for the shutdown test),
//! Python's `huggingface_hub.InferenceClient` and headless Chromium. Every answer is checked
//! against `bertrs-cli predict` on the same inputs (scores within 1e-5) and, for the raw
//! logits, against transformers' own (the tiny fixtures' references).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{assert_close, cli, f32s, fixtures, jsonl};
use serde_json::{Value, json};

const PROBLEMS: [&str; 3] = ["single_label_classification", "multi_label_classification", "regression"];

/// A running server; killed when dropped (tests that stop it themselves wait for it).
struct Server {
    child: Child,
    url: String,
    addr: String,
    /// stderr after the "serving" line, collected by a thread.
    rest: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    fn start(model: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bertrs-cli"))
            .args(["serve", "--model", model.to_str().unwrap(), "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bertrs-cli serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("serve exited before listening:\n{seen}");
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(at) = line.find(" on http://") {
                break line[at + " on http://".len()..].split_whitespace().next().unwrap().to_string();
            }
        };
        let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
        Server { child, url: format!("http://{addr}"), addr, rest: Some(rest) }
    }

    fn post(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = reqwest::blocking::Client::new().post(format!("{}{path}", self.url)).body(body).send().expect("request");
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        let text = r.text().unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
        (status, headers, v)
    }

    fn predict(&self, body: &Value) -> Value {
        let (status, _, v) = self.post("/predict", body.to_string());
        assert_eq!(status, 200, "{body}: {v}");
        v
    }

    fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::blocking::get(format!("{}{path}", self.url)).expect("request");
        (r.status().as_u16(), r.text().unwrap())
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill").args([&format!("-{sig}"), &self.child.id().to_string()]).status().unwrap();
        assert!(st.success());
    }

    /// Waits for the process to exit; its exit code and the stderr after "serving".
    fn wait(mut self) -> (Option<i32>, String) {
        let code = self.child.wait().unwrap().code();
        (code, self.rest.take().unwrap().join().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tiny(problem: &str) -> PathBuf {
    fixtures().join("tiny").join(problem)
}

/// The fixture's rows as `/predict` inputs (a text or a `[text, pair]`).
fn inputs(problem: &str) -> Vec<Value> {
    jsonl(&tiny(problem).join("predict_input.jsonl"))
        .into_iter()
        .map(|r| match r.get("text_pair") {
            Some(p) => json!([r["text"], p]),
            None => r["text"].clone(),
        })
        .collect()
}

/// `bertrs-cli predict`'s rows for the fixture's inputs, at the server's max length.
fn cli_predict(problem: &str, tmp: &Path) -> Vec<Value> {
    let dir = tiny(problem);
    let out = tmp.join(format!("{problem}.jsonl"));
    let o = cli(&["predict", "--model", dir.to_str().unwrap(), "--input", dir.join("predict_input.jsonl").to_str().unwrap(), "--output", out.to_str().unwrap(), "--max-length", "40"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    jsonl(&out)
}

/// One input's answer `[{label, score}]` against predict's row: sorted best first, and each
/// label's score the row's probability (the value for regression) within 1e-5.
fn check_answer(what: &str, answer: &Value, row: &Value, names: &[&str]) {
    let got = answer.as_array().unwrap_or_else(|| panic!("{what}: {answer}"));
    let scores: Vec<f32> = got.iter().map(|p| p["score"].as_f64().unwrap() as f32).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{what}: not sorted: {answer}");
    if let Some(v) = row.get("value") {
        assert_eq!(got.len(), 1, "{what}");
        assert_eq!(got[0]["label"], "LABEL_0", "{what}");
        assert_close(what, &scores, &[v.as_f64().unwrap() as f32], 1e-5);
        return;
    }
    let probs = f32s(&row["probs"]);
    assert_eq!(got.len(), names.len(), "{what}: every label is answered");
    for p in got {
        let id = names.iter().position(|n| *n == p["label"]).unwrap_or_else(|| panic!("{what}: unknown label {p}"));
        assert_close(&format!("{what} {}", p["label"]), &[p["score"].as_f64().unwrap() as f32], &[probs[id]], 1e-5);
    }
    if let Some(label) = row.get("label") {
        assert_eq!(&got[0]["label"], label, "{what}: the best label is predict's");
    }
}

const NAMES: [&str; 3] = ["negative", "neutral", "positive"];

#[test]
fn predictions_match_predict_and_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    for problem in PROBLEMS {
        let rows = cli_predict(problem, tmp.path());
        let reference = jsonl(&tiny(problem).join("predict_reference.jsonl"));
        let inputs = inputs(problem);
        let server = Server::start(&tiny(problem), &[]);
        let names: Vec<&str> = if problem == "regression" { vec!["LABEL_0"] } else { NAMES.to_vec() };
        // One request per input, then all of them as one batch request.
        for (i, input) in inputs.iter().enumerate() {
            let answer = server.predict(&json!({"inputs": input, "truncate": true}));
            check_answer(&format!("{problem} input {i}"), &answer, &rows[i], &names);
        }
        let batch: Vec<Value> = inputs.iter().map(|i| if i.is_string() { json!([i]) } else { i.clone() }).collect();
        let answers = server.predict(&json!({"inputs": batch, "truncate": true}));
        assert_eq!(answers.as_array().unwrap().len(), rows.len());
        for (i, row) in rows.iter().enumerate() {
            check_answer(&format!("{problem} batch input {i}"), &answers[i], row, &names);
        }
        // raw_scores: the logits, against transformers' (the fixtures were made at max length 16).
        let server16 = Server::start(&tiny(problem), &["--max-input-length", "16"]);
        let raw = server16.predict(&json!({"inputs": batch, "truncate": true, "raw_scores": true}));
        for (i, want) in reference.iter().enumerate() {
            let mut logits = vec![0.0f32; names.len()];
            for p in raw[i].as_array().unwrap() {
                logits[names.iter().position(|n| *n == p["label"]).unwrap()] = p["score"].as_f64().unwrap() as f32;
            }
            assert_close(&format!("{problem} raw input {i}"), &logits, &f32s(&want["logits"]), 1e-5);
        }
    }
}

#[test]
fn curl_gets_what_predict_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let problem = PROBLEMS[0];
    let rows = cli_predict(problem, tmp.path());
    let server = Server::start(&tiny(problem), &[]);
    for (i, input) in inputs(problem).iter().enumerate() {
        let body = json!({"inputs": input, "truncate": true}).to_string();
        // As README shows it, without a content type (the server reads JSON regardless).
        let o = Command::new("curl").args(["-sS", "-i", &format!("{}/predict", server.url), "-d", &body]).output().expect("curl");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        for h in ["x-compute-time", "x-compute-characters", "x-compute-tokens", "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time"] {
            assert!(head.to_ascii_lowercase().contains(&format!("\n{h}: ")), "{h} missing: {head}");
        }
        check_answer(&format!("curl input {i}"), &serde_json::from_str(body).unwrap(), &rows[i], &NAMES);
    }
}

#[test]
fn bad_requests_get_tei_errors_and_the_server_stays_up() {
    let server = Server::start(&tiny(PROBLEMS[0]), &["--payload-limit", "2000", "--max-client-batch-size", "4"]);
    let long = "word ".repeat(60);
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{\"inputs\": ".to_vec(), 422, "not a valid request"),
        (b"not json".to_vec(), 422, "not a valid request"),
        (b"{}".to_vec(), 422, "missing field `inputs`"),
        (b"{\"inputs\": \"\xff\xfe\"}".to_vec(), 422, "not a valid request"),
        (br#"{"inputs": ""}"#.to_vec(), 422, "`inputs` cannot be empty"),
        (br#"{"inputs": []}"#.to_vec(), 422, "`inputs` cannot be empty"),
        (br#"{"inputs": 7}"#.to_vec(), 422, "got a number"),
        (br#"{"inputs": ["a", "b", "c"]}"#.to_vec(), 422, "a list of 3 strings"),
        (br#"{"inputs": [["a"], ["b", "c", "d"]]}"#.to_vec(), 422, "`inputs`[1] with 3 strings"),
        (br#"{"inputs": [["a"], [1]]}"#.to_vec(), 422, "a number at `inputs`[1][0]"),
        (br#"{"inputs": "a", "truncation_direction": "Left"}"#.to_vec(), 422, "`truncation_direction` `Left` is not supported"),
        (br#"{"inputs": "a", "parameters": {"function_to_apply": "tanh"}}"#.to_vec(), 422, "softmax, sigmoid or none"),
        (json!({"inputs": [["a"], ["b"], ["c"], ["d"], ["e"]]}).to_string().into_bytes(), 413, "batch size 5 > maximum allowed batch size 4"),
        (json!({"inputs": long}).to_string().into_bytes(), 413, "must have less than 41 tokens. Given: 62"),
        (json!({"inputs": [["ok"], [long]]}).to_string().into_bytes(), 413, "`inputs`[1] must have less than 41 tokens"),
        (json!({"inputs": "x".repeat(3000)}).to_string().into_bytes(), 413, "--payload-limit"),
    ];
    for (body, status, message) in cases {
        let shown = String::from_utf8_lossy(&body).chars().take(60).collect::<String>();
        let (got, _, v) = server.post("/predict", body);
        assert_eq!(got, status, "{shown}: {v}");
        assert!(v["error"].as_str().unwrap().contains(message), "{shown}: {v}");
        assert_eq!(v["error_type"], "validation", "{shown}: {v}");
    }
    // Too long is fine when the request asks to truncate.
    let ok = server.predict(&json!({"inputs": long, "truncate": true}));
    assert_eq!(ok.as_array().unwrap().len(), 3);
    // Unknown routes and methods answer in the same JSON shape.
    let (status, _, v) = server.post("/no-such-route", "{}");
    assert_eq!((status, v["error_type"].as_str()), (404, Some("validation")), "{v}");
    let (status, body) = server.get("/predict");
    assert_eq!(status, 405, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    // Every failure is counted, and the server still serves.
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("te_request_failure{err=\"validation\"} 12\n"), "{metrics}");
    assert!(metrics.contains("te_request_failure{err=\"too_large\"} 4\n"), "{metrics}");
    assert_eq!(server.get("/health").0, 200);
}

#[test]
fn a_full_server_answers_429_at_once_and_recovers() {
    // One request at a time; 48 clients at once, each a batch of 32 long inputs.
    let server = Server::start(&tiny(PROBLEMS[0]), &["--max-concurrent-requests", "1"]);
    let body = json!({"inputs": vec![json!(["the film was great and the acting was fine, said everyone who saw it twice"]); 32]}).to_string();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(48));
    let results: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..48)
            .map(|_| {
                let (barrier, body, server) = (barrier.clone(), body.clone(), &server);
                s.spawn(move || {
                    barrier.wait();
                    let (status, _, v) = server.post("/predict", body);
                    (status, v)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let overloaded: Vec<&Value> = results.iter().filter(|(s, _)| *s == 429).map(|(_, v)| v).collect();
    assert_eq!(ok + overloaded.len(), 48, "only 200 and 429: {results:?}");
    assert!(ok >= 1 && !overloaded.is_empty(), "{ok} answered, {} refused", overloaded.len());
    for v in &overloaded {
        assert_eq!(v, &&json!({"error": "Model is overloaded", "error_type": "overloaded"}));
    }
    // The permits came back: a request now is served.
    assert_eq!(server.predict(&json!({"inputs": "the film was great"})).as_array().unwrap().len(), 3);
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains(&format!("te_request_failure{{err=\"overloaded\"}} {}\n", overloaded.len())), "{metrics}");
}

#[test]
fn sigterm_and_sigint_finish_the_requests_in_flight_then_exit_0() {
    for sig in ["TERM", "INT"] {
        let server = Server::start(&tiny(PROBLEMS[0]), &[]);
        let body = json!({"inputs": [["the film was great"], ["a dull , boring movie", "the ending was slow"]]}).to_string();
        // The request's head and half its body are sent: the server is inside the handler,
        // waiting for the rest, when the signal comes.
        let mut conn = TcpStream::connect(&server.addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let (a, b) = body.split_at(body.len() / 2);
        write!(conn, "POST /predict HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{a}", server.addr, body.len()).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        server.signal(sig);
        std::thread::sleep(Duration::from_millis(500));
        // Still running (draining), and no longer accepting.
        let alive = Command::new("kill").args(["-0", &server.child.id().to_string()]).status().unwrap();
        assert!(alive.success(), "SIG{sig}: the server exited with a request in flight");
        conn.write_all(b.as_bytes()).unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "SIG{sig}: {response}");
        let json_at = response.find("\r\n\r\n").unwrap() + 4;
        let answer: Value = serde_json::from_str(&response[json_at..]).unwrap();
        assert_eq!(answer.as_array().unwrap().len(), 2, "{answer}");
        let (code, stderr) = server.wait();
        assert_eq!(code, Some(0), "SIG{sig}: {stderr}");
        assert!(stderr.contains("stopped: every request in flight was answered"), "{stderr}");
    }
}

#[test]
fn info_tokenize_health_metrics_and_openapi() {
    let dir = tiny(PROBLEMS[0]);
    let server = Server::start(&dir, &["--max-batch-tokens", "512", "--max-batch-requests", "8"]);
    let (status, info) = server.get("/info");
    assert_eq!(status, 200);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["labels"], json!(NAMES));
    assert_eq!(info["model_type"]["classifier"]["id2label"], json!({"0": "negative", "1": "neutral", "2": "positive"}));
    assert_eq!(info["problem_type"], "single_label_classification");
    assert_eq!((info["max_input_length"].as_u64(), info["max_batch_tokens"].as_u64(), info["max_batch_requests"].as_u64()), (Some(40), Some(512), Some(8)));
    assert_eq!(info["execution"], "padding-free");
    // /tokenize: the ids `predict` gives the model, with the text of each token.
    let (status, _, tokens) = server.post("/tokenize", json!({"inputs": ["Loved it!", "the film"]}).to_string());
    assert_eq!(status, 200, "{tokens}");
    let first: Vec<(&str, bool)> = tokens[0].as_array().unwrap().iter().map(|t| (t["text"].as_str().unwrap(), t["special"].as_bool().unwrap())).collect();
    assert_eq!(first, [("[CLS]", true), ("Loved", false), ("it", false), ("!", false), ("[SEP]", true)]);
    assert_eq!((tokens[0][1]["start"].as_u64(), tokens[0][1]["stop"].as_u64()), (Some(0), Some(5)));
    let vocab = std::fs::read_to_string(dir.join("vocab.txt")).unwrap();
    let id_of = |t: &str| vocab.lines().position(|l| l == t).unwrap() as u64;
    assert_eq!(tokens[1][1]["id"].as_u64(), Some(id_of("the")));
    let (status, _, v) = server.post("/tokenize", json!({"inputs": "a", "add_special_tokens": false}).to_string());
    assert_eq!((status, v[0].as_array().map(Vec::len)), (200, Some(1)), "{v}");
    let (status, _, v) = server.post("/tokenize", json!({"inputs": [1]}).to_string());
    assert_eq!((status, v["error_type"].as_str()), (422, Some("validation")), "{v}");
    assert_eq!(server.get("/health").0, 200);
    // The metrics after one single and one batch request.
    server.predict(&json!({"inputs": "the film was great"}));
    server.predict(&json!({"inputs": [["the film was great"], ["bad"]]}));
    let (_, m) = server.get("/metrics");
    for line in [
        "te_request_count{method=\"single\"} 1",
        "te_request_count{method=\"batch\"} 1",
        "te_request_success{method=\"batch\"} 1",
        "te_request_duration_count 2",
        "te_request_tokenization_duration_count 2",
        "te_request_queue_duration_count 3",
        "te_request_inference_duration_count 3",
        "te_request_input_length_count 3",
        "te_queue_size 0",
        "# TYPE te_batch_next_size histogram",
        "# TYPE te_batch_next_tokens histogram",
    ] {
        assert!(m.lines().any(|l| l == line), "{line} missing:\n{m}");
    }
    // The OpenAPI document names the routes and the request and response types.
    let (status, doc) = server.get("/api-doc/openapi.json");
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    for path in ["/predict", "/tokenize", "/info", "/health", "/metrics"] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    for schema in ["PredictRequest", "Prediction", "ErrorResponse", "Info", "SimpleToken", "TokenizeRequest"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} missing");
    }
    // The playground: one page with no external assets.
    let (status, page) = server.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("<title>bertrs playground</title>"));
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="), "external assets in the page");
}

/// The Python side: BERT_REF_PYTHON (with huggingface_hub and websocket-client, from
/// scripts/requirements-ref.txt), as in CI.
fn python() -> Option<String> {
    std::env::var("BERT_REF_PYTHON").ok()
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

#[test]
#[ignore = "needs BERT_REF_PYTHON (huggingface_hub); run by `cargo xtask test` when it is set"]
fn huggingface_hub_inference_client_gets_what_predict_writes() {
    let py = python().expect("BERT_REF_PYTHON");
    let tmp = tempfile::tempdir().unwrap();
    for problem in PROBLEMS {
        let rows = cli_predict(problem, tmp.path());
        let server = Server::start(&tiny(problem), &["--auto-truncate"]);
        let texts: Vec<Value> = inputs(problem).into_iter().filter(|i| i.is_string()).collect();
        let o = Command::new(&py).arg(scripts().join("serve_client_check.py")).arg(&server.url).arg(Value::Array(texts.clone()).to_string()).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let answers: Value = serde_json::from_slice(&o.stdout).unwrap();
        let names: Vec<&str> = if problem == "regression" { vec!["LABEL_0"] } else { NAMES.to_vec() };
        let all = inputs(problem);
        for (k, text) in texts.iter().enumerate() {
            let i = all.iter().position(|x| x == text).unwrap();
            check_answer(&format!("InferenceClient {problem} {text}"), &answers[k], &rows[i], &names);
        }
    }
}

#[test]
#[ignore = "needs chromium and BERT_REF_PYTHON (websocket-client); run by `cargo xtask test` when it is set"]
fn the_playground_classifies_in_headless_chromium() {
    let py = python().expect("BERT_REF_PYTHON");
    let tmp = tempfile::tempdir().unwrap();
    let rows = cli_predict(PROBLEMS[0], tmp.path());
    let server = Server::start(&tiny(PROBLEMS[0]), &[]);
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-playground.png");
    let _ = std::fs::remove_file(&shot);
    let o = Command::new(&py)
        .arg(scripts().join("playground_check.py"))
        .args([&server.url, "the film was great", shot.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    // The page shows every label, best first, with predict's label on top and its
    // probability as a percentage.
    let rows_shown = shown["rows"].as_array().unwrap();
    assert_eq!(rows_shown.len(), 3, "{shown}");
    assert_eq!(rows_shown[0]["label"], rows[0]["label"], "{shown}");
    let want = f32s(&rows[0]["probs"]);
    let id = NAMES.iter().position(|n| *n == rows[0]["label"]).unwrap();
    assert_eq!(rows_shown[0]["score"], format!("{:.1}%", want[id] * 100.0), "{shown}");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 5000, "screenshot {}", shot.display());
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn a_bad_model_a_busy_port_or_a_bad_limit_fail_before_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-model");
    let o = cli(&["serve", "--model", missing.to_str().unwrap(), "--port", "0"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no-model") && !err.contains("panicked"), "{err}");
    let dir = tiny(PROBLEMS[0]);
    let o = cli(&["serve", "--model", dir.to_str().unwrap(), "--port", "0", "--max-input-length", "1000"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--max-input-length 1000 must be between 3 and the model's max_position_embeddings (40)"), "{err}");
    // A port in use: the second server says which address, and exits 1.
    let first = Server::start(&dir, &[]);
    let port = first.addr.rsplit(':').next().unwrap();
    let o = cli(&["serve", "--model", dir.to_str().unwrap(), "--port", port]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{err}");
    assert_eq!(first.get("/health").0, 200);
}

#[test]
fn browsers_of_other_origins_may_call_the_api_as_teis_cors_allows() {
    let dir = tiny(PROBLEMS[0]);
    let client = reqwest::blocking::Client::new();
    let any = Server::start(&dir, &[]);
    let r = client.post(format!("{}/predict", any.url)).header("origin", "https://app.example").body(r#"{"inputs": "great"}"#).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let pre = client
        .request(reqwest::Method::OPTIONS, format!("{}/predict", any.url))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-methods"], "GET, POST");
    assert_eq!(pre.headers()["access-control-allow-headers"], "content-type");
    // Named origins only.
    let named = Server::start(&dir, &["--cors-allow-origin", "https://app.example,https://b.example"]);
    let ask = |origin: &str| client.post(format!("{}/predict", named.url)).header("origin", origin).body(r#"{"inputs": "great"}"#).send().unwrap();
    assert_eq!(ask("https://b.example").headers()["access-control-allow-origin"], "https://b.example");
    let other = ask("https://evil.example");
    assert_eq!(other.status(), 200, "the server answers; the browser withholds it");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
