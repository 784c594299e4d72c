//! A kill switch for fault tests (issue 18): with `BERT_KILL_AT=N` the process is killed
//! with SIGKILL at the N-th fault point it passes, so a test reaches any point of a run
//! from a seed and the same seed reaches it again; `BERT_KILL_AT=NAME:N` at the N-th point
//! of that name (`optimizer step:25`); `BERT_KILL_AT=trace` prints each point to stderr
//! instead (`fault point N: NAME`), which is how a test learns how many there are.
//!
//! The points are the steps of every durable write here (each write into a temporary file,
//! its sync, the rename, a directory's rename away and deletion) and whatever callers add
//! (`bertrs-train`: each optimizer step). Unset, a point costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable read once, at the first point.
pub const KILL_AT: &str = "BERT_KILL_AT";

enum Mode {
    Off,
    Trace,
    /// The n-th point (of this name, if any).
    KillAt(Option<String>, u64),
}

static MODE: OnceLock<Mode> = OnceLock::new();
static PASSED: AtomicU64 = AtomicU64::new(0);

fn mode() -> &'static Mode {
    MODE.get_or_init(|| match std::env::var(KILL_AT).ok().as_deref().map(str::trim) {
        None | Some("") => Mode::Off,
        Some("trace") => Mode::Trace,
        Some(spec) => {
            let (name, n) = match spec.rsplit_once(':') {
                Some((name, n)) => (Some(name.to_string()), n),
                None => (None, spec),
            };
            match n.parse() {
                Ok(n) => Mode::KillAt(name, n),
                Err(_) => {
                    eprintln!("warning: {KILL_AT}={spec:?} is neither `trace`, N nor NAME:N; ignored");
                    Mode::Off
                }
            }
        }
    })
}

/// A fault point named `name` (for the trace).
pub fn point(name: &str) {
    match mode() {
        Mode::Off => {}
        Mode::Trace => eprintln!("fault point {}: {name}", PASSED.fetch_add(1, Ordering::SeqCst) + 1),
        Mode::KillAt(only, at) => {
            if only.as_deref().is_none_or(|o| o == name) && PASSED.fetch_add(1, Ordering::SeqCst) + 1 == *at {
                kill_self()
            }
        }
    }
}

/// SIGKILL to this process (through kill(1): the workspace has no unsafe code), as abrupt
/// as a crash or an OOM kill: no destructor runs, no buffer is flushed, temporary files stay.
fn kill_self() -> ! {
    let _ = std::process::Command::new("kill").args(["-KILL", &std::process::id().to_string()]).status();
    // Without kill(1): an abort is as abrupt for the files (no destructor, no flush).
    std::process::abort()
}
