#!/usr/bin/env bash
# Sets up libtorch 2.9.0 for the `tch` backend without the 3.8 GB CUDA install (DESIGN.md):
# the torch wheel from PyPI without dependencies, and a view directory holding its headers
# and the CPU libraries only (leaving libtorch_cuda.so out keeps CUDA out of the link).
#   scripts/setup-libtorch.sh DIR   → prints the LIBTORCH directory to use
set -euo pipefail
dir="${1:?usage: setup-libtorch.sh DIR}"
venv="$dir/venv"
if [ ! -f "$venv/.complete" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --no-deps torch==2.9.0 nvidia-cuda-runtime-cu12==12.8.90 \
    nvidia-cuda-cupti-cu12==12.8.90 >&2
  touch "$venv/.complete"
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
view="$dir/libtorch"
mkdir -p "$view/lib"
ln -sfn "$site/torch/include" "$view/include"
for f in libtorch_cpu.so libtorch.so libc10.so libgomp.so.1; do
  ln -sf "$site/torch/lib/$f" "$view/lib/$f"
done
echo "$view"
