#!/usr/bin/env python
"""A model fine-tuned in Python and saved with `save_pretrained`: the Python → Rust half of
the round trip (crates/bertrs-cli/tests/hf_roundtrip.rs).

    python scripts/hf_finetune_tiny.py MODEL_DIR INPUT.jsonl OUTPUT_DIR

Fine-tunes MODEL_DIR (a tiny fixture) for a few AdamW steps on the rows of INPUT.jsonl with
made-up labels, exactly as a user's training script would end: `model.save_pretrained` and
`tokenizer.save_pretrained` into OUTPUT_DIR, with new label names. The weights then differ from
every committed fixture, so reading them back tests the loader on a directory we never wrote.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoTokenizer, BertForSequenceClassification  # noqa: E402


def main():
    model_dir, src, out_dir = sys.argv[1:4]
    torch.manual_seed(7)
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = BertForSequenceClassification.from_pretrained(
        model_dir, num_labels=2, id2label={0: "bad", 1: "good"}, label2id={"bad": 0, "good": 1},
        ignore_mismatched_sizes=True)
    rows = [json.loads(line) for line in open(src, encoding="utf-8") if line.strip()]
    enc = tok([r["text"] for r in rows], [r.get("text_pair") or "" for r in rows],
              padding=True, truncation=True, max_length=16, return_tensors="pt")
    labels = torch.tensor([i % 2 for i in range(len(rows))])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(3):
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)


if __name__ == "__main__":
    main()
