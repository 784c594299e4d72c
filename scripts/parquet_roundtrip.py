"""Parquet both ways with the Python stack the reference harness pins (datasets 4.8.5,
pyarrow 26.0.1), for crates/bertrs-cli/tests/hf_roundtrip.rs:

  parquet_roundtrip.py write DIR        datasets writes DIR/train.parquet and
                                        DIR/validation.parquet: id, text and a ClassLabel
                                        label whose names are not sorted (pos, neg)
  parquet_roundtrip.py read FILE OUT    pyarrow reads FILE (our predict output) into JSON lines
"""

import json
import sys

WORDS = ["good", "bad", "funny", "sad", "film", "plot", "boring", "fun"]


def text(i):
    return " ".join(WORDS[(i * 5 + k * 3 + i // 2) % len(WORDS)] for k in range(4))


def write(out_dir):
    import datasets

    features = datasets.Features(
        {
            "id": datasets.Value("int64"),
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["pos", "neg"]),
        }
    )
    for split, ids in [("train", range(0, 40)), ("validation", range(40, 52))]:
        ds = datasets.Dataset.from_dict(
            {"id": list(ids), "text": [text(i) for i in ids], "label": [i % 2 for i in ids]},
            features=features,
        )
        ds.to_parquet(f"{out_dir}/{split}.parquet")


def read(path, out):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    with open(out, "w") as f:
        for row in table.to_pylist():
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        read(sys.argv[2], sys.argv[3])
