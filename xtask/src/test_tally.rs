//! What `cargo xtask test` ran, counted once per test (issue 18): libtest prints one
//! `test NAME ... ok|FAILED|ignored` line per test it ran; the summary counts distinct tests
//! (a test run on three backends is one test, three runs) and says why any was not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One test's outcome on one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

/// A libtest result line: the test's name and outcome.
pub fn parse_line(line: &str) -> Option<(&str, Outcome, Option<&str>)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let (outcome, reason) = match result.trim_end() {
        "ok" => (Outcome::Passed, None),
        "FAILED" => (Outcome::Failed, None),
        "ignored" => (Outcome::Ignored, None),
        r => match r.strip_prefix("ignored, ") {
            Some(reason) => (Outcome::Ignored, Some(reason)),
            None => return None,
        },
    };
    Some((name, outcome, reason))
}

/// The number a `test result:` line gives for `N filtered out`.
pub fn filtered_out(line: &str) -> Option<usize> {
    let head = line.strip_prefix("test result: ")?;
    let at = head.find(" filtered out")?;
    head[..at].rsplit(' ').next()?.parse().ok()
}

#[derive(Debug, Default)]
pub struct Tally {
    /// (binary, test) → backend → outcome.
    tests: BTreeMap<(String, String), BTreeMap<String, Outcome>>,
    /// Ignored tests' reasons.
    reasons: BTreeMap<(String, String), String>,
    /// (binary, backend) → tests filtered out, and why.
    filtered: Vec<(String, String, usize, String)>,
    backends: Vec<String>,
}

impl Tally {
    pub fn record(&mut self, binary: &str, backend: &str, line: &str) {
        if let Some((name, outcome, reason)) = parse_line(line) {
            let key = (binary.to_string(), name.to_string());
            if let Some(r) = reason {
                self.reasons.insert(key.clone(), r.to_string());
            }
            self.tests.entry(key).or_default().insert(backend.to_string(), outcome);
            if !self.backends.iter().any(|b| b == backend) {
                self.backends.push(backend.to_string());
            }
        }
    }

    /// Tests a filter left out of a binary's run on a backend, and why.
    pub fn filtered(&mut self, binary: &str, backend: &str, count: usize, why: &str) {
        if count > 0 {
            self.filtered.push((binary.to_string(), backend.to_string(), count, why.to_string()));
        }
    }

    pub fn failed(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ((binary, name), runs) in &self.tests {
            for (backend, o) in runs {
                if *o == Outcome::Failed {
                    out.push(format!("{binary}: {name} on {backend}"));
                }
            }
        }
        out
    }

    /// The summary; its last line is the CI total.
    pub fn summary(&self) -> String {
        let count = |f: &dyn Fn(&BTreeMap<String, Outcome>) -> bool| self.tests.values().filter(|r| f(r)).count();
        let failed = count(&|r| r.values().any(|o| *o == Outcome::Failed));
        let ignored = count(&|r| r.values().all(|o| *o == Outcome::Ignored));
        let passed = self.tests.len() - failed - ignored;
        let mut s = String::new();
        let mut runs = Vec::new();
        for b in &self.backends {
            let n = self.tests.values().filter(|r| r.get(b).is_some_and(|o| *o != Outcome::Ignored)).count();
            runs.push(format!("{b} {n}"));
        }
        let once = count(&|r| r.values().filter(|o| **o != Outcome::Ignored).count() == 1);
        let _ = writeln!(s, "runs per backend: {} ({} tests ran on one backend, {} on several)", runs.join(", "), once, self.tests.len() - once - ignored);
        for (binary, backend, n, why) in &self.filtered {
            let _ = writeln!(s, "filtered: {n} tests of {binary} on {backend}: {why}");
        }
        for ((binary, name), runs) in &self.tests {
            if runs.values().all(|o| *o == Outcome::Ignored) {
                let why = self.reasons.get(&(binary.clone(), name.clone())).map(String::as_str).unwrap_or("no reason given");
                let _ = writeln!(s, "skipped: {binary}: {name}: {why}");
            }
        }
        for f in self.failed() {
            let _ = writeln!(s, "FAILED: {f}");
        }
        let _ = write!(s, "total: {passed} passed, {failed} failed, {ignored} skipped (distinct tests)");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_are_read_and_others_are_not() {
        assert_eq!(parse_line("test split::tests::stable ... ok"), Some(("split::tests::stable", Outcome::Passed, None)));
        assert_eq!(parse_line("test a ... FAILED"), Some(("a", Outcome::Failed, None)));
        assert_eq!(parse_line("test rt ... ignored, needs BERT_REF_PYTHON"), Some(("rt", Outcome::Ignored, Some("needs BERT_REF_PYTHON"))));
        assert_eq!(parse_line("test result: ok. 3 passed; 0 failed"), None);
        assert_eq!(parse_line("running 3 tests"), None);
        assert_eq!(parse_line("test a ... bench"), None);
        assert_eq!(filtered_out("test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 9 filtered out; finished in 0.01s"), Some(9));
        assert_eq!(filtered_out("running 2 tests"), None);
    }

    #[test]
    fn a_test_on_three_backends_counts_once() {
        let mut t = Tally::default();
        for b in ["flex", "tch", "wgpu"] {
            t.record("bertrs-e2e/tiny_parity", b, "test logits_match ... ok");
        }
        t.record("bertrs-data/lib", "flex", "test split::tests::stable ... ok");
        t.record("bertrs-cli/hf_roundtrip", "flex", "test round_trip ... ignored, needs BERT_REF_PYTHON");
        t.filtered("bertrs-train/lib", "tch", 7, "backend-free");
        let s = t.summary();
        assert!(s.ends_with("total: 2 passed, 0 failed, 1 skipped (distinct tests)"), "{s}");
        assert!(s.contains("runs per backend: flex 2, tch 1, wgpu 1 (1 tests ran on one backend, 1 on several)"), "{s}");
        assert!(s.contains("skipped: bertrs-cli/hf_roundtrip: round_trip: needs BERT_REF_PYTHON"), "{s}");
        assert!(s.contains("filtered: 7 tests of bertrs-train/lib on tch: backend-free"), "{s}");
    }

    #[test]
    fn a_failure_on_any_backend_fails_the_test() {
        let mut t = Tally::default();
        t.record("x/loop", "flex", "test resume ... ok");
        t.record("x/loop", "tch", "test resume ... FAILED");
        assert_eq!(t.failed(), vec!["x/loop: resume on tch".to_string()]);
        assert!(t.summary().ends_with("total: 0 passed, 1 failed, 0 skipped (distinct tests)"));
    }
}
