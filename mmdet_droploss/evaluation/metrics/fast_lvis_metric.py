# Copyright (c) mmdet-droploss contributors. All rights reserved.
import copy
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Set, Union

import numpy as np
from faster_coco_eval import COCO, COCOeval_faster
from faster_coco_eval.core import mask as mask_api
from faster_coco_eval.core.faster_eval_api import _C
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar, mkdir_or_exist
from terminaltables import AsciiTable

from mmdet.registry import METRICS
from mmdet.structures.mask import encode_mask_results

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


def lvis_results(results: List[dict],
                 iou_type: str,
                 cat_ids: List[int],
                 max_dets: int = 300,
                 judged: Optional[Dict[int, Set[int]]] = None) -> List[dict]:
    """Detections in LVIS result format, the best ``max_dets`` per image.

    Besides the result fields, each dict carries the ``area`` LVIS
    evaluates it with (box area, or mask area for 'segm': the record's
    ``mask_areas`` where :meth:`FastLVISMetric.process` stored them, else
    computed from the RLEs, all masks of an image at once).

    Args:
        results (List[dict]): Per image ``img_id``, ``bboxes`` (xyxy),
            ``scores``, ``labels`` and for 'segm' ``masks`` (RLEs) and
            optionally ``mask_areas``.
        iou_type (str): 'bbox' or 'segm'.
        cat_ids (List[int]): Category id of each label.
        max_dets (int): Detections kept per image, over all categories.
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
        rles = [
            dict(size=rle['size'], counts=rle['counts'].decode())
            if isinstance(rle['counts'], bytes) else rle
            for rle in (result['masks'][i] for i in order)
        ]
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


class SparseLVISEval(COCOeval_faster):
    """faster-coco-eval's LVIS evaluation without its per-pair dictionary.

    ``COCOeval_faster.evaluate`` builds a dict entry for every image x
    category pair (20k x 1203 on LVIS val) before it computes the IoUs of
    the few pairs that have both ground truth and detections. Here the
    empty pairs share one empty list; the IoUs, the C++ matching and the
    accumulation are faster-coco-eval's own (pinned to 1.8.0).
    """

    def evaluate(self) -> None:
        """Compute IoUs of the non-empty pairs, then match and accumulate."""
        p = self.params
        p.imgIds = list(np.unique(p.imgIds))
        p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self._prepare()
        img_index = {img_id: k for k, img_id in enumerate(p.imgIds)}
        cat_index = {cat_id: k for k, cat_id in enumerate(p.catIds)}
        empty: list = []
        ious = [[empty] * len(p.catIds) for _ in p.imgIds]
        for img_id, cat_id in self._nonempty_iou_pairs:
            ious[img_index[img_id]][cat_index[cat_id]] = self.computeIoU(
                img_id, cat_id)
        self._paramsEval = copy.deepcopy(p)
        self.eval = _C.COCOevalEvaluateAccumulate(
            self._paramsEval, ious, self.gt_dataset, self.dt_dataset,
            p.imgIds, p.catIds, bool(p.useCats))


@METRICS.register_module()
class FastLVISMetric(BaseMetric):
    """LVIS box and mask AP under LVIS's federated rules, without lvis-api.

    Reports AP, AP50, AP75, APs, APm, APl, APr, APc, APf for each IoU type,
    with at most ``max_dets`` detections per image (the highest scoring,
    over all categories, as LVIS counts them). Detections of a category
    that is neither annotated nor listed in the image's
    ``neg_category_ids`` are not judged; those of a category in
    ``not_exhaustive_category_ids`` count no false positive. The
    evaluation core is faster-coco-eval's C++ LVIS mode, which works with
    numpy 2 (lvis-api 0.5.3 does not) and agrees with lvis-api to 1e-4.

    Args:
        ann_file (str): Path of the LVIS-format annotation file.
        metric (str | Sequence[str]): 'bbox' and/or 'segm'.
            Defaults to ('bbox', 'segm').
        max_dets (int): Detections kept per image. Defaults to 300.
        classwise (bool): Also log per-category AP. Defaults to False.
        format_only (bool): Only write the results to
            ``outfile_prefix``.{bbox,segm}.json. Defaults to False.
        outfile_prefix (str, optional): Prefix of the result files; None
            writes none. Besides the detections, an evaluation writes
            ``outfile_prefix``.eval.json: per IoU type the reported numbers
            and ``per_category`` (id, name, frequency group, training image
            count and AP of every annotated category), which
            ``tools/analysis/plot_*.py`` read.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to
            'lvis'.
        backend_args (dict, optional): File backend of ``ann_file``.
        progress (bool): Show a progress bar. Defaults to True.
    """

    default_prefix: Optional[str] = 'lvis'

    def __init__(self,
                 ann_file: str,
                 metric: Union[str, Sequence[str]] = ('bbox', 'segm'),
                 max_dets: int = 300,
                 classwise: bool = False,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 progress: bool = True) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        for m in self.metrics:
            if m not in ('bbox', 'segm'):
                raise KeyError(
                    f"FastLVISMetric evaluates 'bbox' and 'segm', got {m!r}.")
        if format_only and outfile_prefix is None:
            raise ValueError('format_only needs outfile_prefix.')
        self.ann_file = ann_file
        self.max_dets = max_dets
        self.classwise = classwise
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        self.progress = progress
        self._gt: Optional[COCO] = None

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
        judged = {img_id: set(img.get('neg_category_ids', ()))
                  for img_id, img in self.gt.imgs.items()}
        for ann in self.gt.dataset['annotations']:
            judged[ann['image_id']].add(ann['category_id'])
        return judged

    @property
    def annotated_cat_ids(self) -> List[int]:
        """List[int]: Ids of the categories with ground truth, sorted."""
        return sorted({a['category_id'] for a in self.gt.dataset[
            'annotations']})

    def _check_image_ids(self, img_ids: Set[int]) -> None:
        unknown = img_ids - set(self.gt.imgs)
        if unknown:
            raise ValueError(
                f'Detections on images not in {self.ann_file}, e.g. '
                f'{sorted(unknown)[:5]}; evaluate with the annotation file '
                'of the dataset that was predicted.')

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the predictions of a batch, masks RLE-encoded.

        Args:
            data_batch (dict): A batch from the dataloader.
            data_samples (Sequence[dict]): Predicted data samples.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            result = dict(
                img_id=sample['img_id'],
                bboxes=pred['bboxes'].cpu().numpy(),
                scores=pred['scores'].cpu().numpy(),
                labels=pred['labels'].cpu().numpy())
            if 'masks' in pred:
                masks = pred['masks'].detach()
                # pixel counts now, while the masks are dense (and maybe on
                # the GPU): what LVIS's area ranges use, without decoding
                result['mask_areas'] = masks.flatten(1).sum(1).cpu().numpy()
                result['masks'] = encode_mask_results(masks.cpu().numpy())
            self.results.append(result)

    def evaluate_dets(self, dets: List[dict], iou_type: str) -> Dict:
        """LVIS evaluation of result dicts against the ground truth.

        Args:
            dets (List[dict]): Result dicts (see :func:`lvis_results`),
                at most ``max_dets`` per image; ``id`` and ``iscrowd`` are
                added to them.
            iou_type (str): 'bbox' or 'segm'.

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
        dt = COCO()
        dt.dataset = dict(
            images=self.gt.dataset['images'],
            categories=self.gt.dataset['categories'],
            annotations=dets)
        dt.createIndex()
        evaluator = SparseLVISEval(
            self.gt,
            dt,
            iou_type,
            lvis_style=True,
            print_function=lambda *args, **kwargs: None)
        evaluator.params.maxDets = [self.max_dets]
        evaluator.params.imgIds = sorted(self.gt.getImgIds())
        # A category without ground truth has no AP in LVIS (precision -1,
        # left out of every mean); leaving it out spares its empty pairs.
        evaluator.params.catIds = self.annotated_cat_ids
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        stats = evaluator.stats_as_dict
        out = {ours: float(stats[theirs]) for ours, theirs in
               RESULT_KEYS.items()}
        if self.classwise or self.outfile_prefix is not None:
            # precision: [iou, recall, category, area, max_dets]
            precision = evaluator.eval['precision'][:, :, :, 0, -1]
            per_cat = []
            for k, cat_id in enumerate(evaluator.params.catIds):
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
        cat_ids = sorted(self.gt.getCatIds())
        judged = None
        if not self.format_only:
            self._check_image_ids({int(r['img_id']) for r in results})
            judged = self.judged_cat_ids
        for iou_type in [None] + self.metrics:
            if iou_type is not None:
                if self.outfile_prefix is not None:
                    # the result file keeps every detection (for the
                    # evaluation server), not only the judged ones
                    dets = lvis_results(results, iou_type, cat_ids,
                                        self.max_dets)
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
                    dets = lvis_results(results, iou_type, cat_ids,
                                        self.max_dets, judged)
                if bar:
                    bar.update()
                if not self.format_only:
                    numbers = self.evaluate_dets(dets, iou_type)
                    tables.append((iou_type, numbers))
                    for name, value in numbers.items():
                        if name != 'per_category':
                            eval_results[f'{iou_type}_{name}'] = value
            if bar:
                bar.update()
        if bar:
            print()
        if tables and self.outfile_prefix is not None:
            with open(f'{self.outfile_prefix}.eval.json', 'w',
                      encoding='utf-8') as f:
                json.dump(dict(tables), f, indent=1)
        for iou_type, numbers in tables:
            per_cat = numbers.pop('per_category', None)
            table = AsciiTable([list(numbers),
                                [f'{v:.4f}' for v in numbers.values()]])
            logger.info(f'\nLVIS {iou_type} (federated, at most '
                        f'{self.max_dets} detections per image):\n'
                        f'{table.table}')
            if per_cat is not None and self.classwise:
                rows = [['category', 'group', 'AP']] + [
                    [c['name'], c['frequency'], f"{c['ap']:.4f}"]
                    for c in per_cat if c['ap'] >= 0
                ]
                logger.info('\n' + AsciiTable(rows).table)
        return eval_results
