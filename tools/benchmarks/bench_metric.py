# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""End-to-end LVIS evaluation time: FastLVISMetric against lvis-api.

A synthetic LVIS v1-like validation set (1203 categories, long-tailed,
federated fields) is generated with ``make_synthetic_lvis``, and detections
near its ground truth with ``synthetic_detections`` (boxes and box-shaped
masks, a fixed number per image). Both evaluators start from the same
per-image records (what ``process`` keeps) and the annotation file path:
loading, conversion, bbox and segm evaluation are all timed. Runs are
interleaved; medians are printed, then the largest difference between the
two evaluators' numbers, then the speed-up.

Besides the standard protocol against lvis-api, ``--modes`` times the
other protocols of FastLVISMetric on the same detections, each against the
standard mode in the same run: ``fixed`` (Fixed AP: no per-image cap,
10,000 per category, bbox + segm) and ``boundary`` (Boundary AP, the
'boundary' IoU type alone, timed against 'segm' alone). They print their
medians and ratios.

lvis-api 0.5.3 uses ``np.float``, removed in numpy 1.24: this script lends
the alias to the reference while it runs (the product never does).
"""
import argparse
import copy
import functools
import json
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
from mmengine.logging import MMLogger

from mmdet_droploss.evaluation import FastLVISMetric
from mmdet_droploss.evaluation.fast_lvis_metric import (
    RESULT_KEYS,
    lvis_results,
)
from mmdet_droploss.testing.synthetic_lvis import (
    make_synthetic_lvis,
    synthetic_detections,
)

IOU_TYPES = ('bbox', 'segm')


def run_ours(ann_file: str, results: List[Dict],
             **kwargs) -> Dict[str, float]:
    kwargs.setdefault('metric', list(IOU_TYPES))
    metric = FastLVISMetric(ann_file=ann_file, progress=False, **kwargs)
    return metric.compute_metrics(results)


# Protocols timed against FastLVISMetric's standard one: name, then the
# baseline's and the mode's metric arguments.
MODES = {
    'fixed': (dict(), dict(max_dets=None, max_dets_per_cat=10000)),
    'boundary': (dict(metric=['segm']), dict(metric=['boundary'])),
}


def run_lvis_api(ann_file: str, results: List[Dict]) -> Dict[str, float]:
    from lvis import LVIS, LVISEval, LVISResults
    np.float = float  # lent to lvis-api 0.5.3 for this call only
    try:
        gt = LVIS(ann_file)
        cat_ids = sorted(gt.get_cat_ids())
        out = {}
        for iou_type in IOU_TYPES:
            dets = lvis_results(results, iou_type, cat_ids)
            evaluator = LVISEval(gt, LVISResults(gt, dets), iou_type)
            evaluator.run()
            for key, value in evaluator.get_results().items():
                if key in RESULT_KEYS:
                    out[f'{iou_type}_{key}'] = float(value)
        return out
    finally:
        del np.float


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--full', action='store_true',
                        help='2000 images x 300 detections')
    parser.add_argument('--images', type=int, help='validation images')
    parser.add_argument('--dets', type=int, default=300,
                        help='detections per image')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--image-size', type=int, default=256)
    parser.add_argument('--device', default='cpu', choices=['cpu'],
                        help='evaluation runs on the CPU')
    parser.add_argument('--modes', nargs='*', default=['standard'],
                        choices=['standard'] + list(MODES),
                        help='standard: against lvis-api; fixed: Fixed AP '
                        'against the standard mode; boundary: Boundary AP '
                        'against segm')
    parser.add_argument('--mode-images', type=int,
                        help='validation images of the fixed and boundary '
                        'modes (default: --images)')
    return parser.parse_args()


def make_data(tmp: str, num_images: int,
              args: argparse.Namespace) -> Tuple[str, List[Dict], str]:
    paths = make_synthetic_lvis(
        osp.join(tmp, str(num_images)), seed=0, num_train=10,
        num_val=num_images, image_size=args.image_size, num_active=1203,
        max_objects=12)
    with open(paths['val'], encoding='utf-8') as f:
        ann = json.load(f)
    results = synthetic_detections(ann, args.dets, seed=0)
    header = (f'{num_images} images, {len(ann["annotations"])} objects, '
              f'{args.dets} detections per image, {args.image_size} px, '
              f'median of {args.repeats}')
    return paths['val'], results, header


def time_interleaved(runs: Dict[str, Callable[[List[Dict]], Dict]],
                     results: List[Dict], repeats: int
                     ) -> Tuple[Dict[str, float], Dict[str, Dict]]:
    """Median seconds of each run (interleaved, fresh copies of the
    records) and each run's numbers."""
    times: Dict[str, List[float]] = {name: [] for name in runs}
    numbers = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            fresh = copy.deepcopy(results)
            start = time.perf_counter()
            numbers[name] = fn(fresh)
            times[name].append(time.perf_counter() - start)
    return {n: statistics.median(t) for n, t in times.items()}, numbers


def bench_standard(ann_file: str, results: List[Dict], header: str,
                   repeats: int) -> None:
    print(f'standard mode: {header}, bbox + segm')
    med, numbers = time_interleaved(
        {'lvis-api': functools.partial(run_lvis_api, ann_file),
         'ours': functools.partial(run_ours, ann_file)}, results, repeats)
    for name, t in med.items():
        print(f'{name:>9}: {t:8.2f} s')
    diff = max(abs(numbers['ours'][k] - numbers['lvis-api'][k])
               for k in numbers['lvis-api'])
    print(f'largest difference of the {len(numbers["lvis-api"])} numbers: '
          f'{diff:.2e}')
    print(f'speed-up ours vs lvis-api: {med["lvis-api"] / med["ours"]:.2f}')


def bench_mode(mode: str, ann_file: str, results: List[Dict], header: str,
               repeats: int) -> None:
    base_kwargs, mode_kwargs = MODES[mode]
    base = 'segm' if mode == 'boundary' else 'standard'
    print(f'{mode} mode: {header}, {mode_kwargs}')
    med, numbers = time_interleaved(
        {base: functools.partial(run_ours, ann_file, **base_kwargs),
         mode: functools.partial(run_ours, ann_file, **mode_kwargs)},
        results, repeats)
    for name, t in med.items():
        print(f'{name:>9}: {t:8.2f} s')
    keys = [k for k in numbers[mode] if k.endswith(('_AP', '_APr'))]
    print('  ' + ', '.join(f'{k} {numbers[mode][k]:.4f}' for k in keys))
    print(f'{mode} / {base} time: {med[mode] / med[base]:.2f}')


def main() -> None:
    args = parse_args()
    # the metrics' result tables are not what is measured: only warnings
    MMLogger.get_instance('bench_metric', log_level='WARNING')
    num_images = args.images or (2000 if args.full else 200)
    mode_images = args.mode_images or num_images
    with tempfile.TemporaryDirectory() as tmp:
        data = {}
        for mode in args.modes:
            n = num_images if mode == 'standard' else mode_images
            if n not in data:
                data[n] = make_data(tmp, n, args)
            if mode == 'standard':
                bench_standard(*data[n], args.repeats)
            else:
                bench_mode(mode, *data[n], args.repeats)


if __name__ == '__main__':
    main()
