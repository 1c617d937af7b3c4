#!/usr/bin/env bash
# The loss benchmark on CUDA, for a session lent a GPU: needs PyTorch alone
# (no mmcv build; without MMDetection it times DropLoss's tensor operations,
# drop_loss_ops.py). Full size with memory; well under 3 minutes.
#   device run: bash tools/benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; \
print('GPU:', torch.cuda.get_device_name())"
"$PY" tools/benchmarks/bench_loss.py --full --memory --device cuda
