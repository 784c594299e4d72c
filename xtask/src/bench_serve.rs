//! `cargo xtask bench-serve`: `bertrs-cli serve` under load (issue 15), against
//! `bertrs-cli predict`'s batch throughput on the same sentences, in one run on one machine.
//!
//! The load generator is ours (no oha to build): N client threads, each on its own
//! keep-alive HTTP/1.1 connection, each sending single-sentence `POST /predict` requests
//! drawn in turn from the Rotten Tomatoes dev split, as fast as answers come back (a closed
//! loop). Traffic goes to 127.0.0.1 only and is bounded in count and time. It reports
//! throughput, p50/p99 latency and errors per concurrency, and the server's peak RSS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::bench::{cpu_model, number_before, simd_level};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The classifier to serve (an HF directory; e.g. the quick start's `runs/bert-classifier`).
    #[arg(long, default_value = "runs/bert-classifier")]
    model: PathBuf,
    /// Concurrent clients, one level after another.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Requests sent at each level (at least one pass over the 981 dev sentences).
    #[arg(long, default_value_t = 1962)]
    requests: usize,
    /// Longest time a level may take, in seconds (it stops sending then).
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

pub fn run(args: Args) -> Result<()> {
    let root = crate::root();
    let model = if args.model.is_absolute() { args.model.clone() } else { root.join(&args.model) };
    if !model.join("config.json").is_file() {
        bail!("{}: no model there; run the quick start (`cargo run --release -p bertrs-cli -- train`) or pass --model DIR", model.display());
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    eprintln!("CPU: {}, {cores} cores, GEMM SIMD level: {}", cpu_model(), simd_level());
    let mut build = crate::cargo();
    build.args(["build", "--release", "--locked", "-p", "bertrs-cli"]);
    build.env_remove("CARGO_TARGET_DIR").env("CARGO_TARGET_DIR", root.join("target"));
    crate::status(build)?;
    let exe = root.join("target/release/bertrs-cli");

    let sentences: Vec<String> = bertrs_data::rotten_tomatoes::load()?.validation.into_iter().map(|s| s.text).collect();
    let work = tempdir()?;
    let dev = work.join("dev.jsonl");
    std::fs::write(&dev, sentences.iter().map(|s| json!({ "text": s }).to_string() + "\n").collect::<String>())?;

    // The batch baseline: `predict` over the same sentences, batch 32, the model load
    // excluded; run before and after each load level (this machine's speed drifts by 20%
    // over minutes, so each level is compared with the predict runs beside it).
    let predict = || -> Result<f64> {
        let mut c = Command::new(&exe);
        c.args(["predict", "--model"]).arg(&model).arg("--input").arg(&dev).arg("--output").arg(work.join("out.jsonl"));
        let run = crate::bench::run_measured(c, "bertrs-cli predict (batch 32)")?;
        number_before(&run.output, " examples/s").context("no examples/s in predict's output")
    };
    let mut server = Command::new(&exe).args(["serve", "--port", "0", "--model"]).arg(&model).stdin(Stdio::null()).stderr(Stdio::piped()).spawn().context("cannot start serve")?;
    let result = (|| -> Result<Vec<Level>> {
        let addr = listening_addr(&mut server)?;
        // Warm-up: the allocator and the first batch shapes.
        let _ = load(&addr, &sentences, 4, 200, Duration::from_secs(30))?;
        let mut levels = Vec::new();
        let mut before = predict()?;
        for &c in &args.clients {
            let batches_before = batches(&addr)?;
            let mut l = load(&addr, &sentences, c, args.requests, Duration::from_secs(args.max_seconds))?;
            let batches_after = batches(&addr)?;
            l.mean_batch = (batches_after.0 - batches_before.0) / (batches_after.1 - batches_before.1).max(1.0);
            l.busy = (batches_after.2 - batches_before.2) / l.wall;
            let after = predict()?;
            l.predict = (before + after) / 2.0;
            before = after;
            eprintln!(
                "{c:>3} clients: {:.1} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors of {}, mean batch {:.1}, model busy {:.0}%; predict beside it {:.1}/s ({:.2}x)",
                l.throughput, l.p50_ms, l.p99_ms, l.errors, l.sent, l.mean_batch, l.busy * 100.0, l.predict, l.throughput / l.predict
            );
            levels.push(l);
        }
        Ok(levels)
    })();
    let peak_rss = std::fs::read_to_string(format!("/proc/{}/status", server.id()))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kib| kib / 1024.0);
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&work);
    let levels = result?;

    println!("\nMachine: {}, {cores} cores, GEMM SIMD level {}; model: {}", cpu_model(), simd_level(), model.display());
    println!("Single-sentence requests drawn from the {} dev sentences; `predict` (batch 32) on the same sentences, run before and after each level\n", sentences.len());
    println!("| clients | requests | throughput (req/s) | predict beside it (sentences/s) | ratio | p50 (ms) | p99 (ms) | errors | mean batch | model busy |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for l in &levels {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.2}x | {:.1} | {:.1} | {} | {:.1} | {:.0}% |",
            l.clients, l.sent, l.throughput, l.predict, l.throughput / l.predict, l.p50_ms, l.p99_ms, l.errors, l.mean_batch, l.busy * 100.0
        );
    }
    match peak_rss {
        Some(mib) => println!("\nserver peak RSS: {mib:.0} MiB"),
        None => println!("\nserver peak RSS: not readable (no /proc)"),
    }
    Ok(())
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("bertrs-bench-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Reads serve's stderr until it says where it listens; the rest is drained by a thread.
fn listening_addr(server: &mut std::process::Child) -> Result<String> {
    let mut lines = BufReader::new(server.stderr.take().context("no stderr")?).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(at) = line.find(" on http://") {
            let addr = line[at + 11..].split_whitespace().next().unwrap_or_default().to_string();
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(addr);
        }
    }
    bail!("serve exited before listening")
}

/// The server's `te_batch_next_size` sum and count (inputs per forward pass) and its
/// `te_batch_inference_duration` sum (seconds the model computed).
fn batches(addr: &str) -> Result<(f64, f64, f64)> {
    let mut conn = Conn::open(addr)?;
    let text = conn.get("/metrics")?;
    let value = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok()).unwrap_or(0.0);
    Ok((value("te_batch_next_size_sum"), value("te_batch_next_size_count"), value("te_batch_inference_duration_sum")))
}

struct Level {
    clients: usize,
    mean_batch: f64,
    /// `predict`'s sentences/s, the mean of the runs before and after this level.
    predict: f64,
    wall: f64,
    /// The share of the wall time the model was computing.
    busy: f64,
    sent: usize,
    errors: usize,
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `total` requests from `clients` closed-loop clients; stops early at `max`.
fn load(addr: &str, sentences: &[String], clients: usize, total: usize, max: Duration) -> Result<Level> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let per_client: Vec<Result<(Vec<f64>, usize)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let next = &next;
                s.spawn(move || -> Result<(Vec<f64>, usize)> {
                    let mut conn = Conn::open(addr)?;
                    let (mut latencies, mut errors) = (Vec::new(), 0);
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= total || start.elapsed() > max {
                            return Ok((latencies, errors));
                        }
                        let body = json!({ "inputs": sentences[i % sentences.len()] }).to_string();
                        let t = Instant::now();
                        match conn.post("/predict", &body) {
                            Ok(200) => latencies.push(t.elapsed().as_secs_f64() * 1e3),
                            Ok(_) => errors += 1,
                            Err(_) => {
                                errors += 1;
                                conn = Conn::open(addr)?;
                            }
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a client thread panicked")))).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for r in per_client {
        let (l, e) = r?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN);
    Ok(Level { clients, mean_batch: 0.0, predict: f64::NAN, wall, busy: f64::NAN, sent: latencies.len() + errors, errors, throughput: latencies.len() as f64 / wall, p50_ms: pct(0.5), p99_ms: pct(0.99) })
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    fn open(addr: &str) -> Result<Conn> {
        let s = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn { stream: BufReader::new(s), host: addr.to_string() })
    }

    /// Sends a JSON body; reads the whole answer; returns its status.
    fn post(&mut self, path: &str, body: &str) -> Result<u16> {
        let req = format!("POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", self.host, body.len());
        Ok(self.exchange(&req)?.0)
    }

    /// A GET's body.
    fn get(&mut self, path: &str) -> Result<String> {
        let req = format!("GET {path} HTTP/1.1\r\nhost: {}\r\n\r\n", self.host);
        Ok(String::from_utf8_lossy(&self.exchange(&req)?.1).into_owned())
    }

    /// Writes a request; reads the status and the whole body.
    fn exchange(&mut self, req: &str) -> Result<(u16, Vec<u8>)> {
        self.stream.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).with_context(|| format!("bad status line {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                bail!("connection closed");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        let mut buf = vec![0; length];
        self.stream.read_exact(&mut buf)?;
        Ok((status, buf))
    }
}
