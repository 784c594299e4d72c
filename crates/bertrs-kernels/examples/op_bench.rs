//! The minimal example behind BENCHMARKS.md's per-op table: one MiniLM-sized op at a time,
//! forward at inference and forward + backward under autodiff, in milliseconds (median of
//! `ROUNDS`). `scripts/op_bench.py` times the same ops, shapes and loss in PyTorch.
//!
//! ```text
//! cargo run --release -p bertrs-kernels --example op_bench [-- flex|tch]
//! ```
//!
//! Each autodiff measurement is `(op(x) * r).sum().backward()` with `r` a fixed random
//! tensor, so every op gets a non-trivial upstream gradient; the extra mul + sum is the same
//! on both sides.

use std::time::Instant;

use bertrs_kernels::device::BackendChoice;
use burn::module::Module;
use burn::nn::{LayerNormConfig, LinearConfig};
use burn::tensor::{Device, Distribution, Tensor, activation};

const ROUNDS: usize = 15;
/// A training batch of all-MiniLM-L6-v2 at batch 32 and 48 tokens (Rotten Tomatoes batches
/// pad to ~40-60).
const B: usize = 32;
const S: usize = 48;
const H: usize = 384;
const I: usize = 1536;
const HEADS: usize = 12;

fn median_ms(mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[ROUNDS / 2]
}

/// Forward at inference, and forward + backward under autodiff, of `op` on a tensor of `dims`.
fn time_op<const D: usize>(device: &Device, name: &str, dims: [usize; D], op: impl Fn(Tensor<D>) -> Tensor<D>) {
    // `OP_BENCH_ONLY=softmax` runs the ops whose name contains it (for a profiler).
    if std::env::var("OP_BENCH_ONLY").is_ok_and(|only| !name.contains(&only)) {
        return;
    }
    let x = Tensor::<D>::random(dims, Distribution::Normal(0.0, 1.0), device);
    let fwd = median_ms(|| {
        let _ = op(x.clone()).into_data();
    });
    let ad = device.clone().autodiff();
    let xa = Tensor::<D>::from_data(x.to_data(), &ad).require_grad();
    let r = Tensor::<D>::random(op(x.clone()).dims(), Distribution::Normal(0.0, 1.0), &ad);
    let both = median_ms(|| {
        let grads = (op(xa.clone()) * r.clone()).sum().backward();
        let _ = xa.grad(&grads).map(|g| g.into_data());
    });
    println!("{name:<40} {dims:<22} {fwd:>9.2} {both:>12.2}", dims = format!("{dims:?}"));
}

fn main() {
    let backend = std::env::args().nth(1).map_or(Ok(BackendChoice::Flex), |s| s.parse());
    let device = match backend.and_then(BackendChoice::device) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("op_bench: {e}");
            std::process::exit(2);
        }
    };
    device.seed(0);
    println!("{:<40} {:<22} {:>9} {:>12}", "op", "input", "fwd ms", "fwd+bwd ms");
    let ad = device.clone().autodiff();
    for (i, o) in [(H, H), (H, I), (I, H)] {
        // The layer is built on the autodiff device; `valid()` gives the inference copy.
        let lin = LinearConfig::new(i, o).init(&ad);
        let plain = lin.clone().valid();
        let f = move |x: Tensor<3>| if x.device().is_autodiff() { lin.forward(x) } else { plain.forward(x) };
        time_op(&device, &format!("linear {i}->{o}"), [B, S, i], f);
    }
    // A 3-D input whose length is a multiple of 32: burn's `linear` keeps the batched form
    // (burn-std's MatmulTransformPolicy), whose weight gradient is a batched product summed
    // over the batch. The model's hidden states are 2-D (`[tokens, hidden]`) throughout.
    let lin = LinearConfig::new(H, I).init(&ad);
    let plain = lin.clone().valid();
    time_op(&device, "linear 384->1536, seq 64 (burn, 3-D)", [B, 64, H], move |x| {
        if x.device().is_autodiff() { lin.forward(x) } else { plain.forward(x) }
    });
    let lin = LinearConfig::new(H, I).init(&ad);
    let plain = lin.clone().valid();
    time_op(&device, "linear 384->1536, seq 64 (dense, 2-D)", [B, 64, H], move |x| {
        let [b, s, i] = x.dims();
        let y = if x.device().is_autodiff() { &lin } else { &plain }.forward(x.reshape([b * s, i]));
        let [_, o] = y.dims();
        y.reshape([b, s, o])
    });
    let ln = LayerNormConfig::new(H).with_epsilon(1e-12).init(&ad);
    let ln_plain = ln.clone().valid();
    let ln2 = (ln.clone(), ln_plain.clone());
    time_op(&device, "layer_norm (burn)", [B, S, H], move |x| {
        if x.device().is_autodiff() { ln.forward(x) } else { ln_plain.forward(x) }
    });
    time_op(&device, "layer_norm (bertrs_kernels)", [B, S, H], move |x| {
        let m = if x.device().is_autodiff() { &ln2.0 } else { &ln2.1 };
        bertrs_kernels::layer_norm(m, x, 1e-12)
    });
    time_op(&device, "softmax (burn)", [B, HEADS, S, S], |x| activation::softmax(x, 3));
    time_op(&device, "softmax (bertrs_kernels)", [B, HEADS, S, S], bertrs_kernels::softmax_last);
    time_op(&device, "gelu (burn)", [B, S, I], activation::gelu);
    time_op(&device, "gelu (bertrs_kernels)", [B, S, I], bertrs_kernels::gelu);
    // As the model's Dropout module: the mask only where a backward pass is possible.
    time_op(&device, "dropout 0.1 (bertrs_kernels)", [B, HEADS, S, S], |x| {
        if x.device().is_autodiff() { bertrs_kernels::dropout(x, 0.1) } else { x }
    });
    time_op(&device, "scores q·kᵀ", [B, HEADS, S, H / HEADS], |q| q.clone().matmul(q.swap_dims(2, 3)));
    time_op(&device, "add (residual)", [B, S, H], |x| x.clone() + x);
}
