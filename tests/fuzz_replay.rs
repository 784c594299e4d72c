//! Every committed fuzz input, replayed on stable in every test run (issue 14): the seed
//! corpus (`fuzz/corpus/<target>/`) and each crash the fuzzers found
//! (`fuzz/regressions/<target>/`, kept after its fix). The target bodies are the fuzzers'
//! own (`fuzz/targets.rs`); a panic names the file that caused it.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

#[test]
fn every_committed_fuzz_input_is_handled_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for target in targets::TARGETS {
        let mut files = Vec::new();
        for kind in ["corpus", "regressions"] {
            if let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) {
                files.extend(dir.flatten().map(|e| e.path()));
            }
        }
        assert!(!files.is_empty(), "no seed inputs for `{target}`");
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if std::panic::catch_unwind(|| targets::run(target, &data)).is_err() {
                panic!("fuzz target `{target}` panicked on {}", file.display());
            }
            replayed += 1;
        }
    }
    eprintln!("{replayed} fuzz inputs replayed");
}
