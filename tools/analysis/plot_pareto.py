# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Draw APr against APf and APc against APf of several methods, with the
Pareto frontier of each panel (the paper's second analysis).

    python tools/analysis/plot_pareto.py A/results.eval.json \
        B/results.eval.json ... --out pareto.png [--iou-type segm]

Inputs are the ``*.eval.json`` files of FastLVISMetric (``outfile_prefix``)
or of ``tools/analysis/longtail_benchmark.py --out``.
"""
import argparse

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from eval_results import (  # noqa: E402
    add_result_arguments,
    named_results,
    pareto_front,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_result_arguments(parser)
    parser.add_argument('--title', default='')
    parser.add_argument('--out', required=True, help='PNG file')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    runs = named_results(args.results, args.names)
    iou_type = args.iou_type or list(runs[0][1])[-1]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, group in zip(axes, ('APr', 'APc')):
        points = []
        for name, results in runs:
            if iou_type not in results:
                raise SystemExit(f'{name} has no {iou_type!r} results '
                                 f'({sorted(results)}); choose --iou-type.')
            points.append((100 * results[iou_type]['APf'],
                           100 * results[iou_type][group]))
        for (name, _), (x, y) in zip(runs, points):
            ax.scatter(x, y, s=40, zorder=3)
            ax.annotate(name, (x, y), textcoords='offset points',
                        xytext=(5, 4), fontsize=9)
        front = pareto_front(points)
        ax.plot([points[i][0] for i in front], [points[i][1] for i in front],
                'k--', lw=1, label='Pareto frontier')
        ax.set_xlabel(f'{iou_type} APf (%)')
        ax.set_ylabel(f'{iou_type} {group} (%)')
        ax.grid(alpha=0.3)
        ax.legend(loc='best', fontsize=8)
    fig.suptitle(args.title or f'APr and APc against APf ({iou_type})')
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
