"""Seed inputs for the fuzz targets (fuzz/corpus/<target>/), small valid examples of each
format that libFuzzer mutates from. Run with the reference harness's Python (torch for the
pytorch_model.bin seed, pyarrow for the Parquet ones): `python scripts/make_fuzz_seeds.py`.

The first byte of a data_rows input picks the format and compression (fuzz/targets.rs):
format = b % 4 (CSV, TSV, JSONL, JSON array), compression = (b // 4) % 3 (none, gzip,
bzip2), bit 0x40 reads a `group` column, bit 0x80 a `|` label delimiter.
"""

import bz2
import gzip
import io
import json
import pathlib
import struct

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
TINY = ROOT / "fixtures" / "tiny"


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


csv = "text,label,group\ngood film,pos,m1\n\"bad, dull\",neg,m2\nfine,pos,m1\n"
tsv = "sentence1\tsentence2\tlabel\na cat\ta dog\t1\nyes\tno\t0\n"
jsonl = '{"text": "great", "label": ["a", "b"], "group": "g1"}\n{"text": "meh", "text_pair": "ok", "label": []}\n'
array = '[{"text": "a", "label": 1.5}, {"text": "b", "label": 2}]'
put("data_rows", "csv", bytes([0x40]) + csv.encode())
put("data_rows", "tsv", bytes([1]) + tsv.encode())
put("data_rows", "jsonl", bytes([0x42]) + jsonl.encode())
put("data_rows", "json", bytes([3]) + array.encode())
put("data_rows", "csv_gz", bytes([4]) + gzip.compress(csv.encode(), mtime=0))
put("data_rows", "jsonl_bz2", bytes([10]) + bz2.compress(jsonl.encode()))
put("data_rows", "csv_multilabel", bytes([0x80]) + b"text,label\nx,a|b\ny,b\n")


def safetensors_bytes(tensors):
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


put("safetensors", "f32_f16_bf16", safetensors_bytes({
    "bert.embeddings.LayerNorm.gamma": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
    "classifier.bias": ("F16", [2], struct.pack("<2e", 0.5, -1)),
    "bert.pooler.dense.bias": ("BF16", [1], b"\x80\x3f"),
}))
put("safetensors", "int", safetensors_bytes({"x": ("I64", [1], struct.pack("<q", 7))}))

buf = io.BytesIO()
torch.save({"bert.embeddings.word_embeddings.weight": torch.arange(6, dtype=torch.float32).reshape(3, 2),
            "classifier.bias": torch.tensor([0.5, -1.0], dtype=torch.float16)}, buf)
put("pytorch_bin", "state_dict", buf.getvalue())

for kind in ["single_label_classification", "multi_label_classification", "regression"]:
    put("config_json", kind, (TINY / kind / "config.json").read_bytes())

tiny = TINY / "single_label_classification"
parts = [(tiny / f).read_bytes() for f in ["tokenizer.json", "vocab.txt", "tokenizer_config.json"]]
put("tokenizer_dir", "json_vocab_config", b"\0\0".join(parts + [b"Hello, world! A test."]))
put("tokenizer_dir", "vocab_only", b"\0\0".join([b"", parts[1], b"", "naïve café 中文".encode()]))

put("toml_config", "typical", 'learning_rate = 3e-5\nepochs = 2\nbatch_size = 16\nload_best_model_at_end = true\n'
    'metric_for_best_model = "accuracy"\neval_strategy = "epoch"\nsave_strategy = "epoch"\n')
put("toml_config", "odd", 'model = "--overwrite-output-dir"\nseed = -1\nweight_decay = nan\nresume = true\n')


def parquet_seeds():
    """Parquet seeds (pyarrow, as pandas and `datasets` write): a `datasets` ClassLabel split,
    lists and floats in small zstd row groups, dictionary-encoded text with gzip."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def parquet(table, **kw):
        out = io.BytesIO()
        pq.write_table(table, out, **kw)
        return out.getvalue()

    hf = json.dumps({"info": {"features": {"text": {"dtype": "string", "_type": "Value"},
                                           "label": {"names": ["pos", "neg"], "_type": "ClassLabel"}}}})
    t = pa.table({"text": ["good film", "bad, dull", "fine"], "label": pa.array([0, 1, 0], pa.int64())})
    put("parquet_rows", "classlabel", parquet(t.replace_schema_metadata({"huggingface": hf})))
    t = pa.table({"sentence1": ["a", "b", "c", "d"], "sentence2": ["w", None, "y", "z"],
                  "label": [["x"], [], ["x", "y"], None], "score": pa.array([0.5, 1.0, 2.5, 4.0], pa.float32())})
    put("parquet_rows", "lists_zstd", parquet(t, compression="zstd", row_group_size=2))
    t = pa.table({"text": pa.array(["same", "other", "same"]).dictionary_encode(), "label": pa.array([1.5, 2.0, -1.0])})
    put("parquet_rows", "dict_gzip", parquet(t, compression="gzip"))


parquet_seeds()
