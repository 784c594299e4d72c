//! `curves.svg`: two panels from the log history, what TensorBoard would show for an HF run:
//! the training and validation loss by step, and the validation metric by step (accuracy,
//! subset accuracy for multi-label, MSE for regression). Plain SVG, no plotting dependency.
//!
//! Axes get "nice" ticks (1, 2 or 5 times a power of ten, as matplotlib's default locator
//! picks), a score that lives in [0, 1] keeps its axis there, and a series with few points
//! shows each point's value (the default job evaluates once, at its last step).

use std::fmt::Write;

use bertrs_train::LogEntry;

const W: f64 = 440.0;
const H: f64 = 280.0;
/// The plot area's margins inside a panel.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 52.0;
const BOTTOM: f64 = 44.0;
/// Series with at most this many points get their values written beside them.
const LABELLED: usize = 5;

/// A drawn series: name, colour and (step, value) points.
struct Series<'a> {
    name: &'a str,
    color: &'a str,
    points: Vec<(f64, f64)>,
    /// Drawn as a line (many points) or as dots only.
    line: bool,
}

/// The tick step for about `n` intervals over `span`: 1, 2 or 5 times a power of ten.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(f64::MIN_POSITIVE);
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let k = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// An axis range with nice ends around `lo..hi`, inside `bounds` when given, and its ticks.
fn axis(lo: f64, hi: f64, bounds: Option<(f64, f64)>) -> (f64, f64, Vec<f64>) {
    let (lo, hi) = if hi - lo < 1e-12 {
        let d = if lo.abs() > 1e-12 { lo.abs() * 0.1 } else { 0.1 };
        (lo - d, hi + d)
    } else {
        (lo, hi)
    };
    let step = nice_step(hi - lo, 4.0);
    let (mut a, mut b) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    if let Some((min, max)) = bounds {
        (a, b) = (a.max(min), b.min(max));
    }
    let first = (a / step).ceil() as i64;
    let last = (b / step + 1e-9).floor() as i64;
    let ticks = (first..=last).map(|k| k as f64 * step).collect();
    (a, b, ticks)
}

/// A tick label with as many decimals as the step needs (none for whole steps).
fn tick_label(v: f64, step: f64) -> String {
    let decimals = (-step.log10() - 1e-9).ceil().max(0.0) as usize;
    format!("{v:.decimals$}")
}

fn panel(out: &mut String, x0: f64, title: &str, series: &[Series], max_step: f64, bounds: Option<(f64, f64)>) {
    let _ = write!(out, r#"<g transform="translate({x0},0)"><text x="{}" y="22" text-anchor="middle" font-weight="bold">{title}</text>"#, W / 2.0);
    let (x1, x2, y1, y2) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
    let _ = write!(out, r##"<rect x="{x1}" y="{y1}" width="{}" height="{}" fill="none" stroke="#444"/>"##, x2 - x1, y2 - y1);
    let values: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="middle" fill="gray">no data</text></g>"#, W / 2.0, H / 2.0);
        return;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (ya, yb, yticks) = axis(lo, hi, bounds);
    let (_, _, xticks) = axis(0.0, max_step, Some((0.0, max_step)));
    // 4% of room at the right, so a point at the last step is not drawn on the frame.
    let sx = |s: f64| x1 + (x2 - x1) * s / (max_step.max(1.0) * 1.04);
    let sy = |v: f64| y2 - (y2 - y1) * (v - ya) / (yb - ya);
    let ystep = if yticks.len() > 1 { yticks[1] - yticks[0] } else { (yb - ya).max(1e-12) };
    for &v in &yticks {
        let y = sy(v);
        let _ = write!(
            out,
            r##"<line x1="{x1}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#ddd"/><text class="tick-y" x="{}" y="{:.1}" text-anchor="end" font-size="10">{}</text>"##,
            x1 - 4.0,
            y + 3.0,
            tick_label(v, ystep)
        );
    }
    let xstep = if xticks.len() > 1 { xticks[1] - xticks[0] } else { 1.0 };
    for &s in &xticks {
        let x = sx(s);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{y2}" x2="{x:.1}" y2="{}" stroke="#444"/><text class="tick-x" x="{x:.1}" y="{}" text-anchor="middle" font-size="10">{}</text>"##,
            y2 + 4.0,
            y2 + 16.0,
            tick_label(s, xstep)
        );
    }
    let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="middle" font-size="11">step</text>"#, (x1 + x2) / 2.0, H - 10.0);
    for (k, s) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(|p| p.1.is_finite()).collect();
        if s.line && pts.len() > 1 {
            let line: Vec<String> = pts.iter().map(|&(a, v)| format!("{:.1},{:.1}", sx(a), sy(v))).collect();
            let _ = write!(out, r#"<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>"#, s.color, line.join(" "));
        }
        for &(a, v) in &pts {
            let r = if s.line && pts.len() > LABELLED { 1.8 } else { 3.5 };
            let _ = write!(out, r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{}"><title>{} at step {a}: {v:.4}</title></circle>"#, sx(a), sy(v), s.color, s.name);
            if pts.len() <= LABELLED {
                // Left of the point, so a value at the last step stays inside the panel.
                let _ = write!(out, r#"<text class="value" x="{:.1}" y="{:.1}" text-anchor="end" font-size="10" fill="{}">{v:.4}</text>"#, sx(a) - 6.0, sy(v) - 6.0, s.color);
            }
        }
        // The legend, in a row between the title and the frame, where no point can be.
        let lx = x1 + series[..k].iter().map(|s| 34.0 + 6.0 * s.name.len() as f64).sum::<f64>();
        let ly = TOP - 12.0;
        let _ = write!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{}" stroke-width="2"/><text x="{}" y="{}" font-size="10">{}</text>"#,
            lx + 14.0,
            s.color,
            lx + 18.0,
            ly + 3.0,
            s.name
        );
    }
    out.push_str("</g>");
}

/// The validation metric to plot: the first of the evaluation rows' named values
/// (`accuracy`, `subset_accuracy` or `mse`), and whether it is a score in [0, 1].
fn main_metric(history: &[LogEntry]) -> Option<(String, bool)> {
    let (name, _) = history.iter().find_map(|e| e.eval_metrics().next())?;
    let bounded = name != "mse";
    let name = if name == "subset_accuracy" { "accuracy" } else { name };
    Some((name.to_string(), bounded))
}

/// The SVG document for a run's log history.
pub fn svg(history: &[LogEntry]) -> String {
    let train_loss: Vec<(f64, f64)> = history.iter().filter_map(|e| Some((e.step as f64, e.loss?))).collect();
    let eval_loss: Vec<(f64, f64)> = history.iter().filter_map(|e| Some((e.step as f64, e.eval_loss?))).collect();
    let metric = main_metric(history);
    let scores: Vec<(f64, f64)> = match &metric {
        Some((name, _)) => history.iter().filter_map(|e| Some((e.step as f64, e.metric(name)?))).collect(),
        None => Vec::new(),
    };
    let max_step = history.iter().map(|e| e.step).max().unwrap_or(1) as f64;
    let mut out = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{H}" font-family="sans-serif" font-size="12">"#, 2.0 * W);
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    let losses = [
        Series { name: "training", color: "#1f77b4", points: train_loss, line: true },
        Series { name: "validation", color: "#ff7f0e", points: eval_loss, line: true },
    ];
    panel(&mut out, 0.0, "loss", &losses, max_step, Some((0.0, f64::INFINITY)));
    let (title, bounds) = match &metric {
        Some((name, true)) => (format!("validation {name}"), Some((0.0, 1.0))),
        Some((name, false)) => (format!("validation {name}"), Some((0.0, f64::INFINITY))),
        None => ("validation accuracy".to_string(), None),
    };
    let name = metric.as_ref().map_or("accuracy", |m| m.0.as_str());
    panel(&mut out, W, &title, &[Series { name, color: "#d62728", points: scores, line: true }], max_step, bounds);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bertrs_train::{ClassificationMetrics, EvalMetrics, RegressionMetrics};

    fn texts<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
        let open = format!(r#"class="{class}""#);
        svg.split(&open).skip(1).filter_map(|s| Some(s.split_once('>')?.1.split_once('<')?.0)).collect()
    }

    fn numbers(svg: &str, class: &str) -> Vec<f64> {
        texts(svg, class).iter().map(|t| t.parse().unwrap()).collect()
    }

    fn accuracy(acc: f64) -> EvalMetrics {
        EvalMetrics::Classification(ClassificationMetrics {
            accuracy: acc,
            f1_macro: acc,
            f1_micro: acc,
            precision_macro: acc,
            recall_macro: acc,
            matthews_correlation: 0.6,
            f1_per_class: vec![],
            confusion: vec![],
        })
    }

    /// The default job: a training row every 10 steps to 320, one evaluation at step 327.
    #[test]
    fn the_default_jobs_curves_have_nice_axes_and_a_labelled_evaluation() {
        let mut h: Vec<LogEntry> = (1..=32).map(|k| LogEntry::training(10 * k, k as f64 / 32.7, 0.7 - 0.008 * k as f64, 5e-5, 3.0)).collect();
        h.push(LogEntry::evaluation(327, 1.0, 0.43, &accuracy(0.8175)));
        let s = svg(&h);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        // Steps: multiples of 100 (not 82, 164, 245), both panels.
        assert_eq!(numbers(&s, "tick-x"), [0.0, 100.0, 200.0, 300.0, 0.0, 100.0, 200.0, 300.0]);
        // The accuracy axis stays in [0, 1] around its one point, with a nice step.
        let acc_panel = s.split("validation accuracy").nth(1).unwrap();
        let acc_ticks = numbers(acc_panel, "tick-y");
        assert!(acc_ticks.iter().all(|v| (0.0..=1.0).contains(v)) && acc_ticks.len() >= 2, "{acc_ticks:?}");
        let step = acc_ticks[1] - acc_ticks[0];
        assert!([0.01, 0.02, 0.05, 0.1, 0.2].iter().any(|n| (step - n).abs() < 1e-9), "{step}");
        assert!(acc_ticks.first().unwrap() <= &0.8175 && acc_ticks.last().unwrap() >= &0.8175);
        // The lone evaluation is labelled with its value; the validation loss is drawn too.
        assert_eq!(texts(acc_panel, "value"), ["0.8175"]);
        assert!(s.contains("validation at step 327: 0.4300"), "the eval loss point");
        let loss_panel = s.split("validation accuracy").next().unwrap();
        let loss_ticks = numbers(loss_panel, "tick-y");
        assert!(loss_ticks.first().unwrap() <= &0.43 && loss_ticks.last().unwrap() >= &0.692, "{loss_ticks:?}");
        assert_eq!(s.matches("<polyline").count(), 1, "one line: the 32 training losses");
    }

    #[test]
    fn regression_plots_the_mse_and_no_evaluation_says_so() {
        let m = EvalMetrics::Regression(RegressionMetrics { mse: 2.5, pearson: 0.3, spearman: 0.2 });
        let h = vec![LogEntry::training(5, 0.5, 3.0, 1e-5, 1.0), LogEntry::evaluation(10, 1.0, 2.5, &m)];
        let s = svg(&h);
        assert!(s.contains("validation mse"));
        assert_eq!(numbers(&s, "tick-x").first(), Some(&0.0));
        let s = svg(&[LogEntry::training(10, 0.5, 0.7, 1e-5, 1.0), LogEntry::training(20, 1.0, 0.5, 1e-5, 1.0)]);
        assert!(s.contains("no data"), "no evaluation yet: the metric panel says so");
    }

    #[test]
    fn ticks_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(axis(0.0, 327.0, Some((0.0, 327.0))).2, [0.0, 100.0, 200.0, 300.0]);
        assert_eq!(axis(0.0, 40.0, None).2, [0.0, 10.0, 20.0, 30.0, 40.0]);
        let (a, b, t) = axis(0.8175, 0.8175, Some((0.0, 1.0)));
        assert!(a <= 0.8175 && b >= 0.8175 && a >= 0.0 && b <= 1.0, "{a} {b} {t:?}");
        let (a, b, _) = axis(0.95, 0.99, Some((0.0, 1.0)));
        assert!(b <= 1.0 && a >= 0.9, "{a} {b}");
        assert_eq!(tick_label(0.75, 0.05), "0.75");
        assert_eq!(tick_label(0.8, 0.1), "0.8");
        assert_eq!(tick_label(200.0, 100.0), "200");
    }
}
