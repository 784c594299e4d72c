//! `bertrs-cli train --config run.toml`: a TOML file whose keys are the command's own flags
//! (`learning_rate = 3e-5` or `learning-rate = 3e-5`). Its entries become flags placed before
//! those of the command line, and clap lets a later flag override an earlier one, so the
//! command line wins and a file can never set something a flag could not.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::CommandFactory;

use crate::args::Cli;

/// `argv` with the `--config` file of a `train` command expanded into flags.
pub fn expand(argv: Vec<OsString>) -> Result<Vec<OsString>> {
    let Some(cmd_pos) = argv.iter().position(|a| a == "train") else { return Ok(argv) };
    let mut file = None;
    for (i, a) in argv.iter().enumerate().skip(cmd_pos + 1) {
        let s = a.to_string_lossy();
        if s == "--config" {
            file = argv.get(i + 1).cloned();
        } else if let Some(v) = s.strip_prefix("--config=") {
            file = Some(v.into());
        }
    }
    let Some(file) = file else { return Ok(argv) };
    let flags = flags_from_file(Path::new(&file))?;
    let mut out: Vec<OsString> = argv[..=cmd_pos].to_vec();
    out.extend(flags);
    out.extend(argv[cmd_pos + 1..].iter().cloned());
    Ok(out)
}

fn flags_from_file(path: &Path) -> Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    flags_from_toml(&text, path)
}

/// The flags a `--config` file's text stands for (`path` names it in errors).
pub fn flags_from_toml(text: &str, path: &Path) -> Result<Vec<OsString>> {
    let table: toml::Table = toml::from_str(text).with_context(|| format!("config file {}", path.display()))?;
    let cli = Cli::command();
    let Some(train) = cli.find_subcommand("train") else { bail!("no train command") };
    let mut flags = Vec::new();
    for (key, value) in table {
        let long = key.replace('_', "-");
        let arg = train
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
            .with_context(|| format!("config file {}: `{key}` is not a `bertrs-cli train` option", path.display()))?;
        let takes_value = arg.get_action().takes_values();
        let text = match (&value, takes_value) {
            (toml::Value::Boolean(b), false) => {
                if *b {
                    flags.push(format!("--{long}").into());
                }
                continue;
            }
            (toml::Value::String(s), true) => s.clone(),
            (toml::Value::Integer(i), true) => i.to_string(),
            (toml::Value::Float(f), true) => f.to_string(),
            (toml::Value::Boolean(b), true) => b.to_string(),
            (v, _) => bail!("config file {}: `{key}` = {v} is not a valid value for --{long}", path.display()),
        };
        // `--flag=value`: a value that starts with `-` (a negative number, a string like
        // `--overwrite-output-dir`) stays this flag's value and can never become a flag.
        let flag = format!("--{long}={text}");
        check_alone(train, &flag).map_err(|e| anyhow::anyhow!("config file {}: `{key}`: {e}", path.display()))?;
        flags.push(flag.into());
    }
    Ok(flags)
}

/// Parses one flag alone, so that a value clap refuses (out of range, not a number, not
/// one of the choices) is reported as the config file's, not the command line's.
fn check_alone(train: &clap::Command, flag: &str) -> std::result::Result<(), String> {
    use clap::error::ErrorKind;
    match train.clone().try_get_matches_from(["train", flag]) {
        Err(e) if matches!(e.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            Err(first.trim_start_matches("error: ").to_string())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn argv(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    #[test]
    fn file_sets_defaults_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "learning_rate = 3e-5\nepochs = 2\nload-best-model-at-end = true\nmetric_for_best_model = \"accuracy\"\nbatch_size = 16\n").unwrap();
        let p = path.to_str().unwrap();
        let full = expand(argv(&["bertrs-cli", "train", "--config", p, "--batch-size", "8"])).unwrap();
        let crate::args::Command::Train(t) = Cli::parse_from(full).command else { panic!("not train") };
        assert_eq!(t.learning_rate, 3e-5);
        assert_eq!(t.epochs, 2.0);
        assert!(t.load_best_model_at_end);
        assert_eq!(t.metric_for_best_model.as_deref(), Some("accuracy"));
        assert_eq!(t.batch_size, 8, "the command line overrides the file");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        for (body, needle) in [
            ("lerning_rate = 1\n", "`lerning_rate` is not"),
            ("epochs = [1]\n", "not a valid value"),
            ("epochs = \n", "bad.toml"),
            ("learning_rate = -1e-5\n", "`learning_rate`: invalid value '-0.00001'"),
            ("weight_decay = nan\n", "`weight_decay`: invalid value 'NaN'"),
            ("max_grad_norm = inf\n", "`max_grad_norm`: invalid value 'inf'"),
            ("epochs = 0\n", "`epochs`: invalid value '0'"),
            ("warmup_ratio = 1.5\n", "`warmup_ratio`"),
            ("batch_size = 0\n", "`batch_size`"),
            ("seed = -1\n", "`seed`"),
            ("eval_strategy = \"sometimes\"\n", "`eval_strategy`"),
            ("label_delimiter = \"\"\n", "`label_delimiter`"),
        ] {
            std::fs::write(&path, body).unwrap();
            let e = expand(argv(&["bertrs-cli", "train", "--config", path.to_str().unwrap()])).unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.contains(needle) && msg.contains("bad.toml"), "{body:?}: {msg}");
        }
    }

    /// `examples/tutorial.toml` is HF's tutorial recipe, key for key.
    #[test]
    fn the_tutorial_recipe_reads_as_hfs_training_arguments() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tutorial.toml");
        let full = expand(argv(&["bertrs-cli", "train", "--config", path.to_str().unwrap()])).unwrap();
        let crate::args::Command::Train(t) = Cli::parse_from(full).command else { panic!("not train") };
        assert_eq!((t.epochs, t.learning_rate, t.batch_size, t.eval_batch_size, t.weight_decay), (3.0, 2e-5, 16, 16, 0.01));
        assert_eq!((t.eval_strategy, t.save_strategy), (bertrs_train::EvalStrategy::Epoch, bertrs_train::SaveStrategy::Epoch));
        assert_eq!(t.output_dir, std::path::PathBuf::from("runs/tutorial"));
        // Everything else is the default job's: the model, the data, the seed.
        assert_eq!((t.model.as_str(), t.dataset.as_str(), t.seed), ("all-minilm-l6-v2", "rotten-tomatoes", 42));
    }

    #[test]
    fn values_that_look_like_flags_stay_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "model = \"--overwrite-output-dir\"\noutput_dir = \"-o\"\n").unwrap();
        let full = expand(argv(&["bertrs-cli", "train", "--config", path.to_str().unwrap()])).unwrap();
        let crate::args::Command::Train(t) = Cli::parse_from(full).command else { panic!("not train") };
        assert_eq!(t.model, "--overwrite-output-dir");
        assert!(!t.overwrite_output_dir, "a string value never becomes a flag");
        assert_eq!(t.output_dir, std::path::PathBuf::from("-o"));
    }
}
