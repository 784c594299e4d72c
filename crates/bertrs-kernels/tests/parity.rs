//! Each kernel against burn's plain ops (or an f64 reference) on the backend under test
//! (`BERT_TEST_BACKEND`; `cargo xtask test` runs this file on every backend it tests): values,
//! and under autodiff the gradients, within 1e-5. Each test also checks which kernels the
//! tensors took, so a backend silently falling back to the generic path is seen.

use bertrs_kernels::device::BackendChoice;
use bertrs_kernels::{Kernels, adamw, clip, rows};
use burn::nn::LayerNormConfig;
use burn::optim::{AdamWConfig, Optimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

const TOL: f32 = 1e-5;

fn backend() -> BackendChoice {
    BackendChoice::under_test().unwrap_or_else(|e| panic!("BERT_TEST_BACKEND: {e}"))
}

fn device() -> Device {
    backend().device().unwrap_or_else(|e| panic!("{e}"))
}

/// The kernels this backend's f32 tensors must take.
fn expected_kernels() -> Kernels {
    match backend() {
        BackendChoice::Flex => Kernels::Flex,
        BackendChoice::Tch | BackendChoice::TchCuda(_) => Kernels::Tch,
        BackendChoice::Wgpu => Kernels::Generic,
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_else(|e| panic!("{e:?}"))
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (i, d) = got.iter().zip(want).map(|(a, b)| (a - b).abs()).enumerate().fold((0, 0f32), |m, (i, d)| if d > m.1 || d.is_nan() { (i, d) } else { m });
    assert!(d <= tol, "{what}: max |diff| {d:e} at {i} ({} vs {})", got[i], want[i]);
}

/// The device's generator is one per process and the tests run on several threads: a test
/// that seeds it and draws twice holds this lock, and every other draw takes it too, so no
/// draw of another test falls between the seed and its draws.
static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn generator() -> std::sync::MutexGuard<'static, ()> {
    GENERATOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    let _draw = generator();
    Tensor::random(shape, Distribution::Normal(0.0, 2.0), device)
}

#[test]
fn tensors_take_their_backends_kernels() {
    let device = device();
    let x = random([3, 4], &device);
    assert_eq!(Kernels::of(&x), expected_kernels());
    assert_eq!(Kernels::of(&random([3, 4], &device.clone().autodiff())), expected_kernels());
}

/// erf by its Maclaurin series (|x| ≤ 6 converges in f64 well below f32 precision).
fn erf(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..400 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// HF's exact GELU and its derivative Φ(x) + x φ(x), in f64; the training path (autodiff)
/// and the inference path (plain) both.
#[test]
fn gelu_and_its_gradient_are_exact() {
    let xs: Vec<f32> = (0..121).map(|i| -6.0 + i as f32 * 0.1).collect();
    let cdf = |x: f64| 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
    let want_y: Vec<f32> = xs.iter().map(|&x| (x as f64 * cdf(x as f64)) as f32).collect();
    let want_dy: Vec<f32> = xs
        .iter()
        .map(|&x| {
            let x = x as f64;
            (cdf(x) + x * (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()) as f32
        })
        .collect();
    let ad = device().autodiff();
    let x = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &ad).require_grad();
    let y = bertrs_kernels::gelu(x.clone());
    let grads = y.clone().sum().backward();
    assert_close("gelu'(x)", &values(x.grad(&grads).expect("a gradient")), &want_dy, TOL);
    assert_close("gelu(x), training", &values(y), &want_y, TOL);
    let plain = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device());
    assert_close("gelu(x), inference", &values(bertrs_kernels::gelu(plain)), &want_y, TOL);
}

/// Softmax over the last axis against burn's `softmax`: values, and the gradient of a
/// weighted sum (the weights make every row's gradient non-trivial).
#[test]
fn softmax_matches_burns() {
    let ad = device().autodiff();
    let x0 = random([2, 3, 5, 7], &ad);
    let w = random([2, 3, 5, 7], &ad);
    let run = |fused: bool| {
        let x = x0.clone().detach().require_grad();
        let y = if fused { bertrs_kernels::softmax_last(x.clone()) } else { softmax(x.clone(), 3) };
        let g = (y.clone() * w.clone()).sum().backward();
        (values(y), values(x.grad(&g).expect("a gradient")))
    };
    let (ours, burns) = (run(true), run(false));
    assert_close("softmax", &ours.0, &burns.0, TOL);
    assert_close("softmax grad", &ours.1, &burns.1, TOL);
    let plain = Tensor::<4>::from_data(x0.to_data(), &device());
    assert_close("softmax, inference", &values(bertrs_kernels::softmax_last(plain.clone())), &values(softmax(plain, 3)), TOL);
}

/// LayerNorm against burn's module: values and the gradients of x, γ and β.
#[test]
fn layer_norm_matches_burns() {
    let ad = device().autodiff();
    let mut ln = LayerNormConfig::new(16).with_epsilon(1e-12).init(&ad);
    ln.gamma = burn::module::Param::from_tensor(random([16], &ad));
    ln.beta = Some(burn::module::Param::from_tensor(random([16], &ad)));
    let x0 = random([4, 6, 16], &ad);
    let w = random([4, 6, 16], &ad);
    let run = |fused: bool| {
        let x = x0.clone().detach().require_grad();
        let y = if fused { bertrs_kernels::layer_norm(&ln, x.clone(), 1e-12) } else { ln.forward(x.clone()) };
        let g = (y.clone() * w.clone()).sum().backward();
        let beta = ln.beta.as_ref().expect("a bias");
        (
            values(y),
            values(x.grad(&g).expect("dx")),
            values(ln.gamma.val().grad(&g).expect("dγ")),
            values(beta.val().grad(&g).expect("dβ")),
        )
    };
    let (ours, burns) = (run(true), run(false));
    assert_close("layer_norm", &ours.0, &burns.0, TOL);
    // The input gradient sums 16 terms of size ~|w|·|γ|·rstd: 1e-5 relative to its scale.
    assert_close("layer_norm dx", &ours.1, &burns.1, 1e-4);
    assert_close("layer_norm dγ", &ours.2, &burns.2, 1e-4);
    assert_close("layer_norm dβ", &ours.3, &burns.3, 1e-4);
}

/// Dropout keeps about `1 - p` of the elements, scales them by `1 / (1 - p)`, routes the
/// gradient through the same mask, and follows the device seed.
#[test]
fn dropout_masks_scale_route_gradients_and_follow_the_seed() {
    let ad = device().autodiff();
    let _seeded = generator();
    let run = |seed: u64| {
        ad.seed(seed);
        let x = Tensor::<2>::ones([64, 64], &ad).require_grad();
        let y = bertrs_kernels::dropout(x.clone(), 0.1);
        let g = y.clone().sum().backward();
        (values(y), values(x.grad(&g).expect("a gradient")))
    };
    let ((a, ga), (b, _), (c, _)) = (run(1), run(1), run(2));
    assert_eq!(a, b, "the same seed gives the same mask");
    assert_ne!(a, c, "another seed gives another mask");
    assert_eq!(a, ga, "d(x·mask)/dx is the mask");
    let zeros = a.iter().filter(|&&v| v == 0.0).count();
    // Binomial(4096, 0.1): mean 410, sd 19; the band is ±8 sd.
    assert!((258..562).contains(&zeros), "{zeros} of 4096 dropped");
    assert!(a.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-6), "kept values are scaled by 1/0.9");
}

/// The in-place AdamW step, where the backend has one, against burn's AdamW over steps with
/// weight decay; a parameter whose buffer another tensor shares is not changed under it.
/// The large shape is over 2^18 elements: libtorch's path updates it chunk by chunk, the
/// last chunk a partial one. Every third row's gradient is zero, as the word embeddings' rows
/// of unseen tokens are: their second moment stays zero (libtorch's path raises such zeros
/// before its square root).
#[test]
fn adamw_in_place_matches_burns() {
    adamw_matches_burns([40, 33]);
    adamw_matches_burns([1030, 1025]);
}

fn adamw_matches_burns(shape: [usize; 2]) {
    let device = device();
    let p0 = random(shape, &device);
    let rows_kept = Tensor::<1, Int>::arange(0..shape[0] as i64, &device).remainder_scalar(3).clamp_max(1).float().reshape([shape[0], 1]);
    let g0 = random(shape, &device).mul_scalar(0.05).mul(rows_kept);
    let has_path = adamw::applies(&p0, &g0, None);
    assert_eq!(has_path, expected_kernels() != Kernels::Generic);
    if !has_path {
        return; // burn's AdamW is the path; nothing of ours to compare.
    }
    let (lr, wd, b1, b2, eps) = (1e-3f64, 0.01f64, 0.9f64, 0.999f64, 1e-8f64);
    let burns = AdamWConfig::new().with_epsilon(eps as f32).with_weight_decay(wd as f32).build();
    let scratch = adamw::Scratch::default();
    let kept = p0.clone();
    let before = values(kept.clone());
    let (mut p, mut m, mut v) = (p0.clone(), None::<Tensor<2>>, None::<Tensor<2>>);
    let (mut q, mut state) = (p0, None);
    for t in 1..=3 {
        let g = g0.clone().mul_scalar(t as f64);
        let s = adamw::Step::torch(lr, wd, b1, b2, eps, t);
        let moments = m.take().zip(v.take());
        let (np, nm, nv) = adamw::step(&s, &scratch, p, g.clone(), moments).expect("an in-place path");
        (p, m, v) = (np, Some(nm), Some(nv));
        (q, state) = burns.step(lr, q, g, state);
    }
    assert_close("AdamW, 3 steps", &values(p), &values(q), 1e-6);
    assert_eq!(values(kept), before, "a shared parameter buffer was updated in place");
}

/// Clipping's host passes equal the device formulas.
#[test]
fn clip_passes_match_burns() {
    let device = device();
    let g = random([70, 9], &device);
    let want = values(g.clone().square().sum())[0] as f64;
    match clip::host_sum_squares(&g) {
        Some(s) => assert!((s - want).abs() <= 1e-5 * want, "Σg² {s} vs {want}"),
        None => assert!(!matches!(backend(), BackendChoice::Flex | BackendChoice::Tch), "flex and libtorch CPU sum on the host"),
    }
    let kept = g.clone();
    let before = values(kept.clone());
    let scaled = clip::scale(g.clone(), 0.25);
    assert_close("g·0.25", &values(scaled), &values(g.mul_scalar(0.25)), 1e-7);
    assert_eq!(values(kept), before, "a shared gradient buffer was scaled in place");
}

/// Row gather and scatter (padding-free pack/unpack) against a host computation, with the
/// gradients of both (each other's inverse).
#[test]
fn rows_gather_and_scatter() {
    let ad = device().autodiff();
    let x = Tensor::<1, Int>::arange(0..12, &ad).float().reshape([6, 2]).require_grad();
    let index = Tensor::<1, Int>::from_data(TensorData::new(vec![4i64, 0, 5], [3]), &ad);
    let picked = rows::gather(x.clone(), index.clone());
    assert_eq!(values(picked.clone()), vec![8., 9., 0., 1., 10., 11.]);
    let placed = rows::scatter(picked.clone(), index, 6);
    assert_eq!(values(placed.clone()), vec![0., 1., 0., 0., 0., 0., 0., 0., 8., 9., 10., 11.]);
    let w = Tensor::<1, Int>::arange(1..13, &ad).float().reshape([6, 2]);
    let g = (placed * w).sum().backward();
    // Rows 0, 4, 5 pass through with the weights of the rows they land on; 1–3 get nothing.
    assert_eq!(values(x.grad(&g).expect("a gradient")), vec![1., 2., 0., 0., 0., 0., 0., 0., 9., 10., 11., 12.]);
}

/// `map_batches` (several inference batches at once on flex and libtorch's CPU): each batch's
/// result is what it is run alone (flex: the same bits), in the items' order, and an error of
/// one batch is the call's error.
#[test]
fn map_batches_keeps_order_bits_and_errors() {
    let device = device();
    let weights = random([64, 48], &device);
    let batches: Vec<Tensor<2>> = (0..12).map(|i| random([8 + i, 64], &device)).collect();
    let run = |x: &Tensor<2>| values(bertrs_kernels::gelu(x.clone().matmul(weights.clone())));
    let alone: Vec<Vec<f32>> = batches.iter().map(run).collect();
    let together = bertrs_kernels::device::map_batches(&device, &batches, |x| Ok::<_, ()>(run(x))).unwrap();
    assert_eq!(together.len(), alone.len());
    for (i, (a, b)) in together.iter().zip(&alone).enumerate() {
        // flex: the same bits; libtorch runs them with one intra-op thread, where MKL may
        // round differently.
        if expected_kernels() == Kernels::Flex {
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "batch {i} differs");
        } else {
            assert_close(&format!("batch {i}"), a, b, TOL);
        }
    }
    let idx: Vec<usize> = (0..100).collect();
    let err = bertrs_kernels::device::map_batches(&device, &idx, |&i| if i == 37 { Err(i) } else { Ok(i) });
    assert_eq!(err, Err(37));
}
