"""Runs a reference-harness script (e.g. `finetune_hf.py`) with HF's `group_by_length=True`
(LengthGroupedSampler), for `cargo xtask bench --group-by-length`; the harness itself has no
flag for it. Usage: python with_group_by_length.py SCRIPT [ARGS...]
"""
import runpy
import sys

import transformers

_init = transformers.TrainingArguments.__init__


def _grouped(self, *args, **kwargs):
    kwargs["group_by_length"] = True
    _init(self, *args, **kwargs)


transformers.TrainingArguments.__init__ = _grouped
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
