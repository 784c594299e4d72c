//! The update in the in-place libtorch kernels `torch.optim.adamw._single_tensor_adamw`
//! calls, one after the other on the parameter and both moments (burn's `AdamW` allocates a
//! new tensor for each of its ~16 ops).
//!
//! torch allocates two temporaries per parameter (`sqrt`, `/`); tch binds `addcmul_` and
//! `addcdiv_` without their `value`, which costs two more. A fresh buffer the size of the word
//! embeddings (47 MB) is ~15-50 ms of page faults here, as long as all the in-place passes
//! together, so none is allocated: the products go to a scratch buffer kept between steps,
//! and the denominator to the gradient's own buffer, which is dead by then.
//!
//! A parameter over 2^20 elements is updated chunk by chunk, all ten passes over one chunk
//! before the next, so the passes read the last-level cache instead of memory (optimizer
//! 178–226 → 152–171 ms a step on MiniLM, Intel Xeon). A fused kernel would make it one pass:
//! libtorch has one (`_fused_adamw_`), which tch 0.22 does not bind.

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

/// Elements per chunk of a large parameter: four 4 MiB chunks (parameter, gradient, moments)
/// and the scratch fit in a server CPU's last-level cache, and a 1M-element op still splits
/// over libtorch's intra-op threads.
const CHUNK: i64 = 1 << 20;

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
        let _ = g.mul_scalar_out(scaled, s.one_minus_beta_2);
        let _ = v.addcmul_(scaled, g);
    });
    // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps), in the gradient's buffer.
    let denom = g;
    let _ = v.sqrt_out(denom);
    let _ = denom.g_div_scalar_(s.bias_correction_2_sqrt);
    let _ = denom.g_add_scalar_(s.epsilon);
    // param.addcdiv_(exp_avg, denom, value=-step_size): self + (value·t1)/t2, as above.
    scratch.with(m, |scaled| {
        let _ = m.mul_scalar_out(scaled, -s.step_size);
        let _ = p.addcdiv_(scaled, denom);
    });
}
