# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""LVIS evaluation split by category, over worker processes and ranks: a
category's precision and recall depend on its own ground truth and
detections alone, so the parts side by side are one evaluation, bit for bit.
"""
import multiprocessing
import os
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from faster_coco_eval import COCO
from mmengine.dist import get_local_size

from .sparse_lvis_eval import SparseLVISEval

# Categories evaluated together, at most (faster-coco-eval's core keeps an
# entry per image x category x area range it is given).
CATEGORIES_PER_RUN = 32

# The arrays each part returns, with their category axis.
CATEGORY_AXIS = dict(precision=2, recall=1)

# A worker's arguments, set just before the fork (no copy, no pickle).
_FORKED: Optional[dict] = None


def default_nproc() -> int:
    """This rank's share of its cores, in [1, 8]; the ranks on this machine
    are ``LOCAL_WORLD_SIZE``, else ``SLURM_NTASKS_PER_NODE``, else
    MMEngine's local group."""
    local = next((int(v) for v in (os.environ.get('LOCAL_WORLD_SIZE', ''),
                                   os.environ.get('SLURM_NTASKS_PER_NODE', ''))
                  if v.isdigit()), None)
    if local is None:
        try:
            local = get_local_size()  # 1 outside a distributed run
        except RuntimeError:  # a group made without MMEngine's local group
            local = 1
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    return max(1, min(8, cores // max(1, local)))


def split_work(gt: COCO, dets: Sequence[dict], cat_ids: Sequence[int],
               num_parts: int) -> List[Tuple[List[int], List[dict]]]:
    """Split ``cat_ids`` into ``num_parts`` consecutive runs (some empty when
    there are fewer categories) of about equal cost: per category its ground
    truth, its detections and one for the accumulation.

    Returns:
        List[Tuple[List[int], List[dict]]]: Each run's categories and their
        detections in ``dets``' order (those of no run are left out).
    """
    num_dets = Counter(d['category_id'] for d in dets)
    bounds = np.cumsum([1 + len(gt.catToImgs.get(c, ())) + num_dets[c]
                        for c in cat_ids], dtype=np.float64)
    total = bounds[-1] if len(bounds) else 0.0
    cuts = np.searchsorted(bounds, total * np.arange(1, num_parts) /
                           num_parts, side='left')
    edges = [0] + [int(c) + 1 for c in cuts] + [len(cat_ids)]
    edges = np.maximum.accumulate(np.minimum(edges, len(cat_ids)))
    parts = [list(cat_ids[a:b]) for a, b in zip(edges[:-1], edges[1:])]
    owner = {c: k for k, part in enumerate(parts) for c in part}
    part_dets: List[List[dict]] = [[] for _ in parts]
    for det in dets:
        if det['category_id'] in owner:
            part_dets[owner[det['category_id']]].append(det)
    return list(zip(parts, part_dets))


def evaluate_categories(gt: COCO, dets: List[dict], cat_ids: Sequence[int],
                        iou_type: str, max_dets: int,
                        boundary_dilation_ratio: float
                        ) -> Dict[str, np.ndarray]:
    """LVIS matching and accumulation of ``cat_ids`` on the images holding
    their ground truth or detections (the others change no number).

    Args:
        gt (COCO): The ground truth (at least that of ``cat_ids``).
        dets (List[dict]): Result dicts of ``cat_ids``, with ``id`` and
            ``iscrowd``.
        cat_ids (Sequence[int]): The categories, in evaluation order.
        iou_type (str): 'bbox', 'segm' or 'boundary'.
        max_dets (int): faster-coco-eval's cap per image-category pair.
        boundary_dilation_ratio (float): Boundary band of 'boundary'.

    Returns:
        Dict[str, np.ndarray]: ``precision`` (T, R, K, A, M) and ``recall``
        (T, K, A, M), K = len(cat_ids).
    """
    dt = COCO()
    dt.dataset = dict(images=gt.dataset['images'],
                      categories=gt.dataset['categories'], annotations=dets)
    dt.createIndex()
    evaluator = SparseLVISEval(
        gt, dt, iou_type, lvis_style=True, print_function=lambda *args: None,
        boundary_dilation_ratio=boundary_dilation_ratio)
    img_ids = {d['image_id'] for d in dets}
    for cat_id in cat_ids:
        img_ids.update(gt.catToImgs.get(cat_id, ()))
    evaluator.params.imgIds = sorted(img_ids) or sorted(gt.getImgIds())[:1]
    evaluator.params.catIds = list(cat_ids)
    evaluator.params.maxDets = [max_dets]
    evaluator.evaluate()  # with the accumulation
    return {key: evaluator.eval[key] for key in CATEGORY_AXIS}


def _evaluate_forked_part(k: int) -> Dict[str, np.ndarray]:
    cat_ids, dets = _FORKED['runs'][k]
    return evaluate_categories(_FORKED['gt'], dets, cat_ids,
                               **_FORKED['kwargs'])


def evaluate_categories_in_processes(gt: COCO, dets: List[dict],
                                     cat_ids: Sequence[int], nproc: int,
                                     **kwargs) -> Dict[str, np.ndarray]:
    """:func:`evaluate_categories` (``kwargs``: its ``iou_type``, ``max_dets``
    and ``boundary_dilation_ratio``) in runs of at most
    ``CATEGORIES_PER_RUN`` categories on ``nproc`` forked processes, with
    the same arrays; ``dets`` may hold any category."""
    global _FORKED
    runs = [run for run in split_work(
        gt, dets, cat_ids, max(nproc, -(-len(cat_ids) // CATEGORIES_PER_RUN)))
        if run[0]]
    if nproc == 1 or len(runs) == 1:
        return merge_category_parts([
            evaluate_categories(gt, d, c, **kwargs) for c, d in runs])
    _FORKED = dict(gt=gt, runs=runs, kwargs=kwargs)
    try:
        with multiprocessing.get_context('fork').Pool(
                min(nproc, len(runs))) as pool:
            results = pool.map(_evaluate_forked_part, range(len(runs)),
                               chunksize=1)
    finally:
        _FORKED = None
    return merge_category_parts(results)


def merge_category_parts(
        parts: Sequence[Optional[Dict[str, np.ndarray]]]
) -> Dict[str, np.ndarray]:
    """The parts' arrays (None: no categories) on one category axis."""
    parts = [p for p in parts if p is not None]
    return {key: np.concatenate([p[key] for p in parts], axis=axis)
            for key, axis in CATEGORY_AXIS.items()}

