#!/usr/bin/env bash
# Builds mmcv 2.1.0's wheel with its CUDA ops for the GPU machine (an H200:
# compute capability 9.0; Python 3.12, torch 2.11.0+cu130, CUDA 13.0) on a
# machine without a GPU, so that tools/gpu/check.sh installs it instead of
# compiling for minutes of the GPU session.
#   - torch: tools/gpu/py312/ (tools/gpu/base_env.sh), the GPU machine's build;
#   - nvcc 13.0 and CUDA's headers and libraries: NVIDIA's PyPI packages,
#     installed into mmcv-build/cuda/ and used as CUDA_HOME (or CUDA_HOME=...);
#   - mmcv's source: tools/gpu/cache/mmcv-2.1.0.tar.gz (tools/gpu/prepare.sh),
#     with tools/gpu/mmcv-2.1.0-cuda13.patch applied (each change explained
#     there);
#   - sm_90 only; symbols stripped at link (LDFLAGS=-s) to keep it small.
# Writes tools/gpu/mmcv-build/dist/mmcv-2.1.0-cp312-cp312-linux_x86_64.whl
# and its .sha256 (ignored by git; prepare.sh copies it into the cache that
# travels), then checks that `import mmcv.ops` loads it on the CPU.
# Two cores: 23 minutes at nice 19 (136 files, 58 of them CUDA); no patch
# was needed. ninja keeps going after a failure (-k 0), so one run names
# every file that does not compile (build.log).
#   bash tools/gpu/build_mmcv.sh          (MAX_JOBS, ARCH to change)
set -euo pipefail
cd "$(dirname "$0")"
GPU=$PWD
WORK=$GPU/mmcv-build
SDIST=$GPU/cache/mmcv-2.1.0.tar.gz
PATCH=$GPU/mmcv-2.1.0-cuda13.patch
PY=$GPU/py312/bin/python
ARCH=${ARCH:-9.0}
WHEEL=$WORK/dist/mmcv-2.1.0-cp312-cp312-linux_x86_64.whl
mkdir -p "$WORK"
exec > >(tee "$WORK/build.log") 2>&1

[ -f "$SDIST" ] || bash prepare.sh
[ -x "$PY" ] || bash base_env.sh
pip_target() {  # pip_target DIR PACKAGE...
  local dir=$1; shift
  "$PY" -m pip install -q --disable-pip-version-check --no-deps \
    --target "$dir" "$@"
}
installed() {  # the version of a distribution in the base env
  "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"
}

# build tools, kept out of the base env (the dry run must not see them):
# setuptools < 70 for the pkg_resources mmcv's setup.py imports
[ -d "$WORK/tools/ninja" ] ||
  pip_target "$WORK/tools" setuptools==69.5.1 wheel==0.45.1 ninja==1.13.0
# ninja goes on past a failing file, so that one run lists them all
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec "%s" -k 0 "$@"\n' "$WORK/tools/bin/ninja" \
  > "$WORK/bin/ninja"
chmod +x "$WORK/bin/ninja"

if [ -z "${CUDA_HOME:-}" ]; then
  # the compiler of CUDA 13.0 and the headers of the libraries torch links,
  # in the versions torch's own dependencies are
  CUDA_HOME=$WORK/cuda/nvidia/cu13
  [ -x "$CUDA_HOME/bin/nvcc" ] || pip_target "$WORK/cuda" \
    nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
    nvidia-cuda-cccl==13.0.85 \
    "nvidia-cuda-runtime==$(installed nvidia-cuda-runtime)" \
    "nvidia-cublas==$(installed nvidia-cublas)" \
    "nvidia-cusparse==$(installed nvidia-cusparse)" \
    "nvidia-cusolver==$(installed nvidia-cusolver)" \
    "nvidia-curand==$(installed nvidia-curand)" \
    "nvidia-cufft==$(installed nvidia-cufft)" \
    "nvidia-nvtx==$(installed nvidia-nvtx)"
  # the layout torch's cpp_extension expects of a CUDA_HOME
  ln -sfn lib "$CUDA_HOME/lib64"
  ln -sf libcudart.so.13 "$CUDA_HOME/lib/libcudart.so"
fi
"$CUDA_HOME/bin/nvcc" --version | tail -1

SRC=$WORK/src/mmcv-2.1.0
rm -rf "$WORK/src" && mkdir -p "$WORK/src" && tar xzf "$SDIST" -C "$WORK/src"
[ ! -f "$PATCH" ] || (cd "$SRC" && patch -p1 < "$PATCH")

start=$SECONDS
(cd "$SRC" &&
  PATH="$WORK/bin:$WORK/tools/bin:$CUDA_HOME/bin:$PATH" \
  PYTHONPATH="$WORK/tools" CUDA_HOME="$CUDA_HOME" \
  MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCH" \
  MAX_JOBS=${MAX_JOBS:-$(nproc)} LDFLAGS=-s \
  nice -n 19 "$PY" setup.py -q bdist_wheel -d "$WORK/dist")
echo "built in $(( (SECONDS - start) / 60 )) min"
(cd "$WORK/dist" && sha256sum "$(basename "$WHEEL")" | tee "$WHEEL.sha256")
du -h "$WHEEL"

# it loads beside the base env's torch, on the CPU, with the mmengine it
# imports (prepare.sh's wheels), installed as check.sh installs them
rm -rf "$WORK/site" &&
  "$PY" -m pip install -q --no-index --no-deps --target "$WORK/site" \
    "$WHEEL" "$GPU"/cache/wheels/{mmengine,addict,yapf,platformdirs,termcolor}-*.whl
PYTHONPATH="$WORK/site" "$PY" -c "import mmcv, mmcv.ops, torch; \
from mmcv.ops import roi_align; \
x = torch.rand(1, 2, 8, 8); r = torch.tensor([[0., 1., 1., 6., 6.]]); \
print('mmcv', mmcv.__version__, 'ops load; roi_align on the CPU:', \
tuple(roi_align(x, r, (2, 2)).shape))"
