# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Training-iteration time: DropLoss Mask R-CNN against the sigmoid baseline.

Both models come from their configs (``configs/droploss_r50_lvis.py`` and
``configs/baselines/sigmoid_r50_lvis.py``) with the same reductions, start
from the same weights and see the same batch of synthetic LVIS-format
images; one iteration is forward, backward and an SGD step. Before each
timed iteration both models are reset to the same weights (untimed), so
that they differ in the classification loss alone and not in where their
updates have taken the proposals. Runs are interleaved and seeded alike;
medians and the ratio are printed.
"""
import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmdet_droploss.datasets import frequencies_from_annotations
from mmdet_droploss.models import DropLoss
from mmdet_droploss.testing.synthetic_lvis import (
    make_synthetic_lvis,
    synthetic_train_batch,
)

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
QUICK = {'model.backbone.depth': 18,
         'model.neck.in_channels': [64, 128, 256, 512]}


def build(config: str, reduce: bool, device: str, freq) -> torch.nn.Module:
    cfg = Config.fromfile(str(CONFIGS / config))
    import_modules_from_strings(**cfg.custom_imports)
    cfg.model.backbone.init_cfg = None
    if reduce:
        cfg.merge_from_dict(QUICK)
    model = MODELS.build(cfg.model)
    for loss in model.modules():
        if isinstance(loss, DropLoss) and loss.uses_category_freq:
            loss.set_category_freq(freq)
    return model.to(device).train()


def iteration(model, optimizer, batch, seed: int, device: str) -> float:
    torch.manual_seed(seed)
    if device == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    data = model.data_preprocessor(batch, True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if device == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--full', action='store_true',
                        help='R50 backbone, 2 images of 320 px (default: '
                        'R18, 2 images of 160 px)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--repeats', type=int, default=7)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    init_default_scope('mmdet')
    size = 320 if args.full else 160
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_synthetic_lvis(tmp, seed=0, num_train=2, num_val=1,
                                    image_size=size, num_active=8,
                                    max_objects=5)
        batch = synthetic_train_batch(tmp)
        freq = frequencies_from_annotations(paths['train'])
    torch.manual_seed(0)
    models: Dict[str, torch.nn.Module] = {
        'sigmoid': build('baselines/sigmoid_r50_lvis.py', not args.full,
                         args.device, freq),
        'droploss': build('droploss_r50_lvis.py', not args.full,
                          args.device, freq)
    }
    # same weights; the frequency buffer (NaN for plain BCE) stays per model
    weights = {k: v for k, v in models['droploss'].state_dict().items()
               if not k.endswith('category_freq')}
    models['sigmoid'].load_state_dict(weights, strict=False)
    optimizers = {
        name: torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9)
        for name, m in models.items()
    }
    initial = {name: copy.deepcopy(m.state_dict())
               for name, m in models.items()}
    for name in models:  # warm-up
        iteration(models[name], optimizers[name], batch, 0, args.device)
    times = {name: [] for name in models}
    for rep in range(args.repeats):
        for name in models:
            models[name].load_state_dict(initial[name])
            times[name].append(
                iteration(models[name], optimizers[name], batch, rep + 1,
                          args.device))
    med = {name: statistics.median(t) for name, t in times.items()}
    backbone = 'R50' if args.full else 'R18'
    print(f'Mask R-CNN {backbone}-FPN, 1203 classes, 2 images of {size} px, '
          f'{args.device}, median of {args.repeats} iterations')
    for name, t in med.items():
        print(f'{name:>9}: {t:7.3f} s')
    print(f'iteration time droploss / sigmoid: '
          f'{med["droploss"] / med["sigmoid"]:.3f}')


if __name__ == '__main__':
    main()
