#!/usr/bin/env bash
# Create or reuse a virtual environment and install one supported stack.
# Usage: tools/setup_env.sh [STACK] [VENV]
#   STACK: newest (default; torch 2.13, numpy 2) or gpu-users (torch 2.1.2,
#          numpy 1.26); requirements/STACK.txt holds its exact versions.
#   VENV:  default .venv for newest, .venv-compat for gpu-users.
# The venv first gets torch, numpy and setuptools, then mmcv 2.1.0 with its
# ops, then everything else from `pip install -e .[tests,analysis,lint]`
# (pyproject.toml), constrained to the stack's versions. mmcv has no wheel
# on PyPI: a prebuilt wheel in $MMCV_WHEELS (default ../shared/wheels for
# newest, ../shared/wheels/torch-2.1.2 for gpu-users) is used when present;
# otherwise mmcv is built from source (about 10 to 20 minutes on 2 cores)
# into a wheel cache of its own per torch version, since an mmcv built
# against one torch does not load with another.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${1:-newest}
case "$STACK" in
  newest) VENV=${2:-.venv}; WHEELS=${MMCV_WHEELS:-../shared/wheels} ;;
  gpu-users) VENV=${2:-.venv-compat}
    WHEELS=${MMCV_WHEELS:-../shared/wheels/torch-2.1.2} ;;
  *) echo "unknown stack '$STACK': use newest or gpu-users" >&2; exit 2 ;;
esac
CONSTRAINTS="requirements/$STACK.txt"
pin() { grep -E "^$1==" "$CONSTRAINTS" | head -1; }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

# torchvision where the stack pins it: MMEngine finds the configs' ImageNet
# weights (torchvision://resnet50) through it
VISION=$(pin torchvision || true)
"${PIP[@]}" -c "$CONSTRAINTS" "$(pin torch)" ${VISION:+"$VISION"} \
  "$(pin numpy)" "$(pin setuptools)" wheel ninja

if ! "$PY" -m pip show -q mmcv >/dev/null 2>&1; then
  if [ -d "$WHEELS" ] && "${PIP[@]}" --no-index --no-deps \
      --find-links "$WHEELS" "$(pin mmcv)" 2>/dev/null; then
    echo "mmcv: installed the prebuilt wheel from $WHEELS"
  else
    TORCH=$("$PY" -c "import torch; print(torch.__version__)")
    CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mmdet-droploss/mmcv-torch-$TORCH"
    if ! ls "$CACHE"/mmcv-*.whl >/dev/null 2>&1; then
      echo "mmcv: building from source with ops against torch $TORCH" \
        "(10 to 20 minutes)..."
      # mmcv 2.1.0's setup.py imports pkg_resources from an old setuptools
      "${PIP[@]}" "setuptools<70"
      MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "$PY" -m pip wheel -q \
        --disable-pip-version-check --no-build-isolation --no-deps \
        --no-cache-dir -w "$CACHE" "$(pin mmcv)"
      "${PIP[@]}" "$(pin setuptools)"
    fi
    "${PIP[@]}" --no-index --no-deps --find-links "$CACHE" "$(pin mmcv)"
  fi
fi

# everything else comes from the package's own dependencies
"${PIP[@]}" -c "$CONSTRAINTS" --no-build-isolation -e ".[tests,analysis,lint]"
"$PY" -c "import mmcv.ops" || { echo "mmcv's ops do not load in $VENV" \
  "(a wheel built for another torch?): delete $VENV and rerun with" \
  "MMCV_WHEELS=none to build mmcv from source" >&2; exit 1; }
"$PY" -c "import mmdet_droploss, mmcv.ops, torch, numpy; print('environment \
ready:', 'mmdet_droploss', mmdet_droploss.__version__, '| torch', \
torch.__version__, '| numpy', numpy.__version__)"
