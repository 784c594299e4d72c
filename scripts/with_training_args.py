"""Runs a reference-harness script (e.g. `finetune_hf.py`) with some `TrainingArguments`
overridden, where the harness has no flag for them:
  - `group_by_length=true` (HF's LengthGroupedSampler) for `cargo xtask bench`'s
    length-grouped rows;
  - `use_cpu=false` (the harness pins the CPU) for `cargo xtask gpu-check`, so HF's Trainer
    runs on CUDA.
Usage: python with_training_args.py NAME=true|false [NAME=...] -- SCRIPT [ARGS...]
"""
import runpy
import sys

import transformers

split = sys.argv.index("--")
overrides = {}
for pair in sys.argv[1:split]:
    name, value = pair.split("=", 1)
    overrides[name] = {"true": True, "false": False}[value]
_init = transformers.TrainingArguments.__init__


def _overridden(self, *args, **kwargs):
    kwargs.update(overrides)
    _init(self, *args, **kwargs)


transformers.TrainingArguments.__init__ = _overridden
script = sys.argv[split + 1]
sys.argv = sys.argv[split + 1:]
runpy.run_path(script, run_name="__main__")
