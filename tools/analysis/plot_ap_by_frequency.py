# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Draw per-category AP against training image count, one series per
method, with the rare / common boundaries of the groups.

    python tools/analysis/plot_ap_by_frequency.py A/results.eval.json \
        B/results.eval.json ... --out ap_by_frequency.png

Inputs are the ``*.eval.json`` files of FastLVISMetric (``outfile_prefix``)
or of ``tools/analysis/longtail_benchmark.py --out``; the categories'
``image_count`` and ``frequency`` come from the annotation file.
"""
import argparse

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from eval_results import (  # noqa: E402
    add_result_arguments,
    named_results,
    per_category_table,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_result_arguments(parser)
    parser.add_argument('--bins', type=int, default=8,
                        help='log-spaced image-count bins of the mean line')
    parser.add_argument('--title', default='')
    parser.add_argument('--out', required=True, help='PNG file')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    runs = named_results(args.results, args.names)
    iou_type = args.iou_type or list(runs[0][1])[-1]
    fig, ax = plt.subplots(figsize=(7, 4))
    edges = None
    for name, results in runs:
        per_cat = [c for c in per_category_table(results, iou_type)
                   if c['ap'] >= 0 and c.get('image_count')]
        if not per_cat:
            raise SystemExit(f'{name}: no category with an AP and an '
                             'image_count to draw.')
        counts = np.array([c['image_count'] for c in per_cat], dtype=float)
        aps = 100 * np.array([c['ap'] for c in per_cat])
        if edges is None:
            edges = np.geomspace(counts.min(), counts.max() + 1, args.bins + 1)
        points = ax.scatter(counts, aps, s=8, alpha=0.35)
        which = np.digitize(counts, edges) - 1
        centres, means = [], []
        for b in range(args.bins):
            if (which == b).any():
                centres.append(np.sqrt(edges[b] * edges[b + 1]))
                means.append(aps[which == b].mean())
        ax.plot(centres, means, '-o', color=points.get_facecolor()[0][:3],
                label=f'{name} (bin mean)')
    groups = {c.get('frequency') for c in per_cat}
    if groups >= {'r', 'c'}:
        for group in ('r', 'c'):
            bound = max(c['image_count'] for c in per_cat
                        if c.get('frequency') == group)
            ax.axvline(bound + 0.5, color='grey', ls=':', lw=1)
            ax.text(bound + 0.5, ax.get_ylim()[1], f' {group}|', va='top',
                    fontsize=8, color='grey')
    ax.set_xscale('log')
    ax.set_xlabel('training images of the category')
    ax.set_ylabel(f'{iou_type} AP (%)')
    ax.set_title(args.title or f'Per-category {iou_type} AP by frequency')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
