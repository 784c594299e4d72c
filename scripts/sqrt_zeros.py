"""Minimal example: libtorch's CPU `sqrt` on zeros and subnormals against normal numbers.

AdamW's denominator is `exp_avg_sq.sqrt()`; for BERT's word embeddings (30522 × 384 = 11.7 M
elements) that second moment is mostly zeros (rows of tokens no batch has held yet), and
`torch.sqrt` takes a slow path on them. PyTorch's own single-tensor AdamW (the CPU default
HF's Trainer runs) pays it every step; bertrs's libtorch optimizer raises the zeros to f32's
smallest normal number first where that leaves the denominator's bits unchanged
(`crates/bertrs-kernels/src/adamw_tch.rs`). Run with the reference venv:

    $BERT_REF_PYTHON scripts/sqrt_zeros.py
"""
import time

import torch

torch.set_num_threads(2)
N = 30522 * 384


def median_ms(f, rounds=7):
    f()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)[rounds // 2]


tiny = torch.finfo(torch.float32).tiny
out = torch.empty(N)
print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, 2 threads")
for name, v in [
    ("zeros", torch.zeros(N)),
    ("subnormals (1e-40)", torch.full((N,), 1e-40)),
    ("smallest normal", torch.full((N,), tiny)),
    ("90% zeros, 10% 1e-10", (torch.rand(N) > 0.9).float() * 1e-10),
    ("uniform [0, 1e-6)", torch.rand(N) * 1e-6),
]:
    plain = median_ms(lambda: torch.sqrt(v, out=out))
    raised = median_ms(lambda: torch.clamp_min(v, tiny, out=out).sqrt_())
    print(f"{name:>22}: sqrt {plain:6.1f} ms   clamp_min(tiny) then sqrt_ {raised:6.1f} ms")
