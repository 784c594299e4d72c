#!/usr/bin/env bash
# Sets up PyTorch 2.9.0 + transformers 4.57.6 (scripts/requirements-ref.txt, the reference
# harness's pins) in DIR/venv, for two uses:
#   - the `tch` backend: libtorch is the torch wheel's own libraries (tch 0.22 needs exactly
#     2.9.0), seen through a view directory DIR/libtorch holding its headers and the CPU
#     libraries only (leaving libtorch_cuda.so out keeps CUDA out of the link; DESIGN.md);
#   - the Python side of the HF round-trip tests: DIR/venv/bin/python (BERT_REF_PYTHON).
#   scripts/setup-torch.sh DIR   → prints the LIBTORCH directory to use
set -euo pipefail
dir="${1:?usage: setup-torch.sh DIR}"
venv="$dir/venv"
reqs="$(dirname "$0")/requirements-ref.txt"
stamp="$venv/.complete-$(sha256sum "$reqs" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs" >&2
  touch "$stamp"
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
view="$dir/libtorch"
mkdir -p "$view/lib"
ln -sfn "$site/torch/include" "$view/include"
for f in libtorch_cpu.so libtorch.so libc10.so libgomp.so.1; do
  ln -sf "$site/torch/lib/$f" "$view/lib/$f"
done
echo "$view"
