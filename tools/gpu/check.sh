#!/usr/bin/env bash
# The GPU check, on a single-GPU machine without network (Python 3.12 with
# torch, numpy 2 and opencv installed), after tools/gpu/prepare.sh ran
# elsewhere and tools/gpu/cache/ travelled with the working tree:
#   1. install the cached wheels (mmcv's prebuilt CUDA wheel among them when
#      tools/gpu/build_mmcv.sh made it; otherwise mmcv is compiled here, in
#      step 4, and the loss benchmarks below use the tensor operations);
#   2. the loss benchmark on CUDA, float32 and autocast, with peak memory;
#   3. DropLoss's loss and gradients on the CPU vs CUDA, same inputs;
#   4. mmcv's CUDA ops: RoIAlign on the GPU;
#   5. one epoch of the demo config with --amp, and tools/test.py on it;
#   6. the LVIS-shaped experiment (tools/gpu/lvis_like_experiment.py):
#      sigmoid, EQL and DropLoss trained at once for as many epochs as the
#      rest of a 540 s budget holds (at most 20x the CPU runs' iterations),
#      tested under the standard protocol and Fixed AP.
# 540 s: one command of the device tool runs 600 s at most, and the
# session's 15 minutes include the machine's start; CHECK_LIMIT_S changes
# it. Checkpoints are deleted at the end (they would not travel back).
# Everything printed goes to $OUT/check.log as well; each step's status and
# seconds to $OUT/summary.txt.
#
# Timings (seconds). CPU: `bash tools/gpu/check.sh --dry-run` on 2 cores,
# tiny sizes, measured; H200: estimated from them (the steps' fixed costs,
# process starts and imports, at the CPU's measure; their work on the GPU),
# and the experiment fills the budget it is given by design:
#   step                 CPU dry run   H200 estimate
#   install                        2              15
#   bench-loss x 2                49              60
#   cpu-vs-device                  2              10
#   mmcv-ops                       3               5
#   demo (data, train, test)      27              60
#   experiment                   106   what is left: 540 - the above
#   in all                       195   540 at most (9 minutes)
#
#   device run: bash tools/gpu/check.sh
#   rehearsal:  bash tools/gpu/check.sh --dry-run   (tests/test_tools/test_gpu_check.py)
# --dry-run runs every step on the CPU with tiny sizes, offline (in a network
# namespace of its own), with tools/gpu/py312/ (tools/gpu/base_env.sh: the
# GPU machine's packages) and exactly the cached wheels, installed with
# --no-index into a scratch folder; it fails where the GPU run would, but
# for the missing GPU.
set -uo pipefail
DRY=0
[ "${1:-}" = --dry-run ] && DRY=1
cd "$(dirname "$0")/../.."
CACHE=tools/gpu/cache
if [ $DRY = 1 ] && [ -z "${CHECK_OFFLINE:-}" ]; then
  unshare -n true 2> /dev/null || {
    echo "--dry-run: cannot make a network namespace (unshare -n needs" \
      "root or user namespaces); to rehearse with the network reachable," \
      "set CHECK_OFFLINE=no" >&2; exit 1; }
  CHECK_OFFLINE=namespace exec unshare -n bash "$0" "$@"
fi

START=$SECONDS
LIMIT=${CHECK_LIMIT_S:-540}
if [ $DRY = 1 ]; then
  OUT=$(realpath -m "${OUT:-work_dirs/gpu_check_dry}")
  PY=${PYTHON:-tools/gpu/py312/bin/python}
  SITE=$OUT/site
  DEVICE=cpu
  # nothing of the caller's environment: only the base env and the wheels
  unset PYTHONPATH VIRTUAL_ENV PYTHONHOME
  export PYTHONNOUSERSITE=1 PIP_NO_INDEX=1
  [ -x "$PY" ] || { echo "no $PY: run bash tools/gpu/base_env.sh" >&2
    exit 1; }
else
  OUT=$(realpath -m "${OUT:-work_dirs/gpu_check}")
  PY=${PYTHON:-python3}
  SITE=${SITE:-/tmp/droploss-site}
  DEVICE=cuda
fi
BUILD=${BUILD:-/tmp/droploss-mmcv}
ARCH=${TORCH_CUDA_ARCH_LIST:-9.0}
mkdir -p "$OUT" && rm -f "$OUT/summary.txt"
exec > >(tee -a "$OUT/check.log") 2>&1
export PYTHONUNBUFFERED=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1

summary() { echo "$1: $2" | tee -a "$OUT/summary.txt"; }
step() {  # step NAME TIMEOUT_S COMMAND...
  local name=$1 limit=$2; shift 2
  echo "=== $name ($(date +%T))"
  local start=$SECONDS
  timeout "$limit" "$@"
  local rc=$?
  summary "$name" "rc=$rc, $((SECONDS - start)) s"
  [ $rc = 0 ] || FAILED=1
  return $rc
}
FAILED=0
# the exit status: 1 where a step failed
finish() {
  find "$OUT" -name '*.pth' -delete
  summary "in all" "$((SECONDS - START)) s, failed=$FAILED"
  exit $(( $1 | FAILED )); }

[ -d "$CACHE/wheels" ] || { echo "no $CACHE: run tools/gpu/prepare.sh" \
  "where the package index is reachable, and carry $CACHE" >&2; exit 1; }
[ $DRY = 1 ] && echo "dry run on the CPU (offline: ${CHECK_OFFLINE})" ||
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" -c "import torch, numpy; print('torch', torch.__version__, \
'cuda', torch.version.cuda, '| numpy', numpy.__version__, '|', \
torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"

# 1. the cached wheels alone, mmcv's too when it was built beforehand
rm -rf "$SITE"
step install 120 "$PY" -m pip install -q --no-index --no-deps --no-compile \
  --target "$SITE" "$CACHE"/wheels/*.whl || finish 1
export PYTHONPATH="$SITE:$PWD"

# 2. and 3.: the GPU and the cores otherwise idle
if [ $DRY = 1 ]; then SIZE=(--repeats 2); else SIZE=(--full); fi
step bench-loss-float32 180 "$PY" tools/benchmarks/bench_loss.py \
  "${SIZE[@]}" --memory --device "$DEVICE"
step bench-loss-autocast 180 "$PY" tools/benchmarks/bench_loss.py \
  "${SIZE[@]}" --memory --device "$DEVICE" --autocast
step cpu-vs-device 120 "$PY" tools/gpu/compare_devices.py --device "$DEVICE"

# 4. mmcv: the prebuilt wheel, or its sources compiled here for this GPU
if ! "$PY" -c "import mmcv.ops" 2> /dev/null; then
  if [ $DRY = 1 ]; then
    echo "no prebuilt mmcv wheel in $CACHE/wheels: run" \
      "bash tools/gpu/build_mmcv.sh, then bash tools/gpu/prepare.sh" >&2
    finish 1
  fi
  rm -rf "$BUILD" && mkdir -p "$BUILD" &&
    tar xzf "$CACHE/mmcv-2.1.0.tar.gz" -C "$BUILD"
  [ ! -f tools/gpu/mmcv-2.1.0-cuda13.patch ] ||
    (cd "$BUILD/mmcv-2.1.0" && patch -p1 < "$OLDPWD/tools/gpu/mmcv-2.1.0-cuda13.patch")
  (cd "$BUILD/mmcv-2.1.0" &&
    export MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCH" \
      MAX_JOBS=$(nproc) &&
    step build-mmcv 480 "$PY" setup.py -q build_ext --inplace) || {
    echo "mmcv did not build: the steps that need it are left out"
    finish 1; }
  export PYTHONPATH="$BUILD/mmcv-2.1.0:$PYTHONPATH"
fi
step mmcv-ops 60 "$PY" -c "import torch, mmcv; \
from mmcv.ops import roi_align; \
x = torch.rand(1, 8, 32, 32, device='$DEVICE'); \
r = torch.tensor([[0., 2., 2., 20., 20.]], device='$DEVICE'); \
print('mmcv', mmcv.__version__, 'roi_align on $DEVICE:', \
tuple(roi_align(x, r, (7, 7)).shape))" || finish 1

# 5. the package on the device: the demo, one epoch with --amp
DEMO_CONFIG=$(sed -n 's/^DEMO_CONFIG := //p' Makefile)
WORK="$OUT/demo"
if [ $DRY = 1 ]; then
  TINY_TRAIN=(train_dataloader.dataset.indices=8)
  TINY_TEST=(--cfg-options test_dataloader.dataset.indices=4)
else
  TINY_TRAIN=() TINY_TEST=()
fi
step demo-data 120 make -s demo-data PY="$PY"
step demo-train-amp 300 "$PY" tools/train.py "$DEMO_CONFIG" --amp \
  --work-dir "$WORK" --cfg-options train_cfg.max_epochs=1 "${TINY_TRAIN[@]}" &&
step demo-test 180 "$PY" tools/test.py "$DEMO_CONFIG" \
  "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK" "${TINY_TEST[@]}"

# 6. the experiment gets what is left of the budget, less the testing
TEST_S=100
BUDGET=$((LIMIT - (SECONDS - START) - TEST_S))
if [ $DRY = 1 ]; then
  # sizes nothing: 2 iterations, whatever the budget
  EXP=(--dry-run --workers 1 --budget-s 330) EXP_LIMIT=900
else
  EXP=(--budget-s "$BUDGET") EXP_LIMIT=$((2 * BUDGET + 300))
fi
if [ $BUDGET -gt 60 ] || [ $DRY = 1 ]; then
  step lvis-like-experiment $EXP_LIMIT "$PY" \
    tools/gpu/lvis_like_experiment.py --work-dir "$OUT/lvis_like" "${EXP[@]}"
else
  summary lvis-like-experiment "not run: ${BUDGET} s left of the budget"
fi
finish 0
