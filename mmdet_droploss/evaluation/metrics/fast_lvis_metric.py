# Copyright (c) mmdet-droploss contributors. All rights reserved.
import csv
import json
import multiprocessing
import os.path as osp
from collections import Counter, OrderedDict
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

from ..functional import (
    PackedMasks,
    category_costs,
    default_nproc,
    evaluate_categories_in_processes,
    ground_truth_of,
    local_world_size,
    merge_category_parts,
    packed,
    split_categories,
    split_detections,
    summarize_categories,
)

# Names we report, and faster-coco-eval's names for them.
RESULT_KEYS = OrderedDict(
    AP='AP_all',
    AP50='AP_50',
    AP75='AP_75',
    APs='AP_small',
    APm='AP_medium',
    APl='AP_large',
    APr='APr',
    APc='APc',
    APf='APf')

# IoU types, and those that need the predicted masks.
IOU_TYPES = ('bbox', 'segm', 'boundary')
MASK_IOU_TYPES = ('segm', 'boundary')

# Per-record arrays indexed by detection (``masks`` is one PackedMasks).
_DET_FIELDS = ('bboxes', 'scores', 'labels', 'mask_areas')


def take_detections(result: dict, index: np.ndarray) -> dict:
    """A record with only the detections ``index`` selects, in that order.

    Args:
        result (dict): A record of :meth:`FastLVISMetric.process`.
        index (np.ndarray): Detection indices, shape (k, ).

    Returns:
        dict: A new record; ``img_id`` and other fields are shared.
    """
    out = dict(result)
    for key in _DET_FIELDS:
        if key in result:
            out[key] = result[key][index]
    if 'masks' in result:
        out['masks'] = packed(result['masks']).take(index)
    return out


def cap_per_image(results: List[dict],
                  max_dets: Optional[int]) -> List[dict]:
    """Each record's detections by descending score, the first ``max_dets``.

    The sort is stable (ties keep the record's order), as lvis-api's
    per-image cap and the order the result file lists detections in.

    Args:
        results (List[dict]): Records of :meth:`FastLVISMetric.process`.
        max_dets (int, optional): Detections kept per image; None keeps
            all.

    Returns:
        List[dict]: New records, sorted and cut.
    """
    return [
        take_detections(
            r, np.argsort(-r['scores'], kind='stable')[:max_dets])
        for r in results
    ]


def top_k_per_category(results: List[dict], k: int) -> List[dict]:
    """Each category's ``k`` best detections over all records.

    The order is lvis-api's (``lvis_challenge_2021``
    ``limit_dets_per_cat``): a stable sort on descending score over the
    detections in result order (records in list order, each record's
    detections in its order), so that of tied scores the earlier ones
    stay. The global top ``k`` of a list is also the top ``k`` of the
    union of its parts' top ``k`` (each part in list order), which lets
    :meth:`FastLVISMetric.process` and the ranks cut early.

    Args:
        results (List[dict]): Records with ``scores`` and ``labels``
            (shape (n, )), each sorted as :func:`cap_per_image` leaves it.
        k (int): Detections kept per category.

    Returns:
        List[dict]: New records (same images, same order) with only the
        kept detections, in their original order.
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

    Besides the result fields, each dict carries the ``area`` LVIS
    evaluates it with (box area, or mask area for 'segm' and 'boundary':
    the record's ``mask_areas`` where :meth:`FastLVISMetric.process`
    stored them, else computed from the RLEs, all masks of an image at
    once).

    Args:
        results (List[dict]): Per image ``img_id``, ``bboxes`` (xyxy),
            ``scores``, ``labels`` and for 'segm' and 'boundary' ``masks``
            (a :class:`PackedMasks` or a list of RLEs) and optionally
            ``mask_areas``.
        iou_type (str): 'bbox', 'segm' or 'boundary'.
        cat_ids (List[int]): Category id of each label.
        max_dets (int, optional): Detections kept per image, over all
            categories; None keeps all.
        judged (Dict[int, Set[int]], optional): Per image id, the
            categories LVIS judges there (annotated or in
            ``neg_category_ids``). Given, detections of other categories
            are left out after the ``max_dets`` cut: LVIS ignores them, so
            the numbers do not change. None keeps all (for result files).

    Returns:
        List[dict]: Result dicts with ``image_id``, ``category_id``,
        ``score``, ``area`` and ``bbox`` (xywh) or ``segmentation``.
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
        cats = cats.tolist()
        scores = result['scores'][order].astype(np.float64).tolist()
        if iou_type == 'bbox':
            x1, y1, x2, y2 = result['bboxes'][order].astype(np.float64).T
            w, h = x2 - x1, y2 - y1
            boxes = np.stack([x1, y1, w, h], axis=1).tolist()
            areas = (w * h).tolist()
            dets.extend(
                dict(image_id=img_id, category_id=c, score=sc, bbox=bb,
                     area=ar)
                for c, sc, bb, ar in zip(cats, scores, boxes, areas))
            continue
        rles = packed(result['masks']).rles(order)
        if not rles:
            continue
        if 'mask_areas' in result:
            areas = result['mask_areas'][order].astype(np.float64).tolist()
        else:
            areas = mask_api.area(rles).astype(np.float64).tolist()
        dets.extend(
            dict(image_id=img_id, category_id=c, score=sc, segmentation=rle,
                 area=ar) for c, sc, rle, ar in zip(cats, scores, rles, areas))
    return dets


# What judged_labels reads of an annotation file: the ids, not the polygons.
_LEAN_KEYS = ('images', 'annotations', 'categories', 'id', 'name',
              'image_id', 'category_id', 'neg_category_ids')


def _lean(obj: dict) -> dict:
    return {k: obj[k] for k in _LEAN_KEYS if k in obj}


def judged_categories(dataset: dict) -> Dict[int, Set[int]]:
    """Per image id, the categories LVIS judges there: those annotated and
    those in its ``neg_category_ids``.

    Args:
        dataset (dict): An LVIS dataset dict (``images``, ``annotations``).

    Returns:
        Dict[int, Set[int]]: Category ids of every image.
    """
    judged = {img['id']: set(img.get('neg_category_ids', ()))
              for img in dataset['images']}
    for ann in dataset['annotations']:
        judged[ann['image_id']].add(ann['category_id'])
    return judged


def read_lean(ann_file: str, backend_args: Optional[dict] = None) -> dict:
    """An LVIS annotation file with only its ids, categories' names and
    images' ``neg_category_ids``; every other field is dropped as it is
    parsed, so the memory stays near the file's size.

    Args:
        ann_file (str): Path of the file.
        backend_args (dict, optional): Its file backend.

    Returns:
        dict: ``images``, ``annotations`` and ``categories``.
    """
    with get_local_path(ann_file, backend_args=backend_args) as path:
        with open(path, encoding='utf-8') as f:
            return json.load(f, object_hook=_lean)


@METRICS.register_module()
class FastLVISMetric(BaseMetric):
    """LVIS box, mask and boundary AP under LVIS's federated rules, without
    lvis-api.

    Reports AP, AP50, AP75, APs, APm, APl, APr, APc, APf for each IoU type.
    Which detections count follows lvis-api (its ``lvis_challenge_2021``
    branch for the options beyond 0.5.3): at most ``max_dets`` per image
    (the highest scoring, over all categories), then, with
    ``max_dets_per_cat``, the K best of each category over the whole
    dataset (Fixed AP, Dave et al. 2021: ``max_dets=None,
    max_dets_per_cat=10000``), then LVIS's federated rules: detections of
    a category that is neither annotated nor listed in the image's
    ``neg_category_ids`` are not judged (they still use up their
    category's K), those of a category in ``not_exhaustive_category_ids``
    count no false positive. 'boundary' is Boundary AP (Cheng et al.
    2021): the IoU of a mask pair is the smaller of their mask IoU and
    their boundary IoU. The evaluation core is faster-coco-eval's C++
    LVIS mode, which works with numpy 2 (lvis-api 0.5.3 does not) and
    gives lvis-api's numbers.

    The categories are evaluated in parts, on ``nproc`` worker processes
    and, in a distributed run, on every rank (see :meth:`evaluate`); the
    numbers are those of one evaluation, bit for bit.

    Args:
        ann_file (str): Path of the LVIS-format annotation file.
        metric (str | Sequence[str]): 'bbox', 'segm' and/or 'boundary'
            (the last two need masks in the predictions). Defaults to
            ('bbox', 'segm').
        max_dets (int, optional): Detections kept per image; None keeps
            all (Fixed AP). Defaults to 300.
        max_dets_per_cat (int, optional): Detections kept per category
            over the dataset (10000 for Fixed AP); None keeps all.
            Defaults to None.
        boundary_dilation_ratio (float): Width of the boundary band of
            'boundary', as a fraction of the image diagonal. Defaults to
            0.02.
        classwise (bool): Also log the per-category AP, and write it to
            ``outfile_prefix``.{iou_type}.per_category.csv. Defaults to
            False.
        format_only (bool): Only write the results to
            ``outfile_prefix``.{iou_type}.json. Defaults to False.
        outfile_prefix (str, optional): Prefix of the result files; None
            writes none. Besides the detections (after the caps), an
            evaluation writes ``outfile_prefix``.eval.json: per IoU type
            the reported numbers, the ``protocol`` (caps, dilation) and
            ``per_category`` (id, name, frequency group, training image
            count and AP of every annotated category), which
            ``tools/analysis/plot_*.py`` read.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to
            'lvis'.
        backend_args (dict, optional): File backend of ``ann_file``.
        progress (bool): Show a progress bar. Defaults to True.
        nproc (int, optional): Worker processes that evaluate the
            categories in parts (forked: Linux), on each rank. None: this
            rank's share of the cores it may run on, at most 8. The
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
            if m not in IOU_TYPES:
                raise KeyError(
                    f'FastLVISMetric: unknown metric {m!r}; choose from '
                    f'{list(IOU_TYPES)} (e.g. metric=[\'bbox\', \'segm\']).')
        for name, value in (('max_dets', max_dets),
                            ('max_dets_per_cat', max_dets_per_cat)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(
                    f'{name} must be a positive integer or None (no cap), '
                    f'got {value!r}; Fixed AP uses max_dets=None, '
                    'max_dets_per_cat=10000.')
        if not boundary_dilation_ratio > 0:
            raise ValueError(
                'boundary_dilation_ratio must be positive (the boundary '
                'band as a fraction of the image diagonal; 0.02 is the '
                f'standard), got {boundary_dilation_ratio!r}.')
        if format_only and outfile_prefix is None:
            raise ValueError('format_only needs outfile_prefix.')
        if nproc is None:
            nproc = default_nproc(local_world_size())
        elif isinstance(nproc, bool) or not isinstance(nproc,
                                                       int) or nproc < 1:
            raise ValueError(
                'nproc must be a positive integer (worker processes of the '
                f'evaluation) or None (as many as the cores allow), got '
                f'{nproc!r}.')
        if nproc > 1 and 'fork' not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f'nproc={nproc} needs the fork start method, which this '
                'platform lacks; set nproc=1.')
        self.nproc = nproc
        self.ann_file = ann_file
        self.max_dets = max_dets
        self.max_dets_per_cat = max_dets_per_cat
        self.boundary_dilation_ratio = float(boundary_dilation_ratio)
        self.classwise = classwise
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        self.progress = progress
        self._gt: Optional[COCO] = None
        # detections held, and held after the last per-category cut
        self._num_held = 0
        self._num_after_cut = 0
        # True on rank 0 while the other ranks wait for categories to
        # evaluate (inside evaluate() of a distributed run)
        self._ranks_serving = False
        self._judged_labels: Optional[Dict[int, np.ndarray]] = None

    @property
    def gt(self) -> COCO:
        """COCO: The ground truth, loaded once on first use."""
        if self._gt is None:
            with get_local_path(
                    self.ann_file, backend_args=self.backend_args) as path:
                with open(path, encoding='utf-8') as f:
                    dataset = json.load(f)
            self._gt = COCO(dataset)
        return self._gt

    @property
    def judged_cat_ids(self) -> Dict[int, Set[int]]:
        """Dict[int, Set[int]]: Per image, the categories LVIS judges
        there: those annotated and those in ``neg_category_ids``."""
        return judged_categories(self.gt.dataset)

    @property
    def label_cat_ids(self) -> List[int]:
        """List[int]: The category id of each label, as the dataset numbers
        them: the file's categories in file order, not sorted by id.

        ``LVISV1Dataset`` and ``LVISV05Dataset`` number every category of
        the file (lvis-api's ``get_cat_ids``: the file's list). A
        ``CocoDataset`` whose ``metainfo`` classes name only some of the
        file's categories numbers those, still in file order
        (``get_cat_ids(cat_names=classes)``): when ``dataset_meta``'s
        classes are fewer than the file's categories and all of them are
        there, the labels follow them. The LVIS datasets' own class list
        (1203 or 1230 names) is never fewer than their file's categories.

        Raises:
            ValueError: When the classes are fewer than the file's
                categories but some of them are not in the file: no
                numbering of the file matches the dataset's.
        """
        return self._label_cat_ids(self.gt.dataset['categories'])

    def _label_cat_ids(self, cats: List[dict]) -> List[int]:
        """:attr:`label_cat_ids` of the file's ``categories``."""
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None or len(classes) >= len(cats):
            return [c['id'] for c in cats]
        wanted = set(classes)
        cat_ids = [c['id'] for c in cats if c['name'] in wanted]
        absent = sorted(wanted - {c['name'] for c in cats})
        if absent:
            raise ValueError(
                f'FastLVISMetric: the dataset names {len(classes)} classes, '
                f'fewer than the {len(cats)} categories of {self.ann_file}, '
                f'and {absent[:5]} (of {len(absent)}) are not among them: '
                'the labels cannot be matched to its categories. Evaluate '
                'with the annotation file the dataset reads, or name the '
                'classes as the file does.')
        return cat_ids

    @property
    def keeps_only_judged(self) -> bool:
        """bool: Whether :meth:`process` keeps only the detections LVIS
        judges: of categories annotated on their image or in its
        ``neg_category_ids``.

        The others change no number, so they are dropped before their masks
        are encoded, gathered and held, unless a result file is written
        (``outfile_prefix``: it keeps every detection) or a category's K
        best are taken over the dataset (``max_dets_per_cat``: unjudged
        detections use up their category's K).
        """
        return self.outfile_prefix is None and self.max_dets_per_cat is None

    @property
    def judged_labels(self) -> Dict[int, np.ndarray]:
        """Dict[int, np.ndarray]: Per image id, the labels of the
        categories LVIS judges there (sorted).

        Read once from ``ann_file`` keeping only ids (not the polygons):
        every rank needs it in :meth:`process`, and the ground truth itself
        (over a gigabyte of Python objects for LVIS val) only rank 0.
        """
        if self._judged_labels is None:
            ann = read_lean(self.ann_file, self.backend_args)
            label = {c: k for k, c in enumerate(
                self._label_cat_ids(ann['categories']))}
            self._judged_labels = {
                img_id: np.array(sorted(label[c] for c in cats
                                        if c in label), dtype=np.int64)
                for img_id, cats in judged_categories(ann).items()
            }
        return self._judged_labels

    @property
    def annotated_cat_ids(self) -> List[int]:
        """List[int]: Ids of the categories with ground truth, sorted."""
        return sorted({a['category_id'] for a in self.gt.dataset[
            'annotations']})

    def protocol(self, iou_type: str) -> Dict[str, object]:
        """The evaluation settings that define the numbers of an IoU type.

        Args:
            iou_type (str): 'bbox', 'segm' or 'boundary'.

        Returns:
            Dict[str, object]: ``max_dets_per_image`` and
            ``max_dets_per_category`` (None: no cap) and, for 'boundary',
            ``boundary_dilation_ratio``.
        """
        out: Dict[str, object] = dict(
            max_dets_per_image=self.max_dets,
            max_dets_per_category=self.max_dets_per_cat)
        if iou_type == 'boundary':
            out['boundary_dilation_ratio'] = self.boundary_dilation_ratio
        return out

    def describe_protocol(self, iou_type: str) -> str:
        """One line naming the protocol, for the printed table.

        Args:
            iou_type (str): 'bbox', 'segm' or 'boundary'.

        Returns:
            str: E.g. 'federated, at most 300 detections per image'.
        """
        parts = ['federated']
        parts.append('no per-image cap' if self.max_dets is None else
                     f'at most {self.max_dets} detections per image')
        if self.max_dets_per_cat is not None:
            parts.append(f'at most {self.max_dets_per_cat} per category')
        if self.max_dets is None and self.max_dets_per_cat is not None:
            parts.append('Fixed AP')
        if iou_type == 'boundary':
            parts.append('IoU = min(mask IoU, boundary IoU), dilation ratio '
                         f'{self.boundary_dilation_ratio:g}')
        return ', '.join(parts)

    def _check_image_ids(self, img_ids: Set[int]) -> None:
        unknown = img_ids - set(self.gt.imgs)
        if unknown:
            raise ValueError(
                f'Detections on images not in {self.ann_file}, e.g. '
                f'{sorted(unknown)[:5]}; evaluate with the annotation file '
                'of the dataset that was predicted.')

    def _check_masks(self, has_masks: bool) -> None:
        needs = [m for m in self.metrics if m in MASK_IOU_TYPES]
        if needs and not has_masks:
            raise ValueError(
                f'FastLVISMetric metric {needs} needs masks in the '
                'predictions, and they have none (a detector without a '
                "mask head?); evaluate with metric='bbox' or a model that "
                'predicts masks.')

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the predictions of a batch, masks RLE-encoded.

        A record keeps its image's detections by descending score, at most
        ``max_dets``, of them only those LVIS judges where
        :attr:`keeps_only_judged`, as arrays (masks as one
        :class:`PackedMasks`, not an object per detection); with
        ``max_dets_per_cat``, whenever the held detections have doubled
        since the last cut, each category is cut to its best
        ``max_dets_per_cat`` (so memory stays bounded).

        Args:
            data_batch (dict): A batch from the dataloader.
            data_samples (Sequence[dict]): Predicted data samples.
        """
        if not self.results:
            # evaluate() emptied the list: a new round
            self._num_held = self._num_after_cut = 0
        for sample in data_samples:
            pred = sample['pred_instances']
            self._check_masks('masks' in pred)
            scores = pred['scores'].cpu().numpy()
            order = np.argsort(-scores, kind='stable')[:self.max_dets]
            labels = pred['labels'].cpu().numpy()[order]
            judged = self.judged_labels.get(sample['img_id']) \
                if self.keeps_only_judged else None
            if judged is not None:  # after the per-image cap, as LVIS
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
                    rles, size = [masks[i] for i in order], sample.get(
                        'ori_shape')
                result['masks'] = PackedMasks.from_rles(rles, size=size)
                # pixel counts for LVIS's area ranges, summed from the runs:
                # a tenth of the time of a sum over the dense masks
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

    def select_detections(self, results: List[dict]) -> List[dict]:
        """The detections the protocol evaluates: per image the best
        ``max_dets``, then per category the best ``max_dets_per_cat``.

        Args:
            results (List[dict]): Records of :meth:`process`, gathered
                from all ranks, in result order.

        Returns:
            List[dict]: New records, each sorted by descending score.
        """
        records = cap_per_image(results, self.max_dets)
        if self.max_dets_per_cat is not None:
            records = top_k_per_category(records, self.max_dets_per_cat)
        return records

    def evaluate_dets(self, dets: List[dict], iou_type: str) -> Dict:
        """LVIS evaluation of result dicts against the ground truth.

        Args:
            dets (List[dict]): Result dicts (see :func:`lvis_results`),
                at most ``max_dets`` per image; ``id`` and ``iscrowd`` are
                added to them.
            iou_type (str): 'bbox', 'segm' or 'boundary'.

        Returns:
            Dict: The numbers of ``RESULT_KEYS`` and, with ``classwise`` or
            ``outfile_prefix``, ``per_category``: a list of dicts with the
            category's ``id``, ``name``, ``frequency``, ``image_count`` and
            ``ap`` (-1 where no precision is defined).
        """
        self._check_image_ids({d['image_id'] for d in dets})
        # The results API, built directly: loadRes would recompute every
        # area and box one detection at a time.
        for i, det in enumerate(dets):
            det['id'] = i + 1
            det['iscrowd'] = 0
        if self.max_dets is None:
            # faster-coco-eval caps each image-category pair (and reserves
            # images x cap entries): the largest pair's count cuts nothing
            pairs = Counter((d['image_id'], d['category_id']) for d in dets)
            max_dets = max(pairs.values(), default=1)
        else:
            max_dets = self.max_dets
        # A category without ground truth has no AP in LVIS (precision -1,
        # left out of every mean); leaving it out spares its empty pairs.
        cat_ids = self.annotated_cat_ids
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
            per_cat = []
            for k, cat_id in enumerate(cat_ids):
                valid = precision[:, :, k][precision[:, :, k] > -1]
                cat = self.gt.cats[cat_id]
                per_cat.append(
                    dict(
                        id=int(cat_id),
                        name=cat['name'],
                        frequency=cat.get('frequency'),
                        image_count=cat.get('image_count'),
                        ap=float(valid.mean()) if valid.size else -1.0))
            out['per_category'] = per_cat
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the LVIS metrics of all processed results.

        Args:
            results (list): Outputs of :meth:`process`, gathered from all
                ranks.

        Returns:
            Dict[str, float]: ``{iou_type}_{name}`` for every reported name.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        eval_results = OrderedDict()
        tables = []
        bar = ProgressBar(1 + 2 * len(self.metrics)) if self.progress \
            else None
        self._check_masks(all('masks' in r for r in results))
        cat_ids = self.label_cat_ids
        judged = None
        if not self.format_only:
            self._check_image_ids({int(r['img_id']) for r in results})
            judged = self.judged_cat_ids
        records = self.select_detections(results)
        for iou_type in [None] + self.metrics:
            if iou_type is not None:
                if self.outfile_prefix is not None:
                    # the result file keeps every detection the caps keep
                    # (for the evaluation server), not only the judged ones
                    dets = lvis_results(records, iou_type, cat_ids, None)
                    mkdir_or_exist(
                        osp.dirname(osp.abspath(self.outfile_prefix)))
                    with open(f'{self.outfile_prefix}.{iou_type}.json',
                              'w', encoding='utf-8') as f:
                        json.dump(dets, f)
                    if judged is not None:
                        dets = [
                            d for d in dets
                            if d['category_id'] in judged[d['image_id']]
                        ]
                else:
                    dets = lvis_results(records, iou_type, cat_ids, None,
                                        judged)
                if bar:
                    bar.update()
                if not self.format_only:
                    numbers = self.evaluate_dets(dets, iou_type)
                    numbers['protocol'] = self.protocol(iou_type)
                    tables.append((iou_type, numbers))
                    for name in RESULT_KEYS:
                        eval_results[f'{iou_type}_{name}'] = numbers[name]
            if bar:
                bar.update()
        if bar:
            print()
        if tables and self.outfile_prefix is not None:
            with open(f'{self.outfile_prefix}.eval.json', 'w',
                      encoding='utf-8') as f:
                json.dump(dict(tables), f, indent=1)
        for iou_type, numbers in tables:
            table = AsciiTable([list(RESULT_KEYS),
                                [f'{numbers[k]:.4f}' for k in RESULT_KEYS]])
            logger.info(f'\nLVIS {iou_type} '
                        f'({self.describe_protocol(iou_type)}):\n'
                        f'{table.table}')
            if self.classwise:
                self._log_per_category(iou_type, numbers['per_category'],
                                       logger)
        return eval_results

    def evaluate(self, size: int) -> dict:
        """Evaluate the results of all ranks; in a distributed run every
        rank evaluates a part of the categories.

        As :meth:`BaseMetric.evaluate`: the records are gathered on rank 0,
        which computes the metrics and sends them to the others. While it
        does, the other ranks evaluate the categories rank 0 sends them
        (:meth:`_serve_category_parts`) instead of waiting; a single
        process is :meth:`BaseMetric.evaluate` itself.

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
        if is_main_process():
            self._ranks_serving = True
            try:
                metrics = self.compute_metrics(_to_cpu(results))
            except BaseException:
                self._send_to_ranks(('stop', True))
                raise
            finally:
                self._ranks_serving = False
            self._send_to_ranks(('stop', False))
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
            out = [metrics]
        else:
            self._serve_category_parts()
            out = [None]
        broadcast_object_list(out)
        self.results.clear()
        return out[0]

    @staticmethod
    def _send_to_ranks(message: tuple) -> None:
        """Send every other rank the same message (rank 0 only)."""
        torch_dist.scatter_object_list([None], [message] * get_world_size(),
                                       src=0)

    def _evaluate_across_ranks(self, dets: List[dict], cat_ids: List[int],
                               kwargs: dict) -> Dict[str, np.ndarray]:
        """Rank 0's side of a distributed evaluation of one IoU type.

        The categories are split into one run per rank, of about equal
        work; each other rank gets its categories' detections and ground
        truth, and every rank evaluates its part on ``nproc`` processes.

        Args:
            dets (List[dict]): Result dicts with ``id`` and ``iscrowd``.
            cat_ids (List[int]): The categories, in evaluation order.
            kwargs (dict): ``iou_type``, ``max_dets`` and
                ``boundary_dilation_ratio``.

        Returns:
            Dict[str, np.ndarray]: ``precision`` and ``recall`` of all
            categories.
        """
        parts = split_categories(cat_ids,
                                 category_costs(self.gt, dets, cat_ids),
                                 get_world_size())
        part_dets = split_detections(dets, parts)
        messages = [('part', None)] + [
            ('part', dict(kwargs, cat_ids=parts[r], dets=part_dets[r],
                          gt=ground_truth_of(self.gt, parts[r])))
            for r in range(1, len(parts))
        ]
        torch_dist.scatter_object_list([None], messages, src=0)
        own = evaluate_categories_in_processes(
            self.gt, part_dets[0], parts[0], nproc=self.nproc,
            **kwargs) if parts[0] else None
        gathered: List[Optional[dict]] = [None] * len(parts)
        torch_dist.gather_object(own, gathered, dst=0)
        return merge_category_parts(gathered)

    def _serve_category_parts(self) -> None:
        """The other ranks' side: evaluate the categories rank 0 sends and
        return their arrays, until it says it is done.

        Raises:
            RuntimeError: When rank 0 failed computing the metrics (its
                error is in its own log), so that no rank waits for it.
        """
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
            cat_ids, dets = task.pop('cat_ids'), task.pop('dets')
            own = evaluate_categories_in_processes(
                COCO(task.pop('gt')), dets, cat_ids, nproc=self.nproc,
                **task) if cat_ids else None
            torch_dist.gather_object(own, None, dst=0)

    def _log_per_category(self, iou_type: str, per_cat: List[dict],
                          logger: MMLogger) -> None:
        """Log the per-category AP and write it as CSV next to the other
        result files."""
        rows = [['id', 'category', 'group', 'train images', 'AP']] + [
            [str(c['id']), c['name'], str(c['frequency']),
             str(c['image_count']), f"{c['ap']:.4f}"]
            for c in per_cat
        ]
        logger.info(f'\nLVIS {iou_type} AP per category:\n'
                    f'{AsciiTable(rows).table}')
        if self.outfile_prefix is None:
            logger.info('Set outfile_prefix to also write the per-category '
                        'AP as CSV.')
            return
        path = f'{self.outfile_prefix}.{iou_type}.per_category.csv'
        with open(path, 'w', encoding='utf-8', newline='') as f:
            writer = csv.DictWriter(
                f, fieldnames=('id', 'name', 'frequency', 'image_count',
                               'ap'), extrasaction='ignore')
            writer.writeheader()
            writer.writerows(per_cat)
        logger.info(f'Per-category {iou_type} AP written to {path}')
