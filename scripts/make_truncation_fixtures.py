"""HF's truncation of texts and pairs (`truncation=True`, i.e. longest_first), pinned for
tests/tokenizer_parity.rs: what `BertTokenizerFast` of all-MiniLM-L6-v2 (what
`AutoTokenizer` loads) gives at small `max_length`s. Both [SEP]s stay; tokens come off the
longer side first. The slow `BertTokenizer` is recorded too (`slow_input_ids`): on sides of
equal length with an odd number of tokens to remove it gives the extra token to the first
text where the fast one gives it to the second; we follow the fast one.

Run with the reference Python (transformers 4.57.6, tokenizers 0.22.2):
    python scripts/make_truncation_fixtures.py MODEL_DIR fixtures/truncation/pairs.json
"""
import json
import sys

import tokenizers
import transformers
from transformers import BertTokenizer, BertTokenizerFast

CASES = [
    ("one two three four five six", "seven", 8),
    ("one two three four five six", "seven", 5),
    ("seven", "one two three four five six", 8),
    ("one two three", "four five six", 7),
    ("one two three", "four five six", 6),
    ("a b c d e f g h", "i j k l m n o p", 11),
    ("unbelievably overwhelming performances", "tokenization splits words", 9),
    ("naïve café résumé", "Straße 東京 emoji 🙂 ok", 10),
    ("the quick brown fox jumps over the lazy dog", "", 6),
    ("the quick brown fox jumps over the lazy dog", None, 6),
    ("short", None, 3),
]


def main(model_dir, out):
    fast = BertTokenizerFast.from_pretrained(model_dir)
    slow = BertTokenizer.from_pretrained(model_dir)
    cases = []
    for text, pair, max_length in CASES:
        # Batched, as `encode_batch` and HF's dataset.map(tokenize, batched=True): there an
        # empty second text is still a pair ([SEP] [SEP]), where a lone call drops it.
        args = ([text],) if pair is None else ([text], [pair])
        enc = {k: v[0] for k, v in fast(*args, truncation=True, max_length=max_length).items()}
        other = {k: v[0] for k, v in slow(*args, truncation=True, max_length=max_length).items()}
        cases.append({
            "text": text,
            "text_pair": pair,
            "max_length": max_length,
            "input_ids": enc["input_ids"],
            "token_type_ids": enc["token_type_ids"],
            "tokens": fast.convert_ids_to_tokens(enc["input_ids"]),
            "slow_input_ids": other["input_ids"],
        })
    data = {"versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__}, "cases": cases}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
