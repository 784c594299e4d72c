"""PyTorch's side of BENCHMARKS.md's phase table: the training step of `bertrs-cli train
--train-limit 640 --max-steps 20` (all-MiniLM-L6-v2 + a fresh 2-label head, Rotten Tomatoes
training sentences, batch 32, dynamic padding, AdamW 5e-5 with weight decay 0.01 off for
bias/LayerNorm, linear schedule, clip 1.0: what HF's Trainer runs per step), timed per phase,
then the top ATen ops by self CPU time under torch.profiler. 2 threads, fp32.

    $BERT_REF_PYTHON scripts/step_profile.py MODEL_DIR RT_SNIPPETS_TSV
"""
import csv
import random
import sys
import time

import torch
from transformers import AutoTokenizer, BertForSequenceClassification, get_linear_schedule_with_warmup

torch.set_num_threads(2)
torch.manual_seed(42)
model_dir, tsv = sys.argv[1], sys.argv[2]
with open(tsv, newline="") as f:
    rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r["split"] == "train"][:640]
tok = AutoTokenizer.from_pretrained(model_dir)
model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2)
model.train()
no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-5, eps=1e-8)
sched = get_linear_schedule_with_warmup(opt, 0, 20)
order = list(range(len(rows)))
random.Random(42).shuffle(order)
batches = []
for i in range(20):
    idx = order[i * 32 : (i + 1) * 32]
    enc = tok([rows[j]["text"] for j in idx], padding=True, truncation=True, max_length=128, return_tensors="pt")
    enc["labels"] = torch.tensor([int(rows[j]["label"]) for j in idx])
    batches.append(enc)


def step(batch, times):
    t0 = time.perf_counter()
    loss = model(**batch).loss
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    t3 = time.perf_counter()
    opt.step()
    sched.step()
    opt.zero_grad()
    t4 = time.perf_counter()
    for k, v in zip(("forward", "backward", "clip", "optimizer"), (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
        times[k] = times.get(k, 0.0) + v


times = {}
start = time.perf_counter()
for b in batches:
    step(b, times)
total = time.perf_counter() - start
parts = ", ".join(f"{k} {v / 20 * 1e3:.1f} ms ({v / total:.0%})" for k, v in times.items())
print(f"PyTorch {torch.__version__}: 20 steps in {total:.1f}s ({640 / total:.1f} examples/s); per step: {parts}")
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
    for b in batches[:8]:
        step(b, {})
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
