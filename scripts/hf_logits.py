#!/usr/bin/env python
"""Logits from transformers for an HF model directory: the Python side of the round trip.

    python scripts/hf_logits.py MODEL_DIR INPUT.jsonl OUTPUT.jsonl [MAX_LENGTH]

Loads MODEL_DIR with AutoTokenizer + BertForSequenceClassification.from_pretrained (as a
user would), runs each row {"text", "text_pair"?} alone (no padding), and writes
{"logits": [...], "id2label": {...}} per row. float32, CPU, eval mode.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoTokenizer, BertForSequenceClassification  # noqa: E402


def main():
    model_dir, src, dst = sys.argv[1:4]
    max_length = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(model_dir)
    if tok.is_fast:
        tok.backend_tokenizer.no_padding()
        tok.backend_tokenizer.no_truncation()
    model = BertForSequenceClassification.from_pretrained(model_dir).eval()
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            enc = tok(row["text"], row.get("text_pair"), truncation=True, max_length=max_length,
                      return_tensors="pt")
            with torch.inference_mode():
                logits = model(**enc).logits[0]
            out.write(json.dumps({"logits": [float(x) for x in logits],
                                  "id2label": {str(k): v for k, v in model.config.id2label.items()}}) + "\n")


if __name__ == "__main__":
    main()
