//! `curves.svg`: the training loss and the validation accuracy by step, two panels side by
//! side, from the log history (what TensorBoard would show for an HF run). Plain SVG, no
//! plotting dependency.

use std::fmt::Write;

use bert_train::LogEntry;

const W: f64 = 420.0;
const H: f64 = 260.0;
const PAD: f64 = 48.0;

/// One panel: a titled line chart of (step, value) points.
fn panel(out: &mut String, x0: f64, title: &str, color: &str, points: &[(f64, f64)], max_step: f64) {
    let _ = write!(out, r#"<g transform="translate({x0},0)"><text x="{}" y="20" text-anchor="middle" font-weight="bold">{title}</text>"#, W / 2.0);
    let (px, py) = (PAD, H - PAD);
    let _ = write!(out, r#"<line x1="{px}" y1="{py}" x2="{}" y2="{py}" stroke="black"/><line x1="{px}" y1="{py}" x2="{px}" y2="30" stroke="black"/>"#, W - 10.0);
    if points.is_empty() {
        let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="middle" fill="gray">no data</text></g>"#, W / 2.0, H / 2.0);
        return;
    }
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi - lo < 1e-9 { (lo - 0.5, hi + 0.5) } else { (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)) };
    let sx = |s: f64| px + (W - 10.0 - px) * s / max_step.max(1.0);
    let sy = |v: f64| py - (py - 30.0) * (v - lo) / (hi - lo);
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let s = max_step * k as f64 / 4.0;
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="10">{v:.3}</text><text x="{}" y="{}" text-anchor="middle" font-size="10">{s:.0}</text>"#,
            px - 4.0,
            sy(v) + 3.0,
            sx(s),
            py + 14.0
        );
    }
    let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="middle" font-size="11">step</text>"#, W / 2.0, H - 12.0);
    let line: Vec<String> = points.iter().map(|&(s, v)| format!("{:.1},{:.1}", sx(s), sy(v))).collect();
    let _ = write!(out, r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#, line.join(" "));
    for &(s, v) in points {
        let _ = write!(out, r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"><title>step {s}: {v:.4}</title></circle>"#, sx(s), sy(v));
    }
    out.push_str("</g>");
}

/// The SVG document for a run's log history.
pub fn svg(history: &[LogEntry]) -> String {
    let loss: Vec<(f64, f64)> = history.iter().filter_map(|e| Some((e.step as f64, e.loss?))).collect();
    let acc: Vec<(f64, f64)> = history.iter().filter_map(|e| Some((e.step as f64, e.eval.as_ref()?.accuracy))).collect();
    let max_step = history.iter().map(|e| e.step).max().unwrap_or(1) as f64;
    let mut out = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{H}" font-family="sans-serif" font-size="12">"#, 2.0 * W);
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    panel(&mut out, 0.0, "training loss", "#1f77b4", &loss, max_step);
    panel(&mut out, W, "validation accuracy", "#d62728", &acc, max_step);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(step: usize, loss: Option<f64>) -> LogEntry {
        LogEntry { step, epoch: 0.0, loss, learning_rate: None, grad_norm: None, eval_loss: None, eval: None, eval_multilabel: None, eval_regression: None }
    }

    #[test]
    fn one_point_per_logged_step() {
        let h = vec![entry(10, Some(0.7)), entry(20, Some(0.5)), entry(30, Some(0.4))];
        let s = svg(&h);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<circle").count(), 3);
        assert!(s.contains("no data"), "no evaluation yet: the accuracy panel says so");
        assert!(s.contains("step 20: 0.5000"));
    }
}
