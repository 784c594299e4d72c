//! Which test binaries `cargo xtask test` runs on which backends (issue 18): tests that touch
//! a backend run on every backend asked for; tests that do not (tokenizer, data files,
//! metrics, file handling, the hub client) run once, in the first backend's pass.
//!
//! Every test binary the workspace builds must be named here: the runner stops at one that
//! is not, so a new test file is never silently run once, or three times.

/// Where one test binary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Backend-free: the first pass only.
    Once,
    /// Every backend asked for.
    Every,
    /// All of it in the first pass; in the others only the tests whose names start with one
    /// of these (libtest's filter), the rest being backend-free.
    Partly(&'static [&'static str]),
}

/// A test binary: its package, and its target (`lib`, `bin`, or an integration test's name).
pub fn scope(package: &str, target: &str) -> Option<Scope> {
    use Scope::*;
    Some(match (package, target) {
        // Files, locks, the tokenizer, the pinned assets and the hub client; the shared
        // types (their tensors are built on flex, explicitly).
        ("bertrs-fs" | "bertrs-tokenizer" | "bertrs-assets" | "bertrs-core", _) => Once,
        // Reading and labelling rows; `batches` builds tensors with burn's `from_data` on
        // the CPU, which is the same host copy on every backend.
        ("bertrs-data", _) => Once,
        // The ops against burn's plain ops (parity), and the dropout mask generator.
        ("bertrs-kernels", "parity") => Every,
        ("bertrs-kernels", "lib") => Partly(&["dropout::"]),
        // The padding-free layout's gathers; config and weight-table parsing are host code.
        ("bertrs-model", "lib") => Partly(&["packing::"]),
        // The training loop (resume, accumulation, best model, early stopping) and the
        // in-place AdamW; schedules, samplers and metrics are host code.
        ("bertrs-train", "loop") => Every,
        ("bertrs-train", "lib") => Partly(&["adamw::"]),
        // The CLI end to end: training, prediction and the HF round trips compute on the
        // backend; option parsing, TOML, the hub and the fault tests (file handling under
        // kill -9 and a full disk) do not.
        ("bertrs-cli", "lib" | "bin" | "faults" | "hub") => Once,
        // Parquet in and out, and predict at scale (a million rows' peak RSS, kill -9 and
        // resume): file handling; the predictions themselves are `predict`'s, on every backend.
        ("bertrs-cli", "parquet" | "predict_at_scale") => Once,
        ("bertrs-cli", "flags" | "hf_roundtrip" | "label_kinds" | "predict" | "resume" | "train") => Every,
        // The HTTP server: its answers against `predict`'s and transformers' on every backend;
        // the protocol (errors, 429, signals, metrics, the Python client, the browser) once.
        ("bertrs-cli", "serve") => Partly(&["predictions_match"]),
        ("bertrs-cli", "hostile") => Partly(&["a_run_whose_weights_overflow", "nan_weights_never_become_a_label"]),
        // Parity with PyTorch and loading weights onto the device.
        ("bertrs-e2e", "tiny_parity" | "minilm_parity" | "optimizer_parity" | "load_errors") => Every,
        ("bertrs-e2e", "lib" | "tokenizer_parity" | "fuzz_replay") => Once,
        ("xtask", _) => Once,
        _ => return None,
    })
}

/// Tests left out on one backend, and why (reported in the summary).
pub fn skipped(backend: &str) -> &'static [(&'static str, &'static str)] {
    match backend {
        // lavapipe runs BERT at a few GFLOP/s: the real-model fine-tune stays on the CPU
        // backends; every parity test (tiny and MiniLM) and `predict` run on wgpu too.
        "wgpu" => &[("short_real_fine_tune", "a real MiniLM fine-tune takes too long on lavapipe (software Vulkan)")],
        _ => &[],
    }
}

/// libtest arguments for one binary in pass `pass` (0 = the first backend), or None when
/// the binary does not run in that pass.
pub fn filters(scope: Scope, pass: usize, backend: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    match scope {
        Scope::Once if pass > 0 => return None,
        Scope::Partly(prefixes) if pass > 0 => args.extend(prefixes.iter().map(|p| p.to_string())),
        _ => {}
    }
    for (name, _) in skipped(backend) {
        args.extend(["--skip".to_string(), name.to_string()]);
    }
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every test file in the workspace has a scope (the runner also refuses an unknown
    /// binary; this catches it without building).
    #[test]
    fn every_test_file_is_classified() {
        let root = crate::root();
        let mut dirs = vec![("bertrs-e2e".to_string(), root.join("tests"))];
        for e in std::fs::read_dir(root.join("crates")).expect("crates/") {
            let crate_dir = e.expect("entry").path();
            // Each crate's directory is named after its package.
            let package = crate_dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            dirs.push((package, crate_dir.join("tests")));
        }
        let mut seen = 0;
        for (package, dir) in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries {
                let path = e.expect("entry").path();
                if path.extension().is_some_and(|x| x == "rs") {
                    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                    assert!(scope(&package, stem).is_some(), "{} has no scope in xtask/src/test_plan.rs", path.display());
                    seen += 1;
                }
            }
        }
        assert!(seen >= 20, "only {seen} test files found: is the walk wrong?");
    }

    #[test]
    fn once_runs_in_the_first_pass_only_and_partly_filters_later_passes() {
        assert_eq!(filters(Scope::Once, 0, "flex"), Some(vec![]));
        assert_eq!(filters(Scope::Once, 1, "tch"), None);
        assert_eq!(filters(Scope::Every, 2, "tch"), Some(vec![]));
        assert_eq!(filters(Scope::Partly(&["packing::"]), 0, "flex"), Some(vec![]));
        assert_eq!(filters(Scope::Partly(&["packing::"]), 1, "tch"), Some(vec!["packing::".to_string()]));
        let wgpu = filters(Scope::Every, 2, "wgpu").expect("runs");
        assert_eq!(wgpu, vec!["--skip".to_string(), "short_real_fine_tune".to_string()]);
    }

    #[test]
    fn unknown_binaries_have_no_scope() {
        assert_eq!(scope("bertrs-cli", "a_new_test_file"), None);
        assert_eq!(scope("some-new-crate", "lib"), None);
        assert_eq!(scope("bertrs-train", "loop"), Some(Scope::Every));
    }
}
