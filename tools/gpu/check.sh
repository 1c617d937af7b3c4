#!/usr/bin/env bash
# The GPU check, on a single-GPU machine without network (Python 3.12 with
# torch and numpy 2 installed), after tools/gpu/prepare.sh ran elsewhere and
# tools/gpu/cache/ travelled with the working tree. Well within 15 minutes
# on an H100 with 16 cores:
#   1. the loss benchmark on CUDA, float32 and autocast (PyTorch alone);
#   2. DropLoss's loss and gradients on the CPU vs CUDA, same inputs;
#   3. mmcv 2.1.0's CUDA ops built for sm_90 only, with all cores;
#   4. the loss benchmark with the DropLoss module, one epoch of the demo
#      config on CUDA with --amp, and tools/test.py on its checkpoint.
# Everything printed goes to $OUT/check.log as well; a summary of the
# steps to $OUT/summary.txt.
#   device run: bash tools/gpu/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$(realpath -m "${OUT:-work_dirs/gpu_check}")
mkdir -p "$OUT"
exec > >(tee -a "$OUT/check.log") 2>&1
PY=${PYTHON:-python3}
CACHE=tools/gpu/cache
SITE=${SITE:-/tmp/droploss-site}
BUILD=${BUILD:-/tmp/droploss-mmcv}
ARCH=${TORCH_CUDA_ARCH_LIST:-9.0}
export PYTHONUNBUFFERED=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1

summary() { echo "$1: $2" | tee -a "$OUT/summary.txt"; }
step() {  # step NAME TIMEOUT_S COMMAND...
  local name=$1 limit=$2; shift 2
  echo "=== $name ($(date +%T))"
  local start=$SECONDS
  timeout "$limit" "$@"
  local rc=$?
  summary "$name" "rc=$rc, $((SECONDS - start)) s"
  return $rc
}

[ -d "$CACHE/wheels" ] || { echo "no $CACHE: run tools/gpu/prepare.sh" \
  "where the package index is reachable, and carry $CACHE" >&2; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" -c "import torch, numpy; print('torch', torch.__version__, \
'cuda', torch.version.cuda, '| numpy', numpy.__version__, '|', \
torch.cuda.get_device_name())"

step install 120 "$PY" -m pip install -q --no-index --no-deps --no-compile \
  --target "$SITE" "$CACHE"/wheels/*.whl
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"

# 1. before the build: the GPU and the cores are otherwise idle
step bench-loss-float32 180 "$PY" tools/benchmarks/bench_loss.py --full \
  --memory --device cuda
step bench-loss-autocast 180 "$PY" tools/benchmarks/bench_loss.py --full \
  --memory --device cuda --autocast
# 2.
step cpu-vs-cuda 120 "$PY" tools/gpu/compare_devices.py

# 3. mmcv's ops for this torch and this GPU only
rm -rf "$BUILD" && mkdir -p "$BUILD" &&
  tar xzf "$CACHE/mmcv-2.1.0.tar.gz" -C "$BUILD"
(cd "$BUILD/mmcv-2.1.0" &&
  export MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCH" \
    MAX_JOBS=$(nproc) &&
  step build-mmcv 480 "$PY" setup.py -q build_ext --inplace) ||
  { echo "mmcv did not build: the steps that need it are left out"; exit 1; }
export PYTHONPATH="$BUILD/mmcv-2.1.0:$PYTHONPATH"
step mmcv-ops 60 "$PY" -c "import torch; from mmcv.ops import roi_align; \
x = torch.rand(1, 8, 32, 32, device='cuda'); \
r = torch.tensor([[0., 2., 2., 20., 20.]], device='cuda'); \
print('roi_align on CUDA:', tuple(roi_align(x, r, (7, 7)).shape))" || exit 1

# 4. the package on CUDA
step bench-loss-module 180 "$PY" tools/benchmarks/bench_loss.py --full \
  --device cuda
DEMO_CONFIG=$(sed -n 's/^DEMO_CONFIG := //p' Makefile)
WORK="$OUT/demo"
step demo-data 120 make -s demo-data PY="$PY"
step demo-train-amp 300 "$PY" tools/train.py "$DEMO_CONFIG" --amp \
  --work-dir "$WORK" --cfg-options train_cfg.max_epochs=1
step demo-test 180 "$PY" tools/test.py "$DEMO_CONFIG" \
  "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK"
cat "$OUT/summary.txt"
