#!/usr/bin/env bash
# Run on a machine with the package index, before tools/gpu/check.sh is run
# on an offline GPU machine (Python 3.12 with torch and numpy 2 already
# there). Downloads into tools/gpu/cache/ (ignored by git; carry it along):
#   wheels/  the Python 3.12 wheels that such a machine lacks (MMEngine,
#            MMDetection, their small dependencies, the COCO/LVIS evaluation
#            packages, setuptools < 70 whose pkg_resources mmcv's setup.py
#            and mmengine import), and mmcv 2.1.0 with its CUDA ops where
#            tools/gpu/build_mmcv.sh built it (checked against its sha256)
#   mmcv-2.1.0.tar.gz  mmcv's source release: build_mmcv.sh's input, and
#            built on the GPU machine by check.sh where the wheel is absent
# Prints the folder's size: what travels must stay under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")"
CACHE=cache
PYVER=${PYVER:-3.12}
mkdir -p "$CACHE/wheels"

# exact versions: one of each, as pip installs them there with --no-deps
WHEELS=(
  mmengine==0.10.7 mmdet==3.3.0 addict==2.4.0 yapf==0.43.0
  platformdirs==4.3.6 termcolor==2.5.0 terminaltables==3.1.10
  shapely==2.0.6 pycocotools==2.0.8 faster-coco-eval==1.8.0 lvis==0.5.3
  setuptools==69.5.1
)
python3 -m pip download -q --disable-pip-version-check --no-deps \
  --only-binary=:all: --python-version "$PYVER" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d "$CACHE/wheels" "${WHEELS[@]}"

# The sdist itself, without running its setup.py (which imports torch):
# its address from PyPI's simple index, checked against the index's hash.
SDIST="$CACHE/mmcv-2.1.0.tar.gz"
if [ ! -f "$SDIST" ]; then
  URL=$(curl -fsSL -H 'Accept: text/html' https://pypi.org/simple/mmcv/ |
    grep -o 'https://[^"]*/mmcv-2\.1\.0\.tar\.gz#sha256=[0-9a-f]*' | head -1)
  [ -n "$URL" ] || { echo "mmcv-2.1.0.tar.gz not found on PyPI" >&2; exit 1; }
  curl -fsSL -o "$SDIST" "${URL%%#*}"
  echo "${URL##*sha256=}  $SDIST" | sha256sum -c -
fi

BUILT=mmcv-build/dist/mmcv-2.1.0-cp312-cp312-linux_x86_64.whl
if [ -f "$BUILT" ]; then
  (cd "$(dirname "$BUILT")" && sha256sum -c --quiet "$(basename "$BUILT").sha256")
  cp "$BUILT" "$CACHE/wheels/"
else
  rm -f "$CACHE/wheels/$(basename "$BUILT")"
  echo "no $BUILT: check.sh will compile mmcv on the GPU machine" \
    "(bash tools/gpu/build_mmcv.sh builds it here)"
fi

ls -1 "$CACHE/wheels" "$SDIST"
du -sh "$CACHE"
