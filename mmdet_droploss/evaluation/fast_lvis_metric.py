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
from mmengine.dist import collect_results, get_world_size
from mmengine.evaluator import BaseMetric
from mmengine.evaluator.metric import _to_cpu
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar, mkdir_or_exist
from terminaltables import AsciiTable

from .category_parts import (
    default_nproc,
    evaluate_categories_in_processes,
    merge_category_parts,
    split_work,
)
from .packed_masks import PackedMasks, packed
from .sparse_lvis_eval import SparseLVISEval

# Names we report, and faster-coco-eval's names for them.
RESULT_KEYS = dict(AP='AP_all', AP50='AP_50', AP75='AP_75', APs='AP_small',
                   APm='AP_medium', APl='AP_large', APr='APr', APc='APc',
                   APf='APf')


def take_detections(result: dict, index: np.ndarray) -> dict:
    """A record of :meth:`FastLVISMetric.process` with the detections
    ``index`` (shape (k, )) selects, in that order."""
    out = dict(result)
    for key in ('bboxes', 'scores', 'labels', 'mask_areas'):
        if key in result:
            out[key] = result[key][index]
    if 'masks' in result:
        out['masks'] = packed(result['masks']).take(index)
    return out


def top_k_per_category(results: List[dict], k: int) -> List[dict]:
    """Each category's ``k`` best detections over all records, by lvis-api's
    ``limit_dets_per_cat`` (a stable sort on descending score: of tied
    scores the earlier stay), so the top ``k`` of the parts' top ``k`` is
    the top ``k`` of all.

    Args:
        results (List[dict]): Records with ``scores`` and ``labels`` (n, ).
        k (int): Detections kept per category.

    Returns:
        List[dict]: The records with their kept detections, in order.
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
    return [take_detections(r, np.flatnonzero(keep[s:s + n]))
            for r, s, n in zip(results, starts, sizes)]


def lvis_results(results: List[dict],
                 iou_type: str,
                 cat_ids: List[int],
                 max_dets: Optional[int] = 300,
                 judged: Optional[Dict[int, Set[int]]] = None) -> List[dict]:
    """The best ``max_dets`` detections per image in LVIS result format.

    Args:
        results (List[dict]): Per image ``img_id``, ``bboxes`` (n, 4) xyxy,
            ``scores`` (n, ), ``labels`` (n, ), and for masks ``masks``
            (:class:`PackedMasks` or RLE dicts), optionally ``mask_areas``.
        iou_type (str): 'bbox', 'segm' or 'boundary'.
        cat_ids (List[int]): Category id of each label.
        max_dets (int, optional): Detections kept per image; None: all.
        judged (Dict[int, Set[int]], optional): Per image id the categories
            LVIS judges there; the others are dropped after the cut.

    Returns:
        List[dict]: ``image_id``, ``category_id``, ``score``, ``bbox``
        (xywh) or ``segmentation``, and ``area`` (of the box or mask).
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
            boxes = result['bboxes'][order].astype(np.float64)
            boxes[:, 2:] -= boxes[:, :2]  # xywh
            key, shapes = 'bbox', boxes.tolist()
            areas = boxes[:, 2] * boxes[:, 3]
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
    """Per image id, the categories annotated or negative there."""
    judged = {img['id']: set(img.get('neg_category_ids', ()))
              for img in dataset['images']}
    for ann in dataset['annotations']:
        judged[ann['image_id']].add(ann['category_id'])
    return judged


@METRICS.register_module()
class FastLVISMetric(BaseMetric):
    """LVIS federated box, mask and Boundary AP with lvis-api's numbers, on
    faster-coco-eval's C++ core, in parts of the categories over ``nproc``
    processes and all ranks.

    As lvis-api's ``lvis_challenge_2021``, each image keeps its best
    ``max_dets`` detections, then each category its best ``max_dets_per_cat``
    (Fixed AP: ``max_dets=None, max_dets_per_cat=10000``). Boundary AP's IoU
    is the smaller of the mask and boundary IoUs.

    Args:
        ann_file (str): Path of the LVIS-format annotation file.
        metric (str | Sequence[str]): 'bbox', 'segm' and/or 'boundary' (these
            two need predicted masks). Defaults to ('bbox', 'segm').
        max_dets (int, optional): Detections kept per image; None: all.
            Defaults to 300.
        max_dets_per_cat (int, optional): Detections kept per category;
            None: all. Defaults to None.
        boundary_dilation_ratio (float): Boundary band width of 'boundary',
            a fraction of the image diagonal. Defaults to 0.02.
        classwise (bool): Also log the AP per category and write it to
            ``{outfile_prefix}.{iou_type}.per_category.csv``. Defaults to
            False.
        format_only (bool): Only write ``{outfile_prefix}.{iou_type}.json``.
            Defaults to False.
        outfile_prefix (str, optional): Prefix of the result files: the
            detections after the caps, and ``.eval.json`` (per IoU type the
            numbers, ``protocol`` and ``per_category``). Defaults to None.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names; None: 'lvis'.
        backend_args (dict, optional): File backend of ``ann_file``.
        progress (bool): Show a progress bar. Defaults to True.
        nproc (int, optional): Forked worker processes per rank (the numbers
            do not depend on it); None: this rank's share of its cores, at
            most 8. Defaults to None.
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
        self._ranks_serving = False  # rank 0's, while the others serve it

    def _load_ann_file(self, **kwargs) -> dict:
        with get_local_path(self.ann_file, backend_args=self.backend_args) \
                as path, open(path, encoding='utf-8') as f:
            return json.load(f, **kwargs)

    @cached_property
    def gt(self) -> COCO:
        """COCO: The ground truth, loaded on first use."""
        return COCO(self._load_ann_file())

    @cached_property
    def judged_labels(self) -> Dict[int, np.ndarray]:
        """Dict[int, np.ndarray]: Per image id, the sorted labels LVIS judges
        there (every rank reads them, only rank 0 the ground truth)."""
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
        """Each label's category id: the file's ``categories`` in order, or
        those ``dataset_meta``'s classes name when they are fewer."""
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
        """Keep each image's best ``max_dets`` detections, masks in one
        :class:`PackedMasks`: without ``outfile_prefix`` and
        ``max_dets_per_cat`` only those LVIS judges; with
        ``max_dets_per_cat``, cut per category whenever the held doubled.

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
            result = dict(img_id=sample['img_id'], scores=scores[order],
                          bboxes=pred['bboxes'][index].cpu().numpy(),
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
        # The cut keeps every record (collect_results interleaves the ranks'
        # lists); a sampler's padding cannot push out one of the global top
        # K, as its originals on other ranks rank above it too.
        if k is not None and self._num_held > 2 * self._num_after_cut + k:
            self.results[:] = top_k_per_category(self.results, k)
            self._num_held = self._num_after_cut = sum(
                len(r['scores']) for r in self.results)

    def evaluate_dets(self, dets: List[dict], iou_type: str) -> Dict:
        """LVIS evaluation of result dicts.

        Args:
            dets (List[dict]): Results of :func:`lvis_results`, at most
                ``max_dets`` per image (``id`` and ``iscrowd`` are added).
            iou_type (str): 'bbox', 'segm' or 'boundary'.

        Returns:
            Dict: The numbers of ``RESULT_KEYS`` and, with ``classwise`` or
            ``outfile_prefix``, ``per_category``: per annotated category its
            ``id``, ``name``, ``frequency``, ``image_count`` and ``ap`` (-1:
            undefined).
        """
        for i, det in enumerate(dets):  # not loadRes: it recomputes areas
            det['id'] = i + 1
            det['iscrowd'] = 0
        # faster-coco-eval caps each image-category pair: with no per-image
        # cap, the largest pair's count cuts nothing
        max_dets = self.max_dets or max(Counter(
            (d['image_id'], d['category_id']) for d in dets).values(),
            default=1)
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
        # LVIS's summary of the merged arrays, by faster-coco-eval's own
        summary = SparseLVISEval(self.gt, None, iou_type, lvis_style=True,
                                 print_function=lambda *args: None)
        summary.params.maxDets = [max_dets]
        summary.params.catIds = list(cat_ids)
        summary.freq_groups = summary._prepare_freq_group()
        summary.eval = evaluation
        summary.summarize()
        out = {ours: float(summary.stats_as_dict[theirs])
               for ours, theirs in RESULT_KEYS.items()}
        if self.classwise or self.outfile_prefix is not None:
            out['per_category'] = []
            # precision: [iou, recall, category, area, max_dets]
            for cat_id, p in zip(cat_ids, np.moveaxis(
                    evaluation['precision'][:, :, :, 0, -1], 2, 0)):
                cat = self.gt.cats[cat_id]
                out['per_category'].append(dict(
                    id=int(cat_id), name=cat['name'],
                    frequency=cat.get('frequency'),
                    image_count=cat.get('image_count'),
                    ap=float(p[p > -1].mean()) if (p > -1).any() else -1.0))
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the LVIS metrics.

        Args:
            results (list): Records of :meth:`process`, from all ranks.

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
        # per image its best max_dets (stable, as lvis-api), per category
        # its best max_dets_per_cat
        records = [take_detections(r, np.argsort(-r['scores'], kind='stable')
                                   [:self.max_dets]) for r in results]
        if self.max_dets_per_cat is not None:
            records = top_k_per_category(records, self.max_dets_per_cat)
        bar = ProgressBar(len(self.metrics)) if self.progress else None
        eval_results, tables = {}, {}
        for iou_type in self.metrics:
            # the result file keeps the unjudged too (evaluation servers)
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
        """Log an IoU type's numbers and, with ``classwise``, its AP per
        category, also written as CSV."""
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
        """:meth:`BaseMetric.evaluate`, the other ranks evaluating the
        categories rank 0 sends them meanwhile.

        Args:
            size (int): Length of the whole dataset.

        Returns:
            dict: The metrics, on every rank.
        """
        if get_world_size() == 1:
            return super().evaluate(size)
        results = collect_results(self.results, size, self.collect_device,
                                  tmpdir=self.collect_dir)
        out = [None]
        if torch_dist.get_rank() == 0:
            self._ranks_serving, failed = True, True
            try:
                metrics = self.compute_metrics(_to_cpu(results))
                failed = False
            finally:  # stop the other ranks, failed or done
                self._ranks_serving = False
                torch_dist.scatter_object_list(
                    [None], [failed] * get_world_size(), src=0)
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
            out = [metrics]
        else:
            self._serve_category_parts()
        torch_dist.broadcast_object_list(out, src=0)
        self.results.clear()
        return out[0]

    def _evaluate_across_ranks(self, dets: List[dict], cat_ids: List[int],
                               kwargs: dict) -> Dict[str, np.ndarray]:
        """Rank 0's side: a run of categories per rank, sent with its
        detections and ground truth; the merged arrays of ``cat_ids``."""
        parts = split_work(self.gt, dets, cat_ids, get_world_size())
        gt, tasks = self.gt.dataset, [None]
        # what evaluating a part reads of the ground truth
        keys = ('id', 'height', 'width', 'neg_category_ids',
                'not_exhaustive_category_ids')
        images = [{k: img[k] for k in keys if k in img}
                  for img in gt['images']]
        for c, d in parts[1:]:
            wanted = set(c)
            tasks.append(dict(kwargs, cat_ids=c, dets=d, gt=dict(
                images=images, categories=gt['categories'], annotations=[
                    a for a in gt['annotations'] if a['category_id'] in wanted
                ])))
        torch_dist.scatter_object_list([None], tasks, src=0)
        own_cats, own_dets = parts[0]
        own = evaluate_categories_in_processes(
            self.gt, own_dets, own_cats, nproc=self.nproc,
            **kwargs) if own_cats else None
        gathered: List[Optional[dict]] = [None] * len(parts)
        torch_dist.gather_object(own, gathered, dst=0)
        return merge_category_parts(gathered)

    def _serve_category_parts(self) -> None:
        """The other ranks' side: evaluate the parts rank 0 sends until it
        sends whether it failed (then raise)."""
        while True:
            received: List[Union[dict, bool, None]] = [None]
            torch_dist.scatter_object_list(received, None, src=0)
            task = received[0]
            if isinstance(task, bool):
                if task:
                    raise RuntimeError(
                        f'{type(self).__name__}: rank 0 failed computing the '
                        f'metrics (rank {torch_dist.get_rank()} stops too); '
                        'its log shows the error.')
                return
            task['gt'] = COCO(task['gt'])
            own = evaluate_categories_in_processes(
                nproc=self.nproc, **task) if task['cat_ids'] else None
            torch_dist.gather_object(own, None, dst=0)
