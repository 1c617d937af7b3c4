# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""LVIS evaluation split by category, over worker processes and ranks.

A category's precision and recall depend on its own ground truth and
detections alone, so the parts' arrays side by side on the category axis
are those of one evaluation of all categories, to the last bit.
"""
import multiprocessing
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from faster_coco_eval import COCO
from mmengine.dist import get_local_size

from .sparse_lvis_eval import SparseLVISEval

# Categories evaluated together, at most, each run on the images that hold
# its ground truth or detections (faster-coco-eval's core keeps an entry per
# image x category x area range it is given).
CATEGORIES_PER_RUN = 32

# The arrays each part returns, with their category axis.
CATEGORY_AXIS = dict(precision=2, recall=1)

# A worker's arguments, set just before the fork (no copy, no pickle).
_FORKED: Optional[dict] = None


def _quiet(*args, **kwargs) -> None:
    """faster-coco-eval's print function, silenced."""


def default_nproc() -> int:
    """This rank's share of the cores it may run on, at least 1, at most 8.

    The ranks on this machine are torchrun's ``LOCAL_WORLD_SIZE``, else
    Slurm's ``SLURM_NTASKS_PER_NODE``, else MMEngine's local group.
    """
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
    """Consecutive runs of categories of about equal work (ground truth
    plus detections, plus one for the accumulation), and their detections.

    Args:
        gt (COCO): The ground truth.
        dets (Sequence[dict]): Result dicts with ``category_id``.
        cat_ids (Sequence[int]): The categories, in evaluation order.
        num_parts (int): Runs to make.

    Returns:
        List[Tuple[List[int], List[dict]]]: ``num_parts`` runs, that
        together are ``cat_ids`` (some empty when there are fewer
        categories than runs), each with its detections in ``dets``' order
        (those of no run are left out).
    """
    index = {c: k for k, c in enumerate(cat_ids)}
    costs = np.zeros(len(cat_ids), dtype=np.int64)
    for cat_id, anns in gt.catToImgs.items():
        if cat_id in index:
            costs[index[cat_id]] += len(anns)
    for det in dets:
        k = index.get(det['category_id'])
        if k is not None:
            costs[k] += 1
    bounds = np.cumsum(costs.astype(np.float64) + 1)
    total = bounds[-1] if len(bounds) else 0.0
    cuts = np.searchsorted(bounds, total * np.arange(1, num_parts) /
                           num_parts, side='left')
    edges = [0] + [int(c) + 1 for c in cuts] + [len(cat_ids)]
    edges = np.maximum.accumulate(np.minimum(edges, len(cat_ids)))
    parts = [list(cat_ids[a:b]) for a, b in zip(edges[:-1], edges[1:])]
    owner = {c: k for k, part in enumerate(parts) for c in part}
    part_dets: List[List[dict]] = [[] for _ in parts]
    for det in dets:
        k = owner.get(det['category_id'])
        if k is not None:
            part_dets[k].append(det)
    return list(zip(parts, part_dets))


def ground_truth_of(gt: COCO, cat_ids: Sequence[int]) -> dict:
    """What evaluating ``cat_ids`` reads of the ground truth, as a dataset
    dict: every image's size and federated fields, every category, and the
    annotations of ``cat_ids``."""
    keys = ('id', 'height', 'width', 'neg_category_ids',
            'not_exhaustive_category_ids')
    wanted = set(cat_ids)
    return dict(
        images=[{k: img[k] for k in keys if k in img}
                for img in gt.dataset['images']],
        categories=gt.dataset['categories'],
        annotations=[a for a in gt.dataset['annotations']
                     if a['category_id'] in wanted])


def evaluate_categories(gt: COCO, dets: List[dict], cat_ids: Sequence[int],
                        iou_type: str, max_dets: int,
                        boundary_dilation_ratio: float
                        ) -> Dict[str, np.ndarray]:
    """LVIS matching and accumulation of some categories, on the images
    that hold their ground truth or detections (the others change no
    number).

    Args:
        gt (COCO): The ground truth (at least the annotations of
            ``cat_ids``).
        dets (List[dict]): Result dicts of ``cat_ids`` with ``id`` and
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
        gt, dt, iou_type, lvis_style=True, print_function=_quiet,
        boundary_dilation_ratio=boundary_dilation_ratio)
    img_ids = {d['image_id'] for d in dets}
    for cat_id in cat_ids:
        img_ids.update(gt.catToImgs.get(cat_id, ()))
    evaluator.params.imgIds = sorted(img_ids) or sorted(gt.getImgIds())[:1]
    evaluator.params.catIds = list(cat_ids)
    evaluator.params.maxDets = [max_dets]
    evaluator.evaluate()  # with the accumulation (no separate_eval)
    return {key: evaluator.eval[key] for key in CATEGORY_AXIS}


def _evaluate_forked_part(k: int) -> Dict[str, np.ndarray]:
    """Part ``k`` in a worker process (the arguments come with the fork)."""
    cat_ids, dets = _FORKED['runs'][k]
    return evaluate_categories(_FORKED['gt'], dets, cat_ids,
                               **_FORKED['kwargs'])


def evaluate_categories_in_processes(gt: COCO, dets: List[dict],
                                     cat_ids: Sequence[int], iou_type: str,
                                     max_dets: int,
                                     boundary_dilation_ratio: float,
                                     nproc: int) -> Dict[str, np.ndarray]:
    """:func:`evaluate_categories` of runs of at most
    ``CATEGORIES_PER_RUN`` categories on ``nproc`` forked worker
    processes (``nproc=1``: here), which read ``gt`` and ``dets`` from
    this process's memory.

    Args:
        nproc (int): Worker processes; the others as
            :func:`evaluate_categories`, ``dets`` possibly of any category.

    Returns:
        Dict[str, np.ndarray]: Those of :func:`evaluate_categories` for all
        of ``cat_ids``, bit for bit.
    """
    global _FORKED
    kwargs = dict(iou_type=iou_type, max_dets=max_dets,
                  boundary_dilation_ratio=boundary_dilation_ratio)
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
    """The parts' arrays (None: a part without categories), in category
    order, side by side on the category axis."""
    parts = [p for p in parts if p is not None]
    return {key: np.concatenate([p[key] for p in parts], axis=axis)
            for key, axis in CATEGORY_AXIS.items()}


def summarize_categories(gt: COCO, evaluation: Dict[str, np.ndarray],
                         cat_ids: Sequence[int], iou_type: str,
                         max_dets: int) -> Dict[str, float]:
    """LVIS's summary numbers of the merged arrays, by faster-coco-eval's
    own ``summarize``.

    Args:
        gt (COCO): The ground truth (its categories' frequency groups).
        evaluation (Dict[str, np.ndarray]): ``precision`` and ``recall`` of
            ``cat_ids``.
        cat_ids (Sequence[int]): The categories, in evaluation order.
        iou_type (str): 'bbox', 'segm' or 'boundary'.
        max_dets (int): The cap the arrays were computed with.

    Returns:
        Dict[str, float]: faster-coco-eval's ``stats_as_dict``.
    """
    evaluator = SparseLVISEval(gt, None, iou_type, lvis_style=True,
                               print_function=_quiet)
    evaluator.params.maxDets = [max_dets]
    evaluator.params.catIds = list(cat_ids)
    evaluator.freq_groups = evaluator._prepare_freq_group()
    evaluator.eval = evaluation
    evaluator.summarize()
    return evaluator.stats_as_dict
