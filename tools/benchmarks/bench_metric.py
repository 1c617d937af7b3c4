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

lvis-api 0.5.3 uses ``np.float``, removed in numpy 1.24: this script lends
the alias to the reference while it runs (the product never does).
"""
import argparse
import copy
import json
import os.path as osp
import statistics
import tempfile
import time
from typing import Dict, List

import numpy as np

from mmdet_droploss.datasets.synthetic_lvis import (make_synthetic_lvis,
                                                    synthetic_detections)
from mmdet_droploss.evaluation.metrics import FastLVISMetric
from mmdet_droploss.evaluation.metrics.fast_lvis_metric import (RESULT_KEYS,
                                                               lvis_results)

IOU_TYPES = ('bbox', 'segm')


def run_ours(ann_file: str, results: List[Dict]) -> Dict[str, float]:
    metric = FastLVISMetric(ann_file=ann_file, metric=list(IOU_TYPES),
                            progress=False)
    return metric.compute_metrics(results)


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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    num_images = args.images or (2000 if args.full else 200)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_synthetic_lvis(
            tmp, seed=0, num_train=10, num_val=num_images,
            image_size=args.image_size, num_active=1203, max_objects=12)
        with open(paths['val'], encoding='utf-8') as f:
            ann = json.load(f)
        results = synthetic_detections(ann, args.dets, seed=0)
        print(f'{num_images} images, {len(ann["annotations"])} objects, '
              f'{args.dets} detections per image, '
              f'{args.image_size} px, bbox + segm, median of {args.repeats}')
        times = {'lvis-api': [], 'ours': []}
        numbers = {}
        for _ in range(args.repeats):
            for name, fn in (('lvis-api', run_lvis_api), ('ours', run_ours)):
                fresh = copy.deepcopy(results)
                start = time.perf_counter()
                numbers[name] = fn(paths['val'], fresh)
                times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, t in med.items():
        print(f'{name:>9}: {t:8.2f} s')
    diff = max(abs(numbers['ours'][k] - numbers['lvis-api'][k])
               for k in numbers['lvis-api'])
    print(f'largest difference of the {len(numbers["lvis-api"])} numbers: '
          f'{diff:.2e}')
    print(f'speed-up ours vs lvis-api: {med["lvis-api"] / med["ours"]:.2f}')


if __name__ == '__main__':
    main()
