//! glibc's malloc tuned for tensor work, set before anything is allocated.
//!
//! By default glibc serves every block above its mmap threshold (128 KiB, raised dynamically
//! up to 32 MiB) with a fresh `mmap` and returns it on `free`, and trims the heap top; a BERT
//! step allocates and frees activations and gradients of 1–30 MB by the hundred, so each one
//! faults its pages in again. With the threshold at its maximum (32 MiB) and no trimming,
//! freed memory is reused: measured on `predict` (flex, batch 64) 135 → 165–180 examples/s and
//! on training +6% (flex) / +8% (libtorch, whose in-place optimizer allocates too), with peak
//! memory unchanged at the scale of BENCHMARKS.md (a 2-core AMD EPYC). glibc reads these
//! settings only at start-up (`GLIBC_TUNABLES`), and setting them in-process needs `mallopt`
//! (unsafe FFI, which this workspace forbids), so `bertrs-cli` re-executes itself once with
//! them added. `BERT_MALLOC=system` keeps glibc's defaults.

/// glibc's maximum mmap threshold on 64-bit targets (`DEFAULT_MMAP_THRESHOLD_MAX`; larger
/// values are refused), and a trim threshold (1 TiB) no heap reaches (glibc drops a tunable
/// whose value it cannot parse, `SIZE_MAX` among them).
const TUNABLES: &str = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1099511627776";
/// Set in the re-executed process, so it happens once.
const DONE: &str = "BERT_MALLOC_TUNED";

/// Re-executes this program with the tunables; returns only when that is not wanted or not
/// possible (then the run goes on with glibc's defaults).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(DONE).is_some() || std::env::var_os("BERT_MALLOC").is_some_and(|v| v == "system") {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let tunables = match std::env::var("GLIBC_TUNABLES") {
        // The user's own settings come last, so they win.
        Ok(own) if !own.is_empty() => format!("{TUNABLES}:{own}"),
        _ => TUNABLES.to_string(),
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1)).env("GLIBC_TUNABLES", tunables).env(DONE, "1");
    if let Some(arg0) = std::env::args_os().next() {
        cmd.arg0(arg0);
    }
    // `exec` returns only on failure; the run then continues untuned.
    let _ = cmd.exec();
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}
