# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Repeat-factor sampling of an LVIS-format training set: ceil against
stochastic rounding, as a markdown table.

Each image's repeat factor ``r_i`` is the package's ``repeat_factors()``
(detectron2's: ``f_c`` the share of the images holding category ``c``,
``r_c = max(1, sqrt(t / f_c))``, ``r_i`` the largest ``r_c`` of the
image), over the images with at least one annotation (the ones detectron2's
FILTER_EMPTY_ANNOTATIONS and MMDetection's ``filter_empty_gt`` keep).
The table gives the images per epoch and the share of the samples that
hold a rare category (category ``frequency`` 'r') for

- uniform sampling (every image once),
- MMDetection's ``ClassBalancedDataset``: ``ceil(r_i)`` copies of each
  image, every epoch the same,
- our ``RepeatFactorSampler`` (detectron2's RepeatFactorTrainingSampler):
  ``floor(r_i)`` plus one more with probability ``r_i - floor(r_i)``,
  drawn by the sampler itself from (--seed, epoch) for each of --epochs
  epochs, and its expectation ``sum(r_i)``.
"""
import argparse
import json
import math
import time
from typing import List, Sequence, Set, Tuple

import numpy as np

from mmdet_droploss.datasets.repeat_factor_sampler import (
    RepeatFactorSampler,
    repeat_factors,
)


class ImageCategories:
    """The least a dataset needs for ``repeat_factors`` and the sampler:
    ``len`` and ``get_cat_ids(idx)``."""

    def __init__(self, cats: Sequence[Sequence[int]]) -> None:
        self.cats = cats

    def __len__(self) -> int:
        return len(self.cats)

    def get_cat_ids(self, idx: int) -> List[int]:
        return list(self.cats[idx])


def _drop_polygons(pairs: list) -> dict:
    # polygons are most of an LVIS file: freed as soon as parsed
    return {k: v for k, v in pairs if k != 'segmentation'}


def load_lvis(path: str) -> Tuple[List[Set[int]], Set[int], int]:
    """The categories of each annotated image, the rare categories, and the
    number of images in the file (annotated or not)."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f, object_pairs_hook=_drop_polygons)
    rare = {c['id'] for c in data['categories'] if c.get('frequency') == 'r'}
    by_image: dict = {}
    for ann in data['annotations']:
        by_image.setdefault(ann['image_id'], set()).add(ann['category_id'])
    cats = [by_image[img['id']] for img in data['images']
            if img['id'] in by_image]
    return cats, rare, len(data['images'])


def rounding_rows(cats: List[Set[int]], rare: Set[int], thr: float,
                  epochs: int, seed: int
                  ) -> Tuple[List[Tuple[str, str, float]], np.ndarray]:
    """The rows (sampling, images per epoch, share of the samples holding
    a rare category) for uniform, ceil and stochastic rounding, and the
    repeat factors."""
    dataset = ImageCategories(cats)
    holds_rare = np.array([bool(c & rare) for c in cats])
    r = repeat_factors(dataset, thr)
    ceil = np.ceil(r)
    rows = [
        ('uniform: every image once', f'{len(r):,}', holds_rare.mean()),
        ('ceil: `ClassBalancedDataset`, ceil(r_i)', f'{int(ceil.sum()):,}',
         ceil[holds_rare].sum() / ceil.sum()),
    ]
    sampler = RepeatFactorSampler(dataset, oversample_thr=thr, seed=seed)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        indices = sampler.epoch_indices().numpy()
        rows.append((f'stochastic: `RepeatFactorSampler`, epoch {epoch}',
                     f'{len(indices):,}', holds_rare[indices].mean()))
    rows.append(('stochastic: expected, sum(r_i)', f'{r.sum():,.1f}',
                 r[holds_rare].sum() / r.sum()))
    return rows, r


def markdown_table(rows: List[Tuple[str, str, float]]) -> str:
    lines = ['| sampling | images per epoch | samples holding a rare '
             'category |', '| --- | ---: | ---: |']
    lines += [f'| {name} | {images} | {100 * share:.2f}% |'
              for name, images, share in rows]
    return '\n'.join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('ann_file', help='LVIS-format annotation file '
                        '(categories with their frequency)')
    parser.add_argument('--thr', type=float, default=0.0005,
                        help='repeat-factor threshold t (the authors\' '
                        '0.0005; MMDetection\'s LVIS configs: 0.001)')
    parser.add_argument('--epochs', type=int, default=3,
                        help='epochs of stochastic rounding to draw')
    parser.add_argument('--seed', type=int, default=0,
                        help="the sampler's seed (epoch e draws from "
                        'seed + e)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not 0 < args.thr <= 1:
        raise SystemExit(f'error: --thr must lie in (0, 1], got {args.thr}')
    if args.epochs < 0:
        raise SystemExit(f'error: --epochs must be >= 0, got {args.epochs}')
    start = time.perf_counter()
    cats, rare, num_images = load_lvis(args.ann_file)
    loaded = time.perf_counter() - start
    rows, r = rounding_rows(cats, rare, args.thr, args.epochs, args.seed)
    r_max = float(r.max()) if len(r) else 1.0
    print(f'{args.ann_file}: {len(cats):,} of {num_images:,} images '
          f'annotated, rare categories: {len(rare)}; t = {args.thr:g}: '
          f'{int((r > 1).sum()):,} images with r_i > 1, the largest '
          f'{r_max:.2f} (ceil {math.ceil(r_max)}); seed {args.seed}; '
          f'loaded in {loaded:.1f} s')
    print()
    print(markdown_table(rows))


if __name__ == '__main__':
    main()
