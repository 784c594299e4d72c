"""Runs a reference-harness script (`finetune_hf.py`) on the GPU: the harness pins the CPU
(`use_cpu=True`); this flips it, so HF's Trainer puts the model and batches on CUDA, for
`cargo xtask gpu-check`. Usage: python on_cuda.py SCRIPT [ARGS...]
"""
import runpy
import sys

import transformers

_init = transformers.TrainingArguments.__init__


def _on_cuda(self, *args, **kwargs):
    kwargs["use_cpu"] = False
    _init(self, *args, **kwargs)


transformers.TrainingArguments.__init__ = _on_cuda
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
