# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Reading the ``*.eval.json`` files that FastLVISMetric and
``tools/analysis/longtail_benchmark.py`` write, for tables and plots."""
import json
import os.path as osp
from typing import Dict, List, Sequence, Tuple

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
    try:
        with open(path, encoding='utf-8') as f:
            results = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(
            f'Cannot read evaluation results {path}: {err}. Pass the '
            '<outfile_prefix>.eval.json that FastLVISMetric writes.') from err
    if not isinstance(results, dict) or not all(
            isinstance(v, dict) and 'AP' in v for v in results.values()):
        raise ValueError(
            f'{path} is not an evaluation result file: expected '
            '{iou_type: {"AP": ..., "per_category": [...]}}.')
    return results


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
