# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Reading the ``*.eval.json`` files that FastLVISMetric and
``tools/analysis/longtail_benchmark.py`` write, for tables and plots."""
import argparse
import glob
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmdet_droploss.datasets.category_frequency import read_json

GROUP_KEYS = ('AP', 'APr', 'APc', 'APf')


def load_eval_results(path: str) -> Dict[str, dict]:
    """Read one evaluation file.

    Args:
        path (str): A ``*.eval.json`` file: per IoU type (or ``'cls'`` for
            the classifier benchmark) a dict of numbers with
            ``per_category`` (a list of dicts with ``ap``, ``frequency``
            and ``image_count``).

    Returns:
        Dict[str, dict]: The file's content.
    """
    results = read_json(
        path, 'Evaluation results',
        'pass the <outfile_prefix>.eval.json that FastLVISMetric writes')
    if not isinstance(results, dict) or not all(
            isinstance(v, dict) and 'AP' in v for v in results.values()):
        raise ValueError(
            f'{path} is not an evaluation result file: expected '
            '{iou_type: {"AP": ..., "per_category": [...]}}.')
    return results


def add_result_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line arguments of the tools that read several result
    files: the files, their names and the IoU type.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument('results', nargs='+', help='*.eval.json files')
    parser.add_argument('--names', nargs='*', default=[],
                        help="one name per file (default: each file's "
                        'folder)')
    parser.add_argument('--iou-type', default=None,
                        help="'bbox', 'segm' or 'cls' (default: the files' "
                        'last type, segm for FastLVISMetric)')


def method_name(path: str) -> str:
    """The name of a run: its folder (``work_dirs/x/sigmoid/results.eval.json``
    is 'sigmoid')."""
    return osp.basename(osp.dirname(osp.abspath(path)))


def named_results(paths: Sequence[str],
                  names: Sequence[str] = ()) -> List[Tuple[str, dict]]:
    """Load several result files with their names.

    Args:
        paths (Sequence[str]): ``*.eval.json`` files.
        names (Sequence[str]): One name per file; empty takes each file's
            folder name.

    Returns:
        List[Tuple[str, dict]]: (name, results) in the given order.
    """
    if names and len(names) != len(paths):
        raise ValueError(f'{len(names)} names for {len(paths)} result files; '
                         'give one name per file or none.')
    names = list(names) or [method_name(p) for p in paths]
    return [(n, load_eval_results(p)) for n, p in zip(names, paths)]


def summary_table(runs: Sequence[Tuple[str, dict]],
                  keys: Sequence[str] = GROUP_KEYS) -> str:
    """A Markdown table: one row per run, ``keys`` per IoU type.

    Args:
        runs (Sequence[Tuple[str, dict]]): Output of :func:`named_results`.
        keys (Sequence[str]): Numbers to show.

    Returns:
        str: The table.
    """
    iou_types = list(runs[0][1])
    header = ['method'] + [f'{t} {k}' for t in iou_types for k in keys]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for name, results in runs:
        cells = [name] + [
            f'{100 * results[t][k]:.1f}' if results[t][k] >= 0 else '-'
            for t in iou_types for k in keys
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def pareto_front(points: Sequence[Tuple[float, float]]) -> List[int]:
    """Indices of the points no other point beats on both axes.

    A point is dominated when another is at least as good on both
    coordinates and better on one (larger is better).

    Args:
        points (Sequence[Tuple[float, float]]): (x, y) pairs.

    Returns:
        List[int]: Indices of the non-dominated points, by increasing x.
    """
    front = [
        i for i, (x, y) in enumerate(points)
        if not any(x2 >= x and y2 >= y and (x2, y2) != (x, y)
                   for x2, y2 in points)
    ]
    return sorted(front, key=lambda i: points[i][0])


def per_category_table(results: dict,
                       iou_type: str) -> List[Dict[str, object]]:
    """The ``per_category`` list of one IoU type, with a clear error where
    the file has none (FastLVISMetric writes it with ``outfile_prefix``).

    Args:
        results (dict): Output of :func:`load_eval_results`.
        iou_type (str): 'bbox', 'segm' or 'cls'.

    Returns:
        List[Dict[str, object]]: Per category ``ap``, ``frequency`` and
        ``image_count``.
    """
    if iou_type not in results:
        raise KeyError(f'No {iou_type!r} results; the file has '
                       f'{sorted(results)}. Choose one with --iou-type.')
    per_cat = results[iou_type].get('per_category')
    if not per_cat:
        raise ValueError(f'The {iou_type!r} results carry no per_category '
                         'AP; evaluate with outfile_prefix set.')
    return per_cat


def seed_runs(work_dir: str, protocol: str) -> Dict[str, Dict[int, dict]]:
    """The results of a multi-seed experiment, by method and seed.

    Args:
        work_dir (str): Folder with ``seed<S>/<method>/<protocol>.eval.json``
            (what ``tools/analysis/longtail_multiseed.sh`` writes).
        protocol (str): The file's stem: 'standard' or 'fixed'.

    Returns:
        Dict[str, Dict[int, dict]]: Per method, per seed, the file's
        content (:func:`load_eval_results`).
    """
    runs: Dict[str, Dict[int, dict]] = {}
    for path in sorted(glob.glob(osp.join(work_dir, 'seed*', '*',
                                          f'{protocol}.eval.json'))):
        seed_dir = osp.basename(osp.dirname(osp.dirname(path)))
        if not seed_dir[4:].isdigit():
            continue
        runs.setdefault(method_name(path), {})[int(seed_dir[4:])] = (
            load_eval_results(path))
    if not runs:
        raise FileNotFoundError(
            f'No seed*/<method>/{protocol}.eval.json under {work_dir}; run '
            'tools/analysis/longtail_multiseed.sh first.')
    return runs


def multi_seed_tables(runs: Dict[str, Dict[int, dict]],
                      baseline: str,
                      iou_types: Optional[Sequence[str]] = None,
                      keys: Sequence[str] = GROUP_KEYS) -> str:
    """Two Markdown tables of a multi-seed experiment, in AP points.

    The first gives each method's mean and sample standard deviation over
    its seeds (the mean alone for a method with one seed); the second each
    method's difference to ``baseline`` on each seed both have (paired:
    same seed, same data), then the mean difference.

    Args:
        runs (Dict[str, Dict[int, dict]]): Output of :func:`seed_runs`.
        baseline (str): The method the differences are taken to.
        iou_types (Sequence[str], optional): IoU types to show; None:
            those of 'bbox' and 'segm' that every run has.
        keys (Sequence[str]): Numbers to show.

    Returns:
        str: Both tables, with a line naming the seeds.
    """
    if baseline not in runs:
        raise KeyError(f'No {baseline!r} runs to compare with; the methods '
                       f'are {sorted(runs)}. Pass one with --baseline.')
    if iou_types is None:
        iou_types = [t for t in ('bbox', 'segm') if all(
            t in r for by_seed in runs.values() for r in by_seed.values())]
    columns = [(t, k) for t in iou_types for k in keys]
    header = '| method | seeds | ' + ' | '.join(f'{t} {k}'
                                                for t, k in columns) + ' |'
    rule = '|---|---|' + '---|' * len(columns)

    def value(results: dict, iou_type: str, key: str) -> float:
        return 100 * results[iou_type][key]

    mean_rows, diff_rows = [header, rule], [header, rule]
    # the baseline first, the others by name
    for method in [baseline, *sorted(set(runs) - {baseline})]:
        by_seed = runs[method]
        seeds = sorted(by_seed)
        cells = []
        for t, k in columns:
            vals = np.array([value(by_seed[s], t, k) for s in seeds])
            # one seed has no spread: its mean alone
            cells.append(f'{vals.mean():.1f} ± {vals.std(ddof=1):.1f}'
                         if len(vals) > 1 else f'{vals.mean():.1f}')
        mean_rows.append(f'| {method} | {len(seeds)} | ' + ' | '.join(cells)
                         + ' |')
        if method == baseline:
            continue
        paired = sorted(set(seeds) & set(runs[baseline]))
        cells = []
        for t, k in columns:
            diffs = [
                value(by_seed[s], t, k) - value(runs[baseline][s], t, k)
                for s in paired
            ]
            cells.append(', '.join(f'{d:+.1f}' for d in diffs) +
                         f' ({np.mean(diffs):+.1f})' if diffs else '-')
        diff_rows.append(f'| {method} | {len(paired)} | ' +
                         ' | '.join(cells) + ' |')
    seeds = sorted({s for by_seed in runs.values() for s in by_seed})
    return '\n'.join([
        f'Mean ± standard deviation over seeds {seeds}:', '', *mean_rows, '',
        f'Difference to {baseline}, per seed (mean):', '', *diff_rows
    ])
