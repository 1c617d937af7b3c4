# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Draw the per-category gradient statistics of ClsGradientStatsHook by
frequency group (the paper's first analysis): positive gradient, negative
gradient from foreground RoIs and from background RoIs.

    python tools/analysis/plot_grad_stats.py WORK_DIR/cls_grad_stats.json \
        --ann-file data/lvis_v1/annotations/lvis_v1_train.json \
        --out grad_stats.png

With ``--ann-file`` (LVIS format, with ``frequency``) categories are grouped
as rare / common / frequent; without it, as the loss's tail / non-tail.
"""
import argparse

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mmdet_droploss.datasets.category_frequency import (  # noqa: E402
    load_annotation_file,
    read_json,
)
from mmdet_droploss.engine.cls_gradient_stats_hook import STAT_NAMES  # noqa: E402

LABELS = dict(pos='positive', neg_fg='negative from foreground RoIs',
              neg_bg='negative from background RoIs')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('stats', help='cls_grad_stats.json of a work dir')
    parser.add_argument('--loss', default=None,
                        help='which loss of the file (default: the first, '
                        'e.g. roi_head.bbox_head.loss_cls)')
    parser.add_argument('--ann-file', default=None,
                        help='training annotations with LVIS frequency '
                        'groups')
    parser.add_argument('--title', default='')
    parser.add_argument('--out', required=True, help='PNG file')
    return parser.parse_args()


def category_groups(stats: dict, ann_file: str = None) -> np.ndarray:
    """Group name of every label: 'r'/'c'/'f' from an LVIS file, else
    'tail'/'other' from the loss's tail set."""
    num_classes = len(stats['pos'])
    if ann_file:
        cats = sorted(load_annotation_file(ann_file)['categories'],
                      key=lambda c: c['id'])
        if len(cats) != num_classes:
            raise SystemExit(
                f'{ann_file} has {len(cats)} categories but the statistics '
                f'have {num_classes}; pass the training annotation file.')
        if any('frequency' not in c for c in cats):
            raise SystemExit(f'{ann_file} has no LVIS frequency groups; '
                             'leave --ann-file out to group by tail set.')
        return np.array([c['frequency'] for c in cats])
    if not any(stats['tail']):
        raise SystemExit(f"The loss (mode={stats['mode']!r}) has no tail "
                         'set; pass --ann-file to group by frequency.')
    return np.where(stats['tail'], 'tail', 'other')


def main() -> None:
    args = parse_args()
    content = read_json(args.stats, 'gradient statistics',
                        'pass the cls_grad_stats.json of a work dir')
    losses = content['losses']
    name = args.loss or next(iter(losses))
    if name not in losses:
        raise SystemExit(f'No loss {name!r}; the file has {sorted(losses)}.')
    stats = losses[name]
    groups = category_groups(stats, args.ann_file)
    order = [g for g in ('r', 'c', 'f', 'tail', 'other') if g in groups]
    values = {k: np.asarray(stats[k]) for k in STAT_NAMES}

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(STAT_NAMES)
    for k, key in enumerate(STAT_NAMES):
        means = [values[key][groups == g].mean() for g in order]
        axes[0].bar(np.arange(len(order)) + (k - 1) * width, means, width,
                    label=LABELS[key])
    axes[0].set_xticks(np.arange(len(order)), order)
    axes[0].set_yscale('log')
    axes[0].set_ylabel('summed |dL/dz| per category (mean)')
    axes[0].set_title('Gradient per category by group')
    axes[0].legend(fontsize=8)

    # categories from most to least positive gradient, a proxy of frequency
    pos = np.maximum(values['pos'], 1e-12)
    sort = np.argsort(-values['pos'], kind='stable')
    for key in ('neg_fg', 'neg_bg'):
        axes[1].plot(values[key][sort] / pos[sort], '.', ms=3,
                     label=f'{LABELS[key]} / positive')
    axes[1].set_yscale('log')
    axes[1].set_xlabel('category (by positive gradient, descending)')
    axes[1].set_ylabel('ratio')
    axes[1].set_title('Discouraging / encouraging gradient')
    axes[1].legend(fontsize=8)
    fig.suptitle(args.title or f"{name} ({stats['mode']}), "
                 f"{content['iter']} iterations")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}')
    # the left panel's numbers, as the docs quote them
    print('| group | ' + ' | '.join(LABELS[k] for k in STAT_NAMES) + ' |')
    print('|---|' + '---|' * len(STAT_NAMES))
    for g in order:
        print(f'| {g} | ' + ' | '.join(
            f'{values[k][groups == g].mean():.3g}' for k in STAT_NAMES) +
              ' |')


if __name__ == '__main__':
    main()
