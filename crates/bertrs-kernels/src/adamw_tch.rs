//! The update in the in-place libtorch kernels `torch.optim.adamw._single_tensor_adamw`
//! calls, one after the other on the parameter and both moments (burn's `AdamW` allocates a
//! new tensor for each of its ~16 ops).
//!
//! torch allocates two temporaries per parameter (`sqrt`, `/`); tch binds `addcmul_` and
//! `addcdiv_` without their `value`, which costs two more. A fresh buffer the size of the word
//! embeddings (47 MB) is ~15-50 ms of page faults here, as long as all the in-place passes
//! together, so none is allocated: the products go to a scratch buffer kept between steps
//! (through structured `out=` kernels only: see [`number`]), and the denominator to the
//! gradient's own buffer, which is dead by then.
//!
//! Two things torch's own loop pays and this one does not, with the same bits: the square
//! root of the second moment's zeros (most of the word embeddings' rows) takes libtorch's slow
//! path, so they are raised first where that cannot show ([`zeros_vanish_beside_epsilon`]);
//! and a parameter over 2^18 elements is updated chunk by chunk, all ten passes over one chunk
//! before the next, so the passes read the cores' caches instead of memory. Optimizer on
//! MiniLM, Intel Xeon: 178–226 ms a step → 152–171 (chunks of 2^20) → 85–116 (structured
//! `out=`, raised zeros, chunks of 2^18). A fused kernel would make it one pass: libtorch has
//! one (`_fused_adamw_`), which tch 0.22 does not bind.

#![allow(deprecated)] // burn-tch is deprecated upstream but is our libtorch path

use std::sync::{Arc, Mutex, PoisonError};

use burn::backend::libtorch::TchTensor;
use burn::tensor::Tensor;

use crate::adamw::Step;
use crate::tch_tensor::{tensor, writable};

/// A flat buffer as large as the largest parameter seen, on its device.
#[derive(Clone, Default)]
pub(crate) struct Scratch(Arc<Mutex<Option<tch::Tensor>>>);

impl Scratch {
    /// `f` on a view of the buffer shaped like `like`.
    fn with<R>(&self, like: &tch::Tensor, f: impl FnOnce(&tch::Tensor) -> R) -> R {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = like.numel() as i64;
        let buffer = match slot.take() {
            Some(b) if b.numel() as i64 >= n && b.device() == like.device() && b.kind() == like.kind() => b,
            _ => tch::Tensor::empty([n], (like.kind(), like.device())),
        };
        let out = f(&buffer.narrow(0, 0, n).view(like.size().as_slice()));
        *slot = Some(buffer);
        out
    }
}

pub(crate) fn step<const D: usize>(
    s: &Step,
    scratch: &Scratch,
    param: Tensor<D>,
    grad: Tensor<D>,
    moments: Option<(Tensor<D>, Tensor<D>)>,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let (mut p, mut g) = (writable(param), writable(grad));
    let (mut m, mut v) = match moments {
        Some((m, v)) => (writable(m), writable(v)),
        None => {
            let zeros = || TchTensor::new(p.tensor.zeros_like());
            (zeros(), zeros())
        }
    };
    let all_contiguous = [&p, &g, &m, &v].iter().all(|t| t.tensor.is_contiguous());
    let n = p.tensor.numel() as i64;
    if all_contiguous && n > CHUNK {
        // Chunk by chunk, every pass over a chunk before the next chunk: the four buffers'
        // chunks stay in the CPU's cache between the ten passes instead of each pass
        // streaming the whole tensor from memory. Elementwise, so the same bits.
        let flat = |t: &TchTensor| t.tensor.view([-1]);
        let (pf, gf, mf, vf) = (flat(&p), flat(&g), flat(&m), flat(&v));
        let mut start = 0;
        while start < n {
            let len = CHUNK.min(n - start);
            let chunk = |t: &tch::Tensor| t.narrow(0, start, len);
            update(s, scratch, &mut chunk(&pf), &mut chunk(&gf), &mut chunk(&mf), &mut chunk(&vf));
            start += len;
        }
    } else {
        update(s, scratch, &mut p.tensor, &mut g.tensor, &mut m.tensor, &mut v.tensor);
    }
    (tensor(p), tensor(m), tensor(v))
}

/// Elements per chunk of a large parameter: the five 1 MiB chunks (parameter, gradient,
/// moments, scratch) fit in two cores' L2 caches, and an op on 2^18 elements still splits
/// over libtorch's intra-op threads. Measured (20-step runs, optimizer ms a step): 2^20 91–106,
/// 2^18 87–91, 2^17 85–87, 2^15 128–175 (the per-op overhead then dominates), whole 93–118.
const CHUNK: i64 = 1 << 18;

/// torch's single-tensor AdamW passes over `p`, `m`, `v` in place, `g` used as the
/// denominator's buffer.
fn update(s: &Step, scratch: &Scratch, p: &mut tch::Tensor, g: &mut tch::Tensor, m: &mut tch::Tensor, v: &mut tch::Tensor) {
    // The in-place ops return another handle to the same storage, dropped at once.
    // param.mul_(1 - lr * weight_decay): a multiply by exactly 1 when there is no decay
    // (HF's default, and always for biases and LayerNorm weights) changes nothing.
    if s.decay != 1.0 {
        let _ = p.g_mul_scalar_(s.decay);
    }
    // exp_avg.lerp_(grad, 1 - beta1)
    let _ = m.lerp_(g, s.one_minus_beta_1);
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2): the kernel computes
    // self + (value·t1)·t2, so t1 = value·grad (value 1) gives the same products.
    let _ = v.g_mul_scalar_(s.beta_2);
    scratch.with(g, |scaled| {
        let _ = g.mul_out(scaled, &number(s.one_minus_beta_2));
        let _ = v.addcmul_(scaled, g);
    });
    let denom = g;
    denominator(s, v, denom, zeros_vanish_beside_epsilon(s));
    // param.addcdiv_(exp_avg, denom, value=-step_size): self + (value·t1)/t2, as above.
    scratch.with(m, |scaled| {
        let _ = m.mul_out(scaled, &number(-s.step_size));
        let _ = p.addcdiv_(scaled, denom);
    });
}

/// denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps) into `denom`; with
/// `raise_zeros` (only where [`zeros_vanish_beside_epsilon`]) `v` is first raised to f32's
/// smallest normal number, the same bits by then and a fast square root.
fn denominator(s: &Step, v: &tch::Tensor, denom: &mut tch::Tensor, raise_zeros: bool) {
    if raise_zeros {
        let _ = v.clamp_min_out(denom, f32::MIN_POSITIVE as f64);
        let _ = denom.sqrt_();
    } else {
        let _ = v.sqrt_out(denom);
    }
    let _ = denom.g_div_scalar_(s.bias_correction_2_sqrt);
    let _ = denom.g_add_scalar_(s.epsilon);
}

/// A 0-dim f64 CPU tensor: PyTorch wraps a Python number so for `mul_(number)` and takes it
/// at the tensor's precision, which `mul_out(out, t, number(x))` does too. tch's
/// `mul_scalar_out` is no structured kernel: PyTorch generates `mul.Scalar_out` as the
/// functional op into a new tensor and a copy, i.e. a fresh buffer (page faults) and an extra
/// pass (22–28 ms for the word embeddings, Intel Xeon, against ~5 for one structured pass).
fn number(x: f64) -> tch::Tensor {
    tch::Tensor::from(x)
}

/// Whether `√v / √(1−β2^t) + ε` is exactly ε for every `v` below f32's smallest normal
/// number, zero and subnormals included: then `v` may be raised to that number before the
/// square root without changing a bit of the denominator. libtorch's CPU `sqrt` takes a slow
/// path on zeros (and subnormals): 43 ms for a tensor of 11.7 M zeros against
/// 7 ms for normal numbers (PyTorch 2.9, Intel Xeon, `scripts/sqrt_zeros.py`), and the
/// word embeddings' second moment is mostly zeros (rows of tokens not seen yet).
///
/// √(smallest normal) = 2^-63; divided by the bias correction (≥ √(1−β2), ~0.03 at HF's
/// defaults) it must stay under a quarter of ε's unit in the last place, so that both sums
/// round to ε (a margin of two over round-to-nearest's half unit, for the two roundings of
/// the quotient). With ε = 1e-8 the term is ~3e-18 against a quarter unit of ~2e-16.
fn zeros_vanish_beside_epsilon(s: &Step) -> bool {
    let eps = s.epsilon as f32;
    if !eps.is_normal() || eps < 0.0 || s.bias_correction_2_sqrt <= 0.0 {
        return false;
    }
    let ulp = (f32::from_bits(eps.to_bits() + 1) - eps) as f64;
    let term = (f32::MIN_POSITIVE as f64).sqrt() / s.bias_correction_2_sqrt;
    term < ulp / 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(epsilon: f64, t: i32) -> Step {
        Step::torch(5e-5, 0.0, 0.9, 0.999, epsilon, t)
    }

    fn bits(t: &tch::Tensor) -> Vec<u32> {
        let n = t.numel();
        let mut out = vec![0f32; n];
        t.copy_data(&mut out, n);
        out.into_iter().map(f32::to_bits).collect()
    }

    /// The product through `mul.out` and a 0-dim tensor is `mul_(number)`'s, bit for bit
    /// (the number taken at f32 precision both ways), for scalars that do not round exactly.
    #[test]
    fn products_through_a_number_tensor_are_mul_scalars() {
        let g = tch::Tensor::randn([4099], (tch::Kind::Float, tch::Device::Cpu));
        for c in [1.0 - 0.999f64, -5e-5 / (1.0 - 0.9f64.powi(3)), 1.0 / 3.0] {
            let out = g.zeros_like();
            let _ = g.mul_out(&out, &number(c));
            let mut want = g.copy();
            let _ = want.g_mul_scalar_(c);
            assert_eq!(bits(&out), bits(&want), "× {c}");
        }
    }

    /// Raising `v`'s zeros and subnormals before the square root gives the denominator's
    /// exact bits wherever the guard allows it, and the guard allows it at HF's defaults
    /// (ε = 1e-8, β2 = 0.999 from the first step) but not with ε = 0 or a tiny ε, where the
    /// raised zeros would show.
    #[test]
    fn raising_zeros_keeps_the_denominator_where_allowed() {
        let tiny = f32::MIN_POSITIVE;
        let v: Vec<f32> = vec![0.0, -0.0, f32::from_bits(1), tiny / 3.0, tiny, tiny * 2.0, 1e-30, 1e-20, 1e-12, 3e-7, 0.5, 7.0];
        let v = tch::Tensor::from_slice(&v);
        for (eps, t, allowed) in [(1e-8, 1, true), (1e-8, 1000, true), (1e-6, 1, true), (0.0, 1, false), (1e-30, 1, false)] {
            let s = step(eps, t);
            assert_eq!(zeros_vanish_beside_epsilon(&s), allowed, "ε {eps}, step {t}");
            let (mut plain, mut raised) = (v.zeros_like(), v.zeros_like());
            denominator(&s, &v, &mut plain, false);
            denominator(&s, &v, &mut raised, true);
            assert_eq!(bits(&plain) == bits(&raised), allowed, "ε {eps}, step {t}: {plain} against {raised}");
        }
    }
}
