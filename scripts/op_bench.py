"""PyTorch side of `cargo run --release -p bertrs-model --example op_bench`: the same ops, shapes,
loss and timing (median of 15 after one warm-up), 2 threads, fp32. Run with the reference venv:

    $BERT_REF_PYTHON scripts/op_bench.py
"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
ROUNDS = 15
B, S, H, I, HEADS = 32, 48, 384, 1536, 12


def median_ms(f):
    f()
    times = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)[ROUNDS // 2]


def time_op(name, dims, op, module=None):
    x = torch.randn(*dims)
    with torch.no_grad():
        if module is not None:
            module.eval()
        fwd = median_ms(lambda: op(x))
    if module is not None:
        module.train()
    xa = x.clone().requires_grad_(True)
    r = torch.randn(op(x).shape)

    def both():
        xa.grad = None
        (op(xa) * r).sum().backward()

    bwd = median_ms(both)
    print(f"{name:<40} {str(list(dims)):<22} {fwd:>9.2f} {bwd:>12.2f}")


print(f"{'op':<40} {'input':<22} {'fwd ms':>9} {'fwd+bwd ms':>12}")
for i, o in [(H, H), (H, I), (I, H)]:
    lin = torch.nn.Linear(i, o)
    time_op(f"linear {i}->{o}", (B, S, i), lin, lin)
lin = torch.nn.Linear(H, I)
time_op("linear 384->1536, seq 64", (B, 64, H), lin, lin)
ln = torch.nn.LayerNorm(H, eps=1e-12)
time_op("layer_norm", (B, S, H), ln, ln)
time_op("softmax", (B, HEADS, S, S), lambda x: torch.softmax(x, -1))
time_op("gelu", (B, S, I), F.gelu)
drop = torch.nn.Dropout(0.1)
time_op("dropout 0.1", (B, HEADS, S, S), drop, drop)
time_op("scores q·kᵀ", (B, HEADS, S, H // HEADS), lambda q: q @ q.transpose(2, 3))
time_op("add (residual)", (B, S, H), lambda x: x + x)
