//! The bodies of the fuzz targets, shared by `cargo fuzz` (`fuzz_targets/*.rs`, nightly) and
//! the replay test (`tests/fuzz_replay.rs`, stable, every committed input of `corpus/` and
//! `regressions/`). Each takes arbitrary bytes and must return without panicking: every
//! loader answers garbage with an error, and what loads must be usable.

#![allow(dead_code)] // each fuzz binary uses one target; the replay test uses them all

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bertrs_data::{Columns, Compression, Encoder, Format, LabelOptions};
use bertrs_tokenizer::{BertTokenizer, EncodeOptions, Input};

/// The names of the targets, as `cargo fuzz run` and the corpus folders know them.
pub const TARGETS: [&str; 7] = ["data_rows", "parquet_rows", "safetensors", "pytorch_bin", "config_json", "tokenizer_dir", "toml_config"];

/// Runs target `name` on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "data_rows" => data_rows(data),
        "parquet_rows" => parquet_rows(data),
        "safetensors" => safetensors(data),
        "pytorch_bin" => pytorch_bin(data),
        "config_json" => config_json(data),
        "tokenizer_dir" => tokenizer_dir(data),
        "toml_config" => toml_config(data),
        _ => panic!("no fuzz target `{name}`"),
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny/single_label_classification")
}

fn encoder() -> &'static Encoder {
    static ENCODER: OnceLock<Encoder> = OnceLock::new();
    ENCODER.get_or_init(|| {
        let tok = BertTokenizer::from_dir(fixtures()).expect("the tiny fixture's tokenizer");
        Encoder::new(&tok, 32).expect("max length 32")
    })
}

/// A scratch directory of this process, for the loaders that take paths.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory")).path()
}

/// CSV, TSV, JSONL and JSON arrays, plain, gzip or bzip2 (the first byte picks), read as
/// `train` reads a training file: rows, then tokens and the label map.
pub fn data_rows(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else { return };
    let format = [Format::Csv, Format::Tsv, Format::Jsonl, Format::Json][pick as usize % 4];
    let compression = [Compression::None, Compression::Gzip, Compression::Bzip2][(pick as usize / 4) % 3];
    let cols = Columns { group: (pick & 0x40 != 0).then(|| "group".to_string()), ..Columns::default() };
    let path = Path::new("fuzz-input");
    let Ok(rows) = bertrs_data::rows_from_reader(path, Box::new(Cursor::new(body.to_vec())), format, compression, &cols) else { return };
    let opts = LabelOptions { delimiter: (pick & 0x80 != 0).then(|| "|".to_string()), ..LabelOptions::default() };
    if let Ok((set, map)) = encoder().training(path, rows.take(1000), &opts) {
        for i in 0..set.len() {
            assert!(set.length(i) <= 32 && set.ids(i).len() == set.length(i));
        }
        // Classes and multi-label sets are named; regression has one unnamed output.
        assert!(!map.names.is_empty() || set.is_empty() || map.problem_type == bertrs_data::ProblemType::Regression);
    }
}

/// Parquet bytes read as `train` reads a training file: the footer, the schema and its
/// `datasets` metadata, each row group's pages, then tokens and the label map.
///
/// The parquet crate's page decoder asserts on some corrupt pages (a dictionary-encoded page
/// without its dictionary: `regressions/parquet_rows/dictionary_page_missing`; upstream
/// apache/arrow-rs fixes these one by one, e.g. #9434). bertrs-data catches a panic of the
/// decoder and reports it as the row group's error; libFuzzer's panic hook would abort on
/// that caught panic, so the hook is silenced while the target runs. A panic anywhere else
/// is not caught and still ends the run as a crash.
pub fn parquet_rows(data: &[u8]) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    read_parquet(data);
    std::panic::set_hook(hook);
}

fn read_parquet(data: &[u8]) {
    let path = Path::new("fuzz-input.parquet");
    let Ok(rows) = bertrs_data::rows_from_reader(path, Box::new(Cursor::new(data.to_vec())), Format::Parquet, Compression::None, &Columns::default()) else {
        return;
    };
    let opts = LabelOptions { class_names: rows.class_names().map(<[String]>::to_vec), ..LabelOptions::default() };
    if let Ok((set, _)) = encoder().training(path, rows.take(1000), &opts) {
        for i in 0..set.len() {
            assert!(set.length(i) <= 32 && set.ids(i).len() == set.length(i));
        }
    }
}

/// `model.safetensors` bytes into the weight table.
pub fn safetensors(data: &[u8]) {
    if let Ok(ckpt) = bertrs_model::StateDict::from_safetensors_bytes(data, "fuzz.safetensors".into()) {
        for key in ckpt.unused_keys() {
            if let Some((shape, values)) = ckpt.tensor(&key) {
                assert_eq!(shape.iter().product::<usize>(), values.len(), "{key}");
            }
        }
    }
}

/// `pytorch_model.bin` (a zip of a pickle and tensor storages) into the weight table.
pub fn pytorch_bin(data: &[u8]) {
    let path = scratch().join(format!("pytorch_model-{:?}.bin", std::thread::current().id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(ckpt) = bertrs_model::StateDict::from_pytorch(&path) {
        for key in ckpt.unused_keys() {
            if let Some((shape, values)) = ckpt.tensor(&key) {
                assert_eq!(shape.iter().product::<usize>(), values.len(), "{key}");
            }
        }
    }
}

/// `config.json`: a config that loads is valid, and its export loads back equal.
pub fn config_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("config.json");
    if let Ok(config) = bertrs_model::BertConfig::from_json(text, path) {
        let labels = config.labels();
        assert_eq!(labels.len(), config.num_labels());
        let again = bertrs_model::BertConfig::from_json(&config.to_hf_json().to_string(), path).expect("an exported config loads");
        assert_eq!(again.num_labels(), config.num_labels());
    }
}

/// A tokenizer directory: `tokenizer.json`, `vocab.txt` and `tokenizer_config.json` (the
/// input cut at `\0\0`, a missing part no file), loaded and used on the rest of the input.
pub fn tokenizer_dir(data: &[u8]) {
    let parts: Vec<&[u8]> = split_on(data, b"\0\0", 4);
    let dir = scratch().join(format!("tok-{:?}", std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    for (name, bytes) in ["tokenizer.json", "vocab.txt", "tokenizer_config.json"].iter().zip(&parts) {
        if !bytes.is_empty() && std::fs::write(dir.join(name), bytes).is_err() {
            return;
        }
    }
    let Ok(tok) = BertTokenizer::from_dir(&dir) else { return };
    let text = String::from_utf8_lossy(parts.get(3).copied().unwrap_or(b"a test"));
    let opts = EncodeOptions::default().max_length(16);
    if let Ok(p) = tok.prepare(&opts) {
        let inputs = [Input { text: &text, pair: None }, Input { text: "x", pair: Some(&text) }];
        if let Ok(b) = p.encode_batch(&inputs) {
            assert!(b.input_ids.iter().all(|ids| ids.len() <= 16));
        }
    }
}

/// A `--config` TOML file: its flags, then the command line they make.
pub fn toml_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(flags) = bertrs_cli::config::flags_from_toml(text, Path::new("run.toml")) {
        let mut argv: Vec<std::ffi::OsString> = vec!["bertrs-cli".into(), "train".into()];
        argv.extend(flags);
        let _ = <bertrs_cli::args::Cli as clap::Parser>::try_parse_from(argv);
    }
}

/// `data` cut at each `sep`, into at most `n` parts.
fn split_on<'a>(data: &'a [u8], sep: &[u8], n: usize) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + sep.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}
