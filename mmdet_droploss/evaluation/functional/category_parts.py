# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""LVIS evaluation split by category, over worker processes and ranks.

LVIS AP is computed per category: the matching of a category's detections,
its precision and recall depend on its own ground truth and detections
alone. So the categories can be evaluated in parts, anywhere, and the
parts' precision and recall arrays put side by side on the category axis
give exactly the arrays of one evaluation of all of them; the summary
means over them are then the same numbers, to the last bit.
"""
import multiprocessing
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch.distributed as dist
from faster_coco_eval import COCO
from mmengine.dist import get_local_size

from .sparse_lvis_eval import SparseLVISEval

# Categories evaluated together, at most: faster-coco-eval's C++ core keeps
# an entry for every image x category x area range it is given (about 86
# million, some 20 GB, for LVIS val's 19,809 images x 1,088 categories),
# so a run of categories is evaluated on the images that hold its ground
# truth or detections (the others change no number).
CATEGORIES_PER_RUN = 32

# The arrays each part returns, with their category axis.
CATEGORY_AXIS = dict(precision=2, recall=1)

# What a worker process reads: set just before the fork, so that the
# ground truth and the detections reach it without a copy or a pickle.
_FORKED: Optional[dict] = None


def local_world_size() -> int:
    """The ranks of this job on this machine, which share its cores.

    torchrun's ``LOCAL_WORLD_SIZE``, else Slurm's tasks on this node, else
    MMEngine's local process group where it made one; 1 outside a
    distributed run.

    Returns:
        int: At least 1.
    """
    for name in ('LOCAL_WORLD_SIZE', 'SLURM_NTASKS_PER_NODE'):
        value = os.environ.get(name, '')
        if value.isdigit():
            return max(1, int(value))
    if not dist.is_available() or not dist.is_initialized():
        return 1
    try:
        return get_local_size()
    except RuntimeError:  # a group made without MMEngine's local group
        return 1


def default_nproc(local_size: int = 1, cap: int = 8) -> int:
    """The worker processes an evaluation uses when none are configured.

    Args:
        local_size (int): Ranks on this machine, which share its cores.
            Defaults to 1.
        cap (int): The most processes. Defaults to 8.

    Returns:
        int: This process's share of the cores it may run on, at least 1
        and at most ``cap``.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    return max(1, min(cap, cores // max(1, local_size)))


def category_costs(gt: COCO, dets: Sequence[dict],
                   cat_ids: Sequence[int]) -> np.ndarray:
    """An estimate of each category's share of the evaluation's work.

    Args:
        gt (COCO): The ground truth.
        dets (Sequence[dict]): Result dicts with ``category_id``.
        cat_ids (Sequence[int]): The categories, in evaluation order.

    Returns:
        np.ndarray: Ground truth plus detections of each category, shape
        (len(cat_ids), ).
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
    return costs


def split_categories(cat_ids: Sequence[int], costs: np.ndarray,
                     num_parts: int) -> List[List[int]]:
    """Consecutive runs of categories of about equal cost.

    Args:
        cat_ids (Sequence[int]): The categories, in evaluation order.
        costs (np.ndarray): Each category's cost, shape (len(cat_ids), ).
        num_parts (int): Parts to make.

    Returns:
        List[List[int]]: ``num_parts`` lists, in order, that together are
        ``cat_ids``; some may be empty when there are fewer categories
        than parts.
    """
    if num_parts < 1:
        raise ValueError(f'num_parts must be at least 1, got {num_parts}')
    # +1: a category without detections still costs its accumulation
    bounds = np.cumsum(np.asarray(costs, dtype=np.float64) + 1)
    total = bounds[-1] if len(bounds) else 0.0
    cuts = np.searchsorted(bounds, total * np.arange(1, num_parts) /
                           num_parts, side='left')
    edges = [0] + [int(c) + 1 for c in cuts] + [len(cat_ids)]
    edges = np.maximum.accumulate(np.minimum(edges, len(cat_ids)))
    return [list(cat_ids[a:b]) for a, b in zip(edges[:-1], edges[1:])]


def split_detections(dets: Sequence[dict],
                     parts: List[List[int]]) -> List[List[dict]]:
    """The detections of each part's categories, in their order.

    Args:
        dets (Sequence[dict]): Result dicts with ``category_id``.
        parts (List[List[int]]): Category ids of each part.

    Returns:
        List[List[dict]]: One list per part; detections of categories in
        no part are left out.
    """
    owner = {c: k for k, part in enumerate(parts) for c in part}
    out: List[List[dict]] = [[] for _ in parts]
    for det in dets:
        k = owner.get(det['category_id'])
        if k is not None:
            out[k].append(det)
    return out


def ground_truth_of(gt: COCO, cat_ids: Sequence[int]) -> dict:
    """The part of an LVIS dataset that evaluating some categories reads.

    Every image (its size and federated fields decide which detections
    count), every category (their frequency groups) and the annotations of
    ``cat_ids`` alone: what another rank needs to evaluate them.

    Args:
        gt (COCO): The ground truth.
        cat_ids (Sequence[int]): The categories to evaluate.

    Returns:
        dict: A dataset dict for ``COCO``.
    """
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
    """LVIS matching and accumulation of some categories.

    Args:
        gt (COCO): The ground truth (it may hold only these categories'
            annotations, see :func:`ground_truth_of`).
        dets (List[dict]): Result dicts with ``id`` and ``iscrowd``; those
            of other categories are not read.
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
        gt, dt, iou_type, lvis_style=True,
        boundary_dilation_ratio=boundary_dilation_ratio,
        print_function=lambda *args, **kwargs: None)
    evaluator.params.maxDets = [max_dets]
    # an image without ground truth or detections of these categories adds
    # nothing to their matching or accumulation
    wanted = set(cat_ids)
    img_ids = {d['image_id'] for d in dets if d['category_id'] in wanted}
    for cat_id in cat_ids:
        img_ids.update(gt.catToImgs.get(cat_id, ()))
    evaluator.params.imgIds = sorted(img_ids) or sorted(gt.getImgIds())[:1]
    evaluator.params.catIds = list(cat_ids)
    evaluator.evaluate()
    evaluator.accumulate()
    return {key: evaluator.eval[key] for key in CATEGORY_AXIS}


def _evaluate_forked_part(k: int) -> Dict[str, np.ndarray]:
    """One part in a worker process (the arguments come with the fork)."""
    assert _FORKED is not None, 'a worker started without its fork state'
    state = _FORKED
    return evaluate_categories(state['gt'], state['dets'][k],
                               state['parts'][k], **state['kwargs'])


def evaluate_categories_in_processes(gt: COCO, dets: List[dict],
                                     cat_ids: Sequence[int], iou_type: str,
                                     max_dets: int,
                                     boundary_dilation_ratio: float,
                                     nproc: int) -> Dict[str, np.ndarray]:
    """:func:`evaluate_categories` split over ``nproc`` worker processes.

    The categories are evaluated in runs of about equal work, at most
    ``CATEGORIES_PER_RUN`` each (each on the images that concern it). The
    workers are forked, so they read the ground truth and the detections
    from this process's memory (copied only where they touch it); only
    the small precision and recall arrays travel back. With ``nproc=1``
    everything runs here.

    Args:
        gt (COCO): The ground truth.
        dets (List[dict]): Result dicts with ``id`` and ``iscrowd``.
        cat_ids (Sequence[int]): The categories, in evaluation order.
        iou_type (str): 'bbox', 'segm' or 'boundary'.
        max_dets (int): faster-coco-eval's cap per image-category pair.
        boundary_dilation_ratio (float): Boundary band of 'boundary'.
        nproc (int): Worker processes.

    Returns:
        Dict[str, np.ndarray]: As :func:`evaluate_categories` for all of
        ``cat_ids``, equal to it bit for bit.
    """
    global _FORKED
    kwargs = dict(iou_type=iou_type, max_dets=max_dets,
                  boundary_dilation_ratio=boundary_dilation_ratio)
    num_runs = max(nproc, -(-len(cat_ids) // CATEGORIES_PER_RUN))
    parts = [p for p in split_categories(
        cat_ids, category_costs(gt, dets, cat_ids), num_runs) if p]
    part_dets = split_detections(dets, parts)
    if nproc == 1 or len(parts) == 1:
        return merge_category_parts([
            evaluate_categories(gt, d, p, **kwargs)
            for p, d in zip(parts, part_dets)
        ])
    _FORKED = dict(gt=gt, dets=part_dets, parts=parts, kwargs=kwargs)
    try:
        with multiprocessing.get_context('fork').Pool(
                min(nproc, len(parts))) as pool:
            results = pool.map(_evaluate_forked_part, range(len(parts)),
                               chunksize=1)
    finally:
        _FORKED = None
    return merge_category_parts(results)


def merge_category_parts(
        parts: Sequence[Optional[Dict[str, np.ndarray]]]
) -> Dict[str, np.ndarray]:
    """The parts' arrays side by side on the category axis.

    Args:
        parts (Sequence[Dict[str, np.ndarray]], optional): Results of
            :func:`evaluate_categories`, in category order; None for a
            part without categories.

    Returns:
        Dict[str, np.ndarray]: ``precision`` and ``recall`` of all
        categories.
    """
    parts = [p for p in parts if p is not None]
    return {key: np.concatenate([p[key] for p in parts], axis=axis)
            for key, axis in CATEGORY_AXIS.items()}


def summarize_categories(gt: COCO, evaluation: Dict[str, np.ndarray],
                         cat_ids: Sequence[int], iou_type: str,
                         max_dets: int) -> Dict[str, float]:
    """LVIS's summary numbers from the merged arrays.

    faster-coco-eval's own ``summarize`` computes them, on an evaluator
    that is given the arrays instead of evaluating.

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
    dt = COCO()
    dt.dataset = dict(images=[], categories=gt.dataset['categories'],
                      annotations=[])
    dt.createIndex()
    evaluator = SparseLVISEval(gt, dt, iou_type, lvis_style=True,
                               print_function=lambda *args, **kwargs: None)
    evaluator.params.maxDets = [max_dets]
    evaluator.params.catIds = list(cat_ids)
    evaluator.freq_groups = evaluator._prepare_freq_group()
    evaluator.eval = dict(evaluation)
    evaluator.matched = False
    evaluator.summarize()
    return evaluator.stats_as_dict
