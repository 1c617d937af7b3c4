#!/usr/bin/env bash
# Create or reuse a virtual environment and install the stack into it.
# Usage: tools/setup_env.sh [VENV]   (default .venv)
# mmcv 2.1.0 has no wheel on PyPI: a prebuilt wheel in $MMCV_WHEELS
# (default ../shared/wheels) is used when present, else pip builds it from
# source with its ops (about 10 minutes on 2 cores) and caches the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
MMCV_WHEELS=${MMCV_WHEELS:-../shared/wheels}
pin() { grep -E "^$1([=<>]|$)" requirements.txt | head -1; }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

"${PIP[@]}" "$(pin torch)" "$(pin setuptools)" "$(pin numpy)" wheel ninja

if ! "$PY" -c "import mmcv, mmcv.ops" 2>/dev/null; then
  if [ -d "$MMCV_WHEELS" ] && "${PIP[@]}" --no-index \
      --find-links "$MMCV_WHEELS" "$(pin mmcv)" --no-deps 2>/dev/null; then
    echo "mmcv: installed the prebuilt wheel from $MMCV_WHEELS"
  else
    echo "mmcv: building from source with ops (about 10 minutes)..."
    # mmcv 2.1.0's setup.py needs an older setuptools to build
    "${PIP[@]}" "setuptools<70"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" \
      --no-build-isolation "$(pin mmcv)"
    "${PIP[@]}" "$(pin setuptools)"
  fi
fi

"${PIP[@]}" -r requirements.txt
"${PIP[@]}" --no-build-isolation --no-deps -e .
"$PY" -c "import mmdet_droploss, mmcv.ops; print('environment ready:', \
'mmdet_droploss', mmdet_droploss.__version__)"
