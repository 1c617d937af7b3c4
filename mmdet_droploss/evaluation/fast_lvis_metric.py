# Copyright (c) mmdet-droploss contributors. All rights reserved.
import csv
import json
import multiprocessing
import os.path as osp
from collections import Counter
from functools import cached_property
from typing import Dict, List, Optional, Sequence, Set, Union

import numpy as np
import torch
import torch.distributed as torch_dist
from faster_coco_eval import COCO
from faster_coco_eval.core import mask as mask_api
from mmdet.registry import METRICS
from mmdet.structures.mask import encode_mask_results
from mmengine.dist import (
    broadcast_object_list,
    collect_results,
    get_rank,
    get_world_size,
    is_main_process,
)
from mmengine.evaluator import BaseMetric
from mmengine.evaluator.metric import _to_cpu
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar, mkdir_or_exist
from terminaltables import AsciiTable

from .category_parts import (
    default_nproc,
    evaluate_categories_in_processes,
    ground_truth_of,
    merge_category_parts,
    split_work,
    summarize_categories,
)
from .packed_masks import PackedMasks, packed

# Names we report, and faster-coco-eval's names for them.
RESULT_KEYS = dict(
    AP='AP_all',
    AP50='AP_50',
    AP75='AP_75',
    APs='AP_small',
    APm='AP_medium',
    APl='AP_large',
    APr='APr',
    APc='APc',
    APf='APf')


def take_detections(result: dict, index: np.ndarray) -> dict:
    """A record of :meth:`FastLVISMetric.process` with only the detections
    ``index`` (shape (k, )) selects, in that order; other fields shared."""
    out = dict(result)
    for key in ('bboxes', 'scores', 'labels', 'mask_areas'):
        if key in result:
            out[key] = result[key][index]
    if 'masks' in result:
        out['masks'] = packed(result['masks']).take(index)
    return out


def top_k_per_category(results: List[dict], k: int) -> List[dict]:
    """Each category's ``k`` best detections over all records.

    The order is lvis-api's (``lvis_challenge_2021``
    ``limit_dets_per_cat``): a stable sort on descending score over the
    detections in result order, so that of tied scores the earlier stay.
    The top ``k`` of a list is also the top ``k`` of its parts' top ``k``
    (each part in list order), which lets :meth:`FastLVISMetric.process`
    and the ranks cut early.

    Args:
        results (List[dict]): Records with ``scores`` and ``labels``, shape
            (n, ) each.
        k (int): Detections kept per category.

    Returns:
        List[dict]: New records (same images, same order) with the kept
        detections, in their original order.
    """
    sizes = [len(r['scores']) for r in results]
    if not sum(sizes):
        return list(results)
    scores = np.concatenate([r['scores'] for r in results])
    labels = np.concatenate([r['labels'] for r in results])
    by_score = np.argsort(-scores, kind='stable')
    # group by label, each group still in score order
    by_label = by_score[np.argsort(labels[by_score], kind='stable')]
    grouped = labels[by_label]
    rank = np.arange(len(grouped)) - np.searchsorted(grouped, grouped)
    keep = np.zeros(len(scores), dtype=bool)
    keep[by_label[rank < k]] = True
    starts = np.cumsum([0] + sizes)
    return [
        take_detections(r, np.flatnonzero(keep[s:s + n]))
        for r, s, n in zip(results, starts, sizes)
    ]


def lvis_results(results: List[dict],
                 iou_type: str,
                 cat_ids: List[int],
                 max_dets: Optional[int] = 300,
                 judged: Optional[Dict[int, Set[int]]] = None) -> List[dict]:
    """Detections in LVIS result format, the best ``max_dets`` per image.

    Args:
        results (List[dict]): Per image ``img_id``, ``bboxes`` (xyxy),
            ``scores``, ``labels`` and for 'segm' and 'boundary' ``masks``
            (a :class:`PackedMasks` or RLE dicts) and optionally
            ``mask_areas`` (else computed from the RLEs).
        iou_type (str): 'bbox', 'segm' or 'boundary'.
        cat_ids (List[int]): Category id of each label.
        max_dets (int, optional): Detections kept per image, over all
            categories; None keeps all.
        judged (Dict[int, Set[int]], optional): Per image id, the
            categories LVIS judges there (see :func:`judged_categories`);
            given, the others are left out after the ``max_dets`` cut (they
            change no number). None keeps all.

    Returns:
        List[dict]: Result dicts with ``image_id``, ``category_id``,
        ``score``, ``bbox`` (xywh) or ``segmentation``, and the ``area``
        LVIS evaluates them with (of the box or the mask).
    """
    cat_ids = np.asarray(cat_ids)
    dets = []
    for result in results:
        order = np.argsort(-result['scores'], kind='stable')[:max_dets]
        img_id = int(result['img_id'])
        cats = cat_ids[result['labels'][order]]
        if judged is not None:
            keep = np.isin(cats, list(judged.get(img_id, ())))
            order, cats = order[keep], cats[keep]
        if not len(order):
            continue
        scores = result['scores'][order].astype(np.float64).tolist()
        if iou_type == 'bbox':
            x1, y1, x2, y2 = result['bboxes'][order].astype(np.float64).T
            w, h = x2 - x1, y2 - y1
            key, shapes = 'bbox', np.stack([x1, y1, w, h], axis=1).tolist()
            areas = w * h
        else:
            key, shapes = 'segmentation', packed(result['masks']).rles(order)
            areas = result['mask_areas'][order] if 'mask_areas' in result \
                else mask_api.area(shapes)
        dets.extend(
            dict(image_id=img_id, category_id=c, score=s, **{key: g}, area=a)
            for c, s, g, a in zip(cats.tolist(), scores, shapes,
                                  areas.astype(np.float64).tolist()))
    return dets


def judged_categories(dataset: dict) -> Dict[int, Set[int]]:
    """Per image id of an LVIS dataset dict, the categories LVIS judges
    there: those annotated and those in its ``neg_category_ids``."""
    judged = {img['id']: set(img.get('neg_category_ids', ()))
              for img in dataset['images']}
    for ann in dataset['annotations']:
        judged[ann['image_id']].add(ann['category_id'])
    return judged


@METRICS.register_module()
class FastLVISMetric(BaseMetric):
    """LVIS box, mask and boundary AP under LVIS's federated rules, with
    lvis-api's numbers, on faster-coco-eval's C++ core (lvis-api 0.5.3
    fails on numpy 2).

    Reports AP, AP50, AP75, APs, APm, APl, APr, APc, APf per IoU type. As
    in lvis-api's ``lvis_challenge_2021`` branch, each image keeps its best
    ``max_dets`` detections, then each category its best
    ``max_dets_per_cat`` over the dataset (Fixed AP: ``max_dets=None,
    max_dets_per_cat=10000``), then LVIS's federated rules apply.
    'boundary' is Boundary AP: a mask pair's IoU is the smaller of their
    mask and boundary IoUs. The categories are evaluated in parts, on
    ``nproc`` processes and every rank, with the numbers of one evaluation.

    Args:
        ann_file (str): Path of the LVIS-format annotation file.
        metric (str | Sequence[str]): 'bbox', 'segm' and/or 'boundary'
            (the last two need masks in the predictions). Defaults to
            ('bbox', 'segm').
        max_dets (int, optional): Detections kept per image; None keeps
            all. Defaults to 300.
        max_dets_per_cat (int, optional): Detections kept per category
            over the dataset; None keeps all. Defaults to None.
        boundary_dilation_ratio (float): Width of the boundary band of
            'boundary', as a fraction of the image diagonal. Defaults to
            0.02.
        classwise (bool): Also log the per-category AP, and write it to
            ``outfile_prefix``.{iou_type}.per_category.csv. Defaults to
            False.
        format_only (bool): Only write the results to
            ``outfile_prefix``.{iou_type}.json. Defaults to False.
        outfile_prefix (str, optional): Prefix of the result files (the
            detections after the caps, and ``outfile_prefix``.eval.json:
            per IoU type the numbers, ``protocol`` and ``per_category``);
            None writes none. Defaults to None.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to
            'lvis'.
        backend_args (dict, optional): File backend of ``ann_file``.
        progress (bool): Show a progress bar. Defaults to True.
        nproc (int, optional): Worker processes (forked: Linux) of each
            rank; None: this rank's share of its cores, at most 8. The
            numbers do not depend on it. Defaults to None.
    """

    default_prefix: Optional[str] = 'lvis'

    def __init__(self,
                 ann_file: str,
                 metric: Union[str, Sequence[str]] = ('bbox', 'segm'),
                 max_dets: Optional[int] = 300,
                 max_dets_per_cat: Optional[int] = None,
                 boundary_dilation_ratio: float = 0.02,
                 classwise: bool = False,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 progress: bool = True,
                 nproc: Optional[int] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        for m in self.metrics:
            if m not in ('bbox', 'segm', 'boundary'):
                raise KeyError(
                    f'FastLVISMetric: unknown metric {m!r}; choose from '
                    "['bbox', 'segm', 'boundary'] (e.g. metric=['bbox', "
                    "'segm']).")
        fixed_ap = 'Fixed AP uses max_dets=None, max_dets_per_cat=10000'
        for name, value, meaning in (
                ('max_dets', max_dets, f'no cap; {fixed_ap}'),
                ('max_dets_per_cat', max_dets_per_cat, f'no cap; {fixed_ap}'),
                ('nproc', nproc, 'as many worker processes as the cores '
                 'allow')):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f'{name} must be a positive integer or None '
                                 f'({meaning}), got {value!r}.')
        if not boundary_dilation_ratio > 0:
            raise ValueError(
                'boundary_dilation_ratio must be positive (the boundary '
                'band as a fraction of the image diagonal; 0.02 is the '
                f'standard), got {boundary_dilation_ratio!r}.')
        if format_only and outfile_prefix is None:
            raise ValueError('format_only needs outfile_prefix.')
        self.nproc = default_nproc() if nproc is None else nproc
        if self.nproc > 1 and \
                'fork' not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f'nproc={self.nproc} needs the fork start method, which this '
                'platform lacks; set nproc=1.')
        self.ann_file = ann_file
        self.max_dets = max_dets
        self.max_dets_per_cat = max_dets_per_cat
        self.boundary_dilation_ratio = float(boundary_dilation_ratio)
        self.classwise = classwise
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        self.progress = progress
        # detections held, and held after the last per-category cut
        self._num_held = self._num_after_cut = 0
        # True on rank 0 while the other ranks serve category parts
        self._ranks_serving = False

    def _load_ann_file(self, **kwargs) -> dict:
        """``ann_file`` parsed, ``kwargs`` to ``json.load``."""
        with get_local_path(self.ann_file,
                            backend_args=self.backend_args) as path:
            with open(path, encoding='utf-8') as f:
                return json.load(f, **kwargs)

    @cached_property
    def gt(self) -> COCO:
        """COCO: The ground truth, loaded on first use."""
        return COCO(self._load_ann_file())

    @cached_property
    def judged_labels(self) -> Dict[int, np.ndarray]:
        """Dict[int, np.ndarray]: Per image id, the sorted labels of the
        categories LVIS judges there, read from ``ann_file`` keeping only
        ids: every rank needs them, the ground truth only rank 0."""
        keys = ('images', 'annotations', 'categories', 'id', 'name',
                'image_id', 'category_id', 'neg_category_ids')
        ann = self._load_ann_file(
            object_hook=lambda obj: {k: obj[k] for k in keys if k in obj})
        label = {c: k for k, c in enumerate(
            self._label_cat_ids(ann['categories']))}
        return {img_id: np.array(sorted(label[c] for c in cats if c in label),
                                 dtype=np.int64)
                for img_id, cats in judged_categories(ann).items()}

    def _label_cat_ids(self, cats: List[dict]) -> List[int]:
        """The category id of each label, as the dataset numbers the file's
        ``categories``: in file order, all of them (``LVISV1Dataset``), or
        those ``dataset_meta``'s classes name when they are fewer (a
        ``CocoDataset`` restricted to some classes)."""
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None or len(classes) >= len(cats):
            return [c['id'] for c in cats]
        wanted = set(classes)
        absent = sorted(wanted - {c['name'] for c in cats})
        if absent:
            raise ValueError(
                f'FastLVISMetric: the dataset names {len(classes)} classes, '
                f'fewer than the {len(cats)} categories of {self.ann_file}, '
                f'and {absent[:5]} (of {len(absent)}) are not among them: '
                'the labels cannot be matched to its categories. Evaluate '
                'with the annotation file the dataset reads, or name the '
                'classes as the file does.')
        return [c['id'] for c in cats if c['name'] in wanted]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep each image's best ``max_dets`` detections as arrays, masks
        RLE-encoded in one :class:`PackedMasks`.

        Without ``outfile_prefix`` and ``max_dets_per_cat`` only the
        detections LVIS judges are kept (the others change no number); with
        ``max_dets_per_cat``, each category is cut to its best K whenever
        the held detections have doubled since the last cut.

        Args:
            data_batch (dict): A batch from the dataloader.
            data_samples (Sequence[dict]): Predicted data samples.
        """
        if not self.results:  # evaluate() emptied the list: a new round
            self._num_held = self._num_after_cut = 0
        mask_types = [m for m in self.metrics if m != 'bbox']
        for sample in data_samples:
            pred = sample['pred_instances']
            if mask_types and 'masks' not in pred:
                raise ValueError(
                    f'FastLVISMetric metric {mask_types} needs masks in the '
                    'predictions, and they have none (a detector without a '
                    "mask head?); evaluate with metric='bbox' or a model "
                    'that predicts masks.')
            scores = pred['scores'].cpu().numpy()
            order = np.argsort(-scores, kind='stable')[:self.max_dets]
            labels = pred['labels'].cpu().numpy()[order]
            if self.outfile_prefix is None and self.max_dets_per_cat is None:
                # after the per-image cap, as LVIS
                judged = self.judged_labels.get(sample['img_id'])
                if judged is not None:
                    keep = np.isin(labels, judged)
                    order, labels = order[keep], labels[keep]
            index = torch.from_numpy(order).to(pred['scores'].device)
            result = dict(
                img_id=sample['img_id'],
                bboxes=pred['bboxes'][index].cpu().numpy(),
                scores=scores[order],
                labels=labels)
            if 'masks' in pred:
                masks = pred['masks']
                if isinstance(masks, torch.Tensor):
                    masks = masks.detach()[index].cpu().numpy()
                    rles, size = encode_mask_results(masks), masks.shape[-2:]
                else:  # RLEs: DumpDetResults' file, evaluated offline
                    rles = [masks[i] for i in order]
                    size = sample.get('ori_shape')
                result['masks'] = PackedMasks.from_rles(rles, size=size)
                # LVIS's area ranges, from the runs (a tenth of a dense sum)
                result['mask_areas'] = np.asarray(
                    mask_api.area(rles) if rles else [], dtype=np.int64)
            self.results.append(result)
            self._num_held += len(order)
        k = self.max_dets_per_cat
        # The cut keeps every record, emptied or not: collect_results
        # interleaves the ranks' lists record by record. A sampler's padding
        # (repeated images) cannot push out a detection of the global top
        # K: its originals, on other ranks, rank above that detection too.
        if k is not None and self._num_held > 2 * self._num_after_cut + k:
            self.results[:] = top_k_per_category(self.results, k)
            self._num_held = self._num_after_cut = sum(
                len(r['scores']) for r in self.results)

    def evaluate_dets(self, dets: List[dict], iou_type: str) -> Dict:
        """LVIS evaluation of result dicts against the ground truth.

        Args:
            dets (List[dict]): Result dicts (see :func:`lvis_results`),
                at most ``max_dets`` per image; ``id`` and ``iscrowd`` are
                added to them.
            iou_type (str): 'bbox', 'segm' or 'boundary'.

        Returns:
            Dict: The numbers of ``RESULT_KEYS`` and, with ``classwise`` or
            ``outfile_prefix``, ``per_category``: per annotated category
            its ``id``, ``name``, ``frequency``, ``image_count`` and ``ap``
            (-1 where no precision is defined).
        """
        # the results API built here: loadRes would recompute every area
        for i, det in enumerate(dets):
            det['id'] = i + 1
            det['iscrowd'] = 0
        # faster-coco-eval caps each image-category pair: without a
        # per-image cap, the largest pair's count cuts nothing
        max_dets = self.max_dets
        if max_dets is None:
            max_dets = max(Counter((d['image_id'], d['category_id'])
                                   for d in dets).values(), default=1)
        # a category without ground truth has no AP in LVIS
        cat_ids = sorted({a['category_id']
                          for a in self.gt.dataset['annotations']})
        if not cat_ids:
            raise ValueError(
                f'{self.ann_file} has no annotations: there is nothing to '
                'evaluate against (use format_only=True to only write the '
                'results).')
        kwargs = dict(iou_type=iou_type, max_dets=max_dets,
                      boundary_dilation_ratio=self.boundary_dilation_ratio)
        if self._ranks_serving:
            evaluation = self._evaluate_across_ranks(dets, cat_ids, kwargs)
        else:
            evaluation = evaluate_categories_in_processes(
                self.gt, dets, cat_ids, nproc=self.nproc, **kwargs)
        stats = summarize_categories(self.gt, evaluation, cat_ids, iou_type,
                                     max_dets)
        out = {ours: float(stats[theirs]) for ours, theirs in
               RESULT_KEYS.items()}
        if self.classwise or self.outfile_prefix is not None:
            # precision: [iou, recall, category, area, max_dets]
            precision = evaluation['precision'][:, :, :, 0, -1]
            out['per_category'] = []
            for k, cat_id in enumerate(cat_ids):
                valid = precision[:, :, k][precision[:, :, k] > -1]
                cat = self.gt.cats[cat_id]
                out['per_category'].append(dict(
                    id=int(cat_id), name=cat['name'],
                    frequency=cat.get('frequency'),
                    image_count=cat.get('image_count'),
                    ap=float(valid.mean()) if valid.size else -1.0))
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the LVIS metrics of all processed results.

        Args:
            results (list): Records of :meth:`process`, gathered from all
                ranks, in result order.

        Returns:
            Dict[str, float]: ``{iou_type}_{name}`` for every reported name.
        """
        cat_ids = self._label_cat_ids(self.gt.dataset['categories'])
        judged = None
        if not self.format_only:
            unknown = {int(r['img_id']) for r in results} - set(self.gt.imgs)
            if unknown:
                raise ValueError(
                    f'Detections on images not in {self.ann_file}, e.g. '
                    f'{sorted(unknown)[:5]}; evaluate with the annotation '
                    'file of the dataset that was predicted.')
            judged = judged_categories(self.gt.dataset)
        # per image its best max_dets (a stable sort, as lvis-api's), then
        # per category its best max_dets_per_cat
        records = [
            take_detections(
                r, np.argsort(-r['scores'], kind='stable')[:self.max_dets])
            for r in results
        ]
        if self.max_dets_per_cat is not None:
            records = top_k_per_category(records, self.max_dets_per_cat)
        bar = ProgressBar(len(self.metrics)) if self.progress else None
        eval_results, tables = {}, {}
        for iou_type in self.metrics:
            # the result file keeps every detection the caps keep (for the
            # evaluation server), not only the judged ones
            dets = lvis_results(records, iou_type, cat_ids, None,
                                None if self.outfile_prefix else judged)
            if self.outfile_prefix is not None:
                mkdir_or_exist(osp.dirname(osp.abspath(self.outfile_prefix)))
                with open(f'{self.outfile_prefix}.{iou_type}.json', 'w',
                          encoding='utf-8') as f:
                    json.dump(dets, f)
                if judged is not None:
                    dets = [d for d in dets
                            if d['category_id'] in judged[d['image_id']]]
            if not self.format_only:
                numbers = tables[iou_type] = self.evaluate_dets(dets,
                                                                iou_type)
                numbers['protocol'] = dict(
                    max_dets_per_image=self.max_dets,
                    max_dets_per_category=self.max_dets_per_cat)
                if iou_type == 'boundary':
                    numbers['protocol']['boundary_dilation_ratio'] = \
                        self.boundary_dilation_ratio
                for name in RESULT_KEYS:
                    eval_results[f'{iou_type}_{name}'] = numbers[name]
            if bar:
                bar.update()
        if bar:
            print()
        if tables and self.outfile_prefix is not None:
            with open(f'{self.outfile_prefix}.eval.json', 'w',
                      encoding='utf-8') as f:
                json.dump(tables, f, indent=1)
        for iou_type, numbers in tables.items():
            self._log(iou_type, numbers)
        return eval_results

    def _log(self, iou_type: str, numbers: dict) -> None:
        """Log an IoU type's numbers under its protocol and, with
        ``classwise``, its per-category AP, also written as CSV."""
        logger: MMLogger = MMLogger.get_current_instance()
        protocol = ['federated', 'no per-image cap' if self.max_dets is None
                    else f'at most {self.max_dets} detections per image']
        if self.max_dets_per_cat is not None:
            protocol.append(f'at most {self.max_dets_per_cat} per category')
            if self.max_dets is None:
                protocol.append('Fixed AP')
        if iou_type == 'boundary':
            protocol.append('IoU = min(mask IoU, boundary IoU), dilation '
                            f'ratio {self.boundary_dilation_ratio:g}')
        table = AsciiTable([list(RESULT_KEYS),
                            [f'{numbers[k]:.4f}' for k in RESULT_KEYS]])
        logger.info(f'\nLVIS {iou_type} ({", ".join(protocol)}):\n'
                    f'{table.table}')
        if not self.classwise:
            return
        per_cat = numbers['per_category']
        rows = [['id', 'category', 'group', 'train images', 'AP']] + [
            [str(c['id']), c['name'], str(c['frequency']),
             str(c['image_count']), f"{c['ap']:.4f}"] for c in per_cat
        ]
        logger.info(f'\nLVIS {iou_type} AP per category:\n'
                    f'{AsciiTable(rows).table}')
        if self.outfile_prefix is None:
            logger.info('Set outfile_prefix to also write the per-category '
                        'AP as CSV.')
            return
        path = f'{self.outfile_prefix}.{iou_type}.per_category.csv'
        with open(path, 'w', encoding='utf-8', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(per_cat[0]))
            writer.writeheader()
            writer.writerows(per_cat)
        logger.info(f'Per-category {iou_type} AP written to {path}')

    def evaluate(self, size: int) -> dict:
        """As :meth:`BaseMetric.evaluate` (rank 0 computes the metrics and
        sends them to every rank), but in a distributed run the other ranks
        evaluate the categories rank 0 sends them meanwhile.

        Args:
            size (int): Length of the whole dataset (the samplers' padding
                is dropped).

        Returns:
            dict: The metrics, on every rank.
        """
        if get_world_size() == 1:
            return super().evaluate(size)
        results = collect_results(self.results, size, self.collect_device,
                                  tmpdir=self.collect_dir)
        out = [None]
        if is_main_process():
            self._ranks_serving = True
            try:
                metrics = self.compute_metrics(_to_cpu(results))
            except BaseException:
                torch_dist.scatter_object_list(
                    [None], [('stop', True)] * get_world_size(), src=0)
                raise
            finally:
                self._ranks_serving = False
            torch_dist.scatter_object_list(
                [None], [('stop', False)] * get_world_size(), src=0)
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
            out = [metrics]
        else:
            self._serve_category_parts()
        broadcast_object_list(out)
        self.results.clear()
        return out[0]

    def _evaluate_across_ranks(self, dets: List[dict], cat_ids: List[int],
                               kwargs: dict) -> Dict[str, np.ndarray]:
        """Rank 0's side: one run of categories per rank, each other rank
        sent its detections and ground truth; the merged ``precision`` and
        ``recall`` of ``cat_ids``."""
        parts = split_work(self.gt, dets, cat_ids, get_world_size())
        torch_dist.scatter_object_list([None], [('part', None)] + [
            ('part', dict(kwargs, cat_ids=c, dets=d,
                          gt=ground_truth_of(self.gt, c)))
            for c, d in parts[1:]
        ], src=0)
        own_cats, own_dets = parts[0]
        own = evaluate_categories_in_processes(
            self.gt, own_dets, own_cats, nproc=self.nproc,
            **kwargs) if own_cats else None
        gathered: List[Optional[dict]] = [None] * len(parts)
        torch_dist.gather_object(own, gathered, dst=0)
        return merge_category_parts(gathered)

    def _serve_category_parts(self) -> None:
        """The other ranks' side: evaluate the categories rank 0 sends until
        it is done; raise when it failed, so that no rank waits for it."""
        while True:
            received: List[Optional[tuple]] = [None]
            torch_dist.scatter_object_list(received, None, src=0)
            kind, task = received[0]
            if kind == 'stop':
                if task:
                    raise RuntimeError(
                        f'{type(self).__name__}: rank 0 failed computing the '
                        f'metrics (rank {get_rank()} stops too); its log '
                        'shows the error.')
                return
            task['gt'] = COCO(task['gt'])
            own = evaluate_categories_in_processes(
                nproc=self.nproc, **task) if task['cat_ids'] else None
            torch_dist.gather_object(own, None, dst=0)
