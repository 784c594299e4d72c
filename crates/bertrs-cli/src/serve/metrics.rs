//! `GET /metrics`: Prometheus text exposition of TEI's metric names (`te_request_count`,
//! `te_request_duration`, `te_batch_next_size`, ...), so dashboards made for TEI work.
//! A small registry of counters, one gauge and histograms behind one lock: a handful of
//! updates per request, far from the model's cost.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Seconds: 1 ms to 30 s.
const SECONDS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Counts (inputs, tokens): powers of two up to 64 Ki.
const COUNTS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0, 65536.0];

/// The histograms, with their help text and buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hist {
    RequestDuration,
    TokenizationDuration,
    QueueDuration,
    InferenceDuration,
    InputLength,
    BatchSize,
    BatchTokens,
    BatchInferenceDuration,
}

impl Hist {
    fn describe(self) -> (&'static str, &'static str, &'static [f64]) {
        match self {
            Hist::RequestDuration => ("te_request_duration", "Request duration in seconds, from arrival to answer", SECONDS),
            Hist::TokenizationDuration => ("te_request_tokenization_duration", "Tokenization time of a request in seconds", SECONDS),
            Hist::QueueDuration => ("te_request_queue_duration", "Time an input waited for the model in seconds", SECONDS),
            Hist::InferenceDuration => ("te_request_inference_duration", "Forward pass time of an input's batch in seconds", SECONDS),
            Hist::InputLength => ("te_request_input_length", "Tokens of an input, special tokens included", COUNTS),
            Hist::BatchSize => ("te_batch_next_size", "Inputs in a forward pass", COUNTS),
            Hist::BatchTokens => ("te_batch_next_tokens", "Tokens in a forward pass", COUNTS),
            Hist::BatchInferenceDuration => ("te_batch_inference_duration", "Time of a forward pass in seconds", SECONDS),
        }
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Cumulative counts are computed at render time; these are per bucket (+Inf last).
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Registry {
    /// `(name, labels)` → value; labels already rendered (`method="single"`).
    counters: BTreeMap<(&'static str, String), u64>,
    histograms: BTreeMap<Hist, Histogram>,
    queue_size: i64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Registry>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        // A panic while holding the lock cannot leave a registry half-updated in a way that
        // matters (counts only), so a poisoned lock is used as it is.
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut r)
    }

    /// `name{label="value"}` += 1 (`label` empty: no labels).
    pub fn count(&self, name: &'static str, label: &str, value: &str) {
        let labels = if label.is_empty() { String::new() } else { format!("{label}=\"{value}\"") };
        self.with(|r| *r.counters.entry((name, labels)).or_default() += 1);
    }

    pub fn observe(&self, h: Hist, v: f64) {
        let bounds = h.describe().2;
        self.with(|r| {
            let hist = r.histograms.entry(h).or_default();
            hist.buckets.resize(bounds.len() + 1, 0);
            let i = bounds.iter().position(|&b| v <= b).unwrap_or(bounds.len());
            hist.buckets[i] += 1;
            hist.sum += v;
            hist.count += 1;
        });
    }

    pub fn observe_time(&self, h: Hist, d: Duration) {
        self.observe(h, d.as_secs_f64());
    }

    /// Inputs waiting for the model (`te_queue_size`).
    pub fn queue(&self, delta: i64) {
        self.with(|r| r.queue_size += delta);
    }

    /// The Prometheus text format, version 0.0.4.
    pub fn render(&self) -> String {
        self.with(|r| {
            let mut out = String::new();
            let mut last = "";
            for ((name, labels), v) in &r.counters {
                if *name != last {
                    let _ = writeln!(out, "# TYPE {name} counter");
                    last = name;
                }
                let _ = if labels.is_empty() { writeln!(out, "{name} {v}") } else { writeln!(out, "{name}{{{labels}}} {v}") };
            }
            let _ = writeln!(out, "# HELP te_queue_size Inputs waiting for the model\n# TYPE te_queue_size gauge\nte_queue_size {}", r.queue_size);
            for (h, hist) in &r.histograms {
                let (name, help, bounds) = h.describe();
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
                let mut cumulative = 0;
                for (i, n) in hist.buckets.iter().enumerate() {
                    cumulative += n;
                    let le = bounds.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                let _ = writeln!(out, "{name}_sum {}\n{name}_count {}", hist.sum, hist.count);
            }
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauge_and_cumulative_buckets() {
        let m = Metrics::default();
        m.count("te_request_count", "method", "single");
        m.count("te_request_count", "method", "single");
        m.count("te_request_count", "method", "batch");
        m.observe(Hist::BatchSize, 3.0);
        m.observe(Hist::BatchSize, 100_000.0);
        m.queue(2);
        m.queue(-1);
        let text = m.render();
        assert_eq!(text.matches("# TYPE te_request_count counter").count(), 1, "{text}");
        assert!(text.contains("te_request_count{method=\"single\"} 2\n"), "{text}");
        assert!(text.contains("te_request_count{method=\"batch\"} 1\n"), "{text}");
        assert!(text.contains("te_queue_size 1\n"), "{text}");
        assert!(text.contains("te_batch_next_size_bucket{le=\"2\"} 0\n"), "{text}");
        assert!(text.contains("te_batch_next_size_bucket{le=\"4\"} 1\n"), "{text}");
        assert!(text.contains("te_batch_next_size_bucket{le=\"65536\"} 1\n"), "{text}");
        assert!(text.contains("te_batch_next_size_bucket{le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("te_batch_next_size_sum 100003\nte_batch_next_size_count 2\n"), "{text}");
    }
}
