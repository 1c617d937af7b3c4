#!/usr/bin/env bash
# Makes tools/gpu/py312/ (ignored by git, never carried): a Python 3.12 venv
# holding what the GPU machine has before tools/gpu/check.sh installs
# anything, in the same builds (torch 2.11.0+cu130 from PyPI runs on the CPU
# here). tools/gpu/build_mmcv.sh compiles mmcv against its torch, and
# `check.sh --dry-run` rehearses the check with its Python. About 5 GB;
# a minute from pip's cache.
#   bash tools/gpu/base_env.sh        (PY312=/path/to/python3.12 to choose)
set -euo pipefail
cd "$(dirname "$0")"
VENV=py312
# The GPU machine's image, as the device tool's pages list it: torch,
# torchvision and numpy in its versions (2.11.0, 0.26.0, 2.5.2), and of its
# many other packages those our stack imports (versions there unlisted:
# pinned as resolved here on 2026-12-04). What it lacks, prepare.sh
# fetches as wheels.
BASE=(torch==2.11.0 torchvision==0.26.0 numpy==2.5.2
      opencv-python-headless==5.1.0.95 matplotlib==3.11.2 scipy==1.18.1
      pyyaml==6.0.4 rich==15.0.0 tqdm==4.70.1 six==1.17.0 packaging==26.4
      requests==2.34.2)

if [ -z "${PY312:-}" ]; then
  if command -v pyenv > /dev/null && pyenv versions --bare | grep -qx '3\.12\..*'; then
    PY312="env PYENV_VERSION=$(pyenv versions --bare | grep -x '3\.12\..*' |
      tail -1) $(pyenv root)/shims/python3.12"
  else
    PY312=python3.12
  fi
fi
if [ ! -x "$VENV/bin/python" ]; then
  $PY312 -m venv "$VENV" || { echo "no Python 3.12 (set PY312=...)" >&2; exit 1; }
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${BASE[@]}"
"$VENV/bin/python" -c "import torch, numpy, cv2, torchvision; \
print('base env:', torch.__version__, 'cuda', torch.version.cuda, '| numpy', \
numpy.__version__, '| opencv', cv2.__version__)"
