#!/usr/bin/env python
"""Parity fixtures for a tiny random BERT, written by PyTorch + transformers.

Run with the reference harness's pinned versions (../shared/reference/README.md:
torch 2.9.0, transformers 4.57.6), e.g. `cargo xtask fixtures`:

    python scripts/make_tiny_fixtures.py fixtures/tiny

For each problem type (single_label_classification, multi_label_classification,
regression) it writes `<out>/<problem>/` holding an HF model directory (config.json,
model.safetensors) and `reference.safetensors` with:
  input_ids, attention_mask, token_type_ids   I64 [batch, seq] (padded rows, pair rows)
  labels                                      I64 [batch] | F32 [batch, n] | F32 [batch]
  last_hidden_state, pooler_output, logits    F32
  loss                                        F32 [1]
  grad.<hf key>                               F32, d loss / d parameter after one backward
All in float32 on CPU, dropout probabilities 0 so the backward is deterministic.
The single-label directory also holds `optimizer_reference.safetensors` and
`optimizer_reference_batch20.safetensors` (see their functions) and the weights as `pytorch_model.bin` (torch.save of the
state dict). Each directory also holds a 100-token WordPiece tokenizer (vocab.txt, tokenizer.json, ...)
saved by BertTokenizerFast, and `predict_reference.jsonl`: texts of `predict_input.jsonl`
run through that tokenizer (max_length 16) and the model one at a time, with their logits.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

OUT = sys.argv[1] if len(sys.argv) > 1 else "fixtures/tiny"
torch.set_num_threads(1)

BATCH, SEQ = 3, 9
# row 0: full length; row 1: padded after 5 tokens; row 2: a pair (type ids 1) padded after 7
IDS = [
    [2, 17, 33, 45, 8, 91, 12, 64, 3],
    [2, 5, 77, 21, 3, 0, 0, 0, 0],
    [2, 40, 41, 3, 55, 56, 3, 0, 0],
]
MASK = [[1] * 9, [1] * 5 + [0] * 4, [1] * 7 + [0] * 2]
TYPES = [[0] * 9, [0] * 9, [0, 0, 0, 0, 1, 1, 1, 0, 0]]

PROBLEMS = {
    "single_label_classification": (3, torch.tensor([2, 0, 1])),
    "multi_label_classification": (3, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0]])),
    "regression": (1, torch.tensor([0.5, -1.25, 2.0])),
}


WORDS = ("the a film movie good bad great dull plot acting was is not very really story "
         "and but it of to i loved hated boring fun ending slow fast funny sad long short "
         "cast music score scene scenes best worst ever seen".split())
SUFFIXES = ["##s", "##ed", "##ing", "##ly", "##er"]
PREDICT_TEXTS = [
    {"text": "the film was great"},
    {"text": "a dull , boring movie", "text_pair": "the ending was slow"},
    {"text": "Loved it! Best scenes ever seen."},
    {"text": "unknownword"},
    {"text": "the acting was really really really very very very good and the music and the score and the cast were fun"},
]


def write_tokenizer(d):
    from transformers import BertTokenizerFast
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", ".", "!", "?"] + WORDS + SUFFIXES
    vocab += [f"w{i}" for i in range(100 - len(vocab))]
    assert len(vocab) == 100
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(os.path.join(d, "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(d)
    return tok


def hf_optimizer(warmup, total):
    """The single-label tiny model in train mode with HF Trainer's optimizer recipe: AdamW (lr
    1e-2, eps 1e-8, weight decay 0.1 except biases and LayerNorm) and a linear schedule."""
    from transformers import get_linear_schedule_with_warmup
    from transformers.trainer_pt_utils import get_parameter_names
    from transformers.pytorch_utils import ALL_LAYERNORM_LAYERS
    d = os.path.join(OUT, "single_label_classification")
    model = BertForSequenceClassification.from_pretrained(d).train()
    decay = [n for n in get_parameter_names(model, ALL_LAYERNORM_LAYERS) if "bias" not in n]
    groups = [
        {"params": [p for n, p in model.named_parameters() if n in decay], "weight_decay": 0.1},
        {"params": [p for n, p in model.named_parameters() if n not in decay], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=warmup, num_training_steps=total)
    return d, model, opt, sched


def optimizer_reference():
    """5 steps of HF's optimizer recipe on the single-label tiny model and fixture batch:
    AdamW (eps 1e-8, weight decay 0.1 except biases and LayerNorm, as Trainer groups them),
    get_linear_schedule_with_warmup(warmup 2, total 5), clip_grad_norm_(max_norm 0.5).
    Writes optimizer_reference.safetensors: loss.<k>, grad_norm.<k>, and the final param.<name>."""
    ids, mask, types = (torch.tensor(x) for x in (IDS, MASK, TYPES))
    labels = PROBLEMS["single_label_classification"][1]
    train_steps("optimizer_reference.safetensors", 2, 5, (ids, mask, types), labels, {})


def train_steps(name, warmup, steps, inputs, labels, ref):
    """`steps` steps of `hf_optimizer(warmup, steps)` on one batch, each clipped at norm 0.5;
    adds loss.<k>, grad_norm.<k> and the final param.<name> to `ref` and writes it to `name`
    in the single-label directory."""
    d, model, opt, sched = hf_optimizer(warmup=warmup, total=steps)
    ids, mask, types = inputs
    for k in range(steps):
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
        out.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        sched.step()
        opt.zero_grad()
        ref[f"loss.{k}"] = out.loss.detach().reshape(1)
        ref[f"grad_norm.{k}"] = norm.detach().reshape(1)
    for n, p in model.named_parameters():
        ref["param." + n] = p.detach().clone()
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(d, name))
    print(name, "losses", [float(ref[f"loss.{k}"]) for k in range(steps)])


def big_batch():
    """20 rows for the single-label tiny model (a batch the trainer splits into shards):
    word ids 5..99 between [CLS] and [SEP], lengths 3..12, every third row a pair (type ids 1
    on its second segment), right-padded to 12; labels 0..2. Fixed by Python's own generator."""
    import random
    rng = random.Random(20261203)
    ids, mask, types, labels = [], [], [], []
    for i in range(20):
        n = rng.randint(3, 12)
        if i % 3 == 2 and n >= 5:
            a = rng.randint(1, n - 4)
            row = [2] + [rng.randint(5, 99) for _ in range(a)] + [3]
            row_types = [0] * len(row)
            row += [rng.randint(5, 99) for _ in range(n - len(row) - 1)] + [3]
            row_types += [1] * (n - len(row_types))
        else:
            row = [2] + [rng.randint(5, 99) for _ in range(n - 2)] + [3]
            row_types = [0] * n
        ids.append(row + [0] * (12 - n))
        mask.append([1] * n + [0] * (12 - n))
        types.append(row_types + [0] * (12 - n))
        labels.append(rng.randint(0, 2))
    return (torch.tensor(ids), torch.tensor(mask), torch.tensor(types)), torch.tensor(labels)


def optimizer_reference_batch20():
    """The same recipe as `optimizer_reference` for 3 steps, each on the 20 rows of
    `big_batch()` as one batch of 20 (the loss is the mean over the 20, as Trainer's).
    Writes optimizer_reference_batch20.safetensors: input_ids, attention_mask,
    token_type_ids, labels, loss.<k>, grad_norm.<k>, and the final param.<name>."""
    (ids, mask, types), labels = big_batch()
    ref = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": labels}
    train_steps("optimizer_reference_batch20.safetensors", 1, 3, (ids, mask, types), labels, ref)


def main():
    for problem, (num_labels, labels) in PROBLEMS.items():
        torch.manual_seed(1234)
        config = BertConfig(
            vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, hidden_act="gelu", hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, max_position_embeddings=40, type_vocab_size=2,
            initializer_range=0.2, layer_norm_eps=1e-12, num_labels=num_labels, problem_type=problem,
        )
        if num_labels == 3:
            config.id2label = {0: "negative", 1: "neutral", 2: "positive"}
            config.label2id = {v: k for k, v in config.id2label.items()}
        model = BertForSequenceClassification(config)
        # LayerNorm weights are 1/0 at init; perturb them so their gradients and the affine
        # part are really exercised.
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "LayerNorm" in name:
                    p.add_(torch.randn_like(p) * 0.1)
        model.train()  # dropout is 0, so train mode only matters for the autograd graph
        ids, mask, types = (torch.tensor(x) for x in (IDS, MASK, TYPES))
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels,
                    output_hidden_states=True)
        out.loss.backward()
        base = model.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
        d = os.path.join(OUT, problem)
        os.makedirs(d, exist_ok=True)
        model.save_pretrained(d, safe_serialization=True)
        ref = {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": types,
            "labels": labels.clone(),
            "last_hidden_state": base.last_hidden_state.detach(),
            "pooler_output": base.pooler_output.detach(),
            "logits": out.logits.detach(),
            "loss": out.loss.detach().reshape(1),
        }
        for name, p in model.named_parameters():
            ref["grad." + name] = p.grad.detach().clone()
        if problem == "single_label_classification":
            # The same weights as a pickled state dict, for the pytorch_model.bin loader.
            torch.save(model.state_dict(), os.path.join(d, "pytorch_model.bin"))
        tok = write_tokenizer(d)
        model.eval()
        with open(os.path.join(d, "predict_input.jsonl"), "w") as fi, \
                open(os.path.join(d, "predict_reference.jsonl"), "w") as fo:
            for row in PREDICT_TEXTS:
                fi.write(json.dumps(row) + "\n")
                enc = tok(row["text"], row.get("text_pair"), truncation=True, max_length=16, return_tensors="pt")
                with torch.no_grad():
                    logits = model(**enc).logits[0]
                fo.write(json.dumps({"input_ids": enc["input_ids"][0].tolist(),
                                     "logits": [float(x) for x in logits]}) + "\n")
        save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(d, "reference.safetensors"),
                  metadata={"torch": torch.__version__, "transformers": __import__("transformers").__version__})
        print(problem, "loss", float(out.loss))
    optimizer_reference()
    optimizer_reference_batch20()
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("Written by `scripts/make_tiny_fixtures.py` (see its docstring); do not edit.\n")


if __name__ == "__main__":
    main()
