# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Peak memory (RSS) of CategoryFrequencyHook's frequency computation.

A synthetic LVIS v1-shaped training file (100,000 images, 1,203
categories, polygons) is written to a temporary folder. Each variant runs
in a fresh process, which prints its peak RSS above the RSS it had after
the imports:

- ``before``: what the hook did before (every rank): ``json.load`` of the
  whole file, then a set of (category, image) pairs.
- ``after``: what rank 0 does now (:func:`frequencies_from_dataset`): the
  file parsed keeping only ids, counts with numpy. The other ranks receive
  the table by broadcast and hold no copy of the file.

Both variants' frequencies are compared, then the per-process ratio and the
per-machine totals for ``--ranks`` processes are printed.
"""
import argparse
import json
import os.path as osp
import resource
import subprocess
import sys
import tempfile
from types import SimpleNamespace

import numpy as np


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--images', type=int, default=100_000)
    parser.add_argument('--categories', type=int, default=1203)
    parser.add_argument('--anns-per-image', type=float, default=5.0,
                        help='mean annotations per image (LVIS v1: 12.7)')
    parser.add_argument('--ranks', type=int, default=8,
                        help='processes per machine for the totals')
    parser.add_argument('--variant', choices=['before', 'after'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--ann-file', help=argparse.SUPPRESS)
    return parser.parse_args()


def write_annotations(path: str, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    num_anns = int(args.images * args.anns_per_image)
    # long-tailed categories, LVIS-like ids 1..C listed in file order
    weights = 1 / np.arange(1, args.categories + 1)**1.2
    cats = rng.choice(args.categories, num_anns, p=weights / weights.sum())
    images = rng.integers(0, args.images, num_anns)
    with open(path, 'w', encoding='utf-8') as f:
        f.write('{"images": [')
        f.write(','.join(
            json.dumps(dict(id=i + 1, width=640, height=480,
                            coco_url=f'http://images.cocodataset.org/'
                            f'train2017/{i + 1:012d}.jpg'))
            for i in range(args.images)))
        f.write('], "categories": [')
        f.write(','.join(
            json.dumps(dict(id=c + 1, name=f'category_{c + 1}',
                            frequency='r', image_count=0))
            for c in range(args.categories)))
        f.write('], "annotations": [')
        for k in range(num_anns):
            poly = np.round(rng.uniform(0, 400, 16), 2).tolist()
            f.write(('' if k == 0 else ',') + json.dumps(dict(
                id=k + 1, image_id=int(images[k]) + 1,
                category_id=int(cats[k]) + 1, segmentation=[poly],
                bbox=poly[:4], area=1000.0)))
        f.write(']}')


def before(ann_file: str, cat_ids: list) -> np.ndarray:
    """The hook's computation before: full parse, set of pairs."""
    with open(ann_file, encoding='utf-8') as f:
        ann = json.load(f)
    cat2label = {c: i for i, c in enumerate(cat_ids)}
    pairs = {(a['category_id'], a['image_id'])
             for a in ann['annotations'] if a['category_id'] in cat2label}
    counts = np.zeros(len(cat_ids), dtype=np.int64)
    for cat_id, _ in pairs:
        counts[cat2label[cat_id]] += 1
    return counts / len({img for _, img in pairs})


def measure(args: argparse.Namespace) -> None:
    """Runs in the child process: prints peak RSS growth and a digest."""
    from mmdet_droploss.datasets.category_frequency import (
        frequencies_from_dataset,
    )
    cat_ids = list(range(1, args.categories + 1))
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.variant == 'before':
        freq = before(args.ann_file, cat_ids)
    else:
        freq, _ = frequencies_from_dataset(
            SimpleNamespace(ann_file=args.ann_file, cat_ids=cat_ids))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(mib=(peak - start) / 1024, freq=freq.tolist())))


def main() -> None:
    args = parse_args()
    if args.variant:
        measure(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        ann_file = osp.join(tmp, 'lvis_v1_train.json')
        write_annotations(ann_file, args)
        size = osp.getsize(ann_file) / 2**20
        print(f'{args.images} images, {args.categories} categories, '
              f'{int(args.images * args.anns_per_image)} annotations: '
              f'{size:.0f} MiB of JSON')
        results = {}
        for variant in ('before', 'after'):
            proc = subprocess.run(
                [sys.executable, __file__, '--variant', variant,
                 '--ann-file', ann_file, '--categories',
                 str(args.categories)],
                capture_output=True, text=True, check=True)
            results[variant] = json.loads(proc.stdout.splitlines()[-1])
    if results['before']['freq'] != results['after']['freq']:
        raise SystemExit('The two computations disagree.')
    b, a = results['before']['mib'], results['after']['mib']
    print(f'peak RSS growth per process: before {b:.0f} MiB, after '
          f'{a:.0f} MiB, ratio {b / a:.2f}x')
    print(f'per machine with {args.ranks} ranks: before {b * args.ranks:.0f}'
          f' MiB (every rank), after {a:.0f} MiB (rank 0 only), ratio '
          f'{b * args.ranks / a:.1f}x')


if __name__ == '__main__':
    main()
