"""Fixed AP (no per-image cap, K per category) and Boundary AP of
FastLVISMetric against lvis-api 0.5.3 and an independent boundary IoU."""
import copy
import csv
import json
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from lvis import LVIS, LVISEval, LVISResults
from mmdet.registry import HOOKS, METRICS
from mmengine.logging import MessageHub, MMLogger
from pycocotools import mask as mask_util

from mmdet_droploss.evaluation.fast_lvis_metric import (
    RESULT_KEYS,
    lvis_results,
    top_k_per_category,
)
from mmdet_droploss.testing.synthetic_lvis import synthetic_detections


def load_gt(tiny_lvis) -> dict:
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        return json.load(f)


def box_record(img: dict, boxes, scores, labels) -> dict:
    """A record as FastLVISMetric.process keeps it, masks filling boxes."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    masks = np.zeros((img['height'], img['width'], len(boxes)),
                     dtype=np.uint8, order='F')
    for k, (x1, y1, x2, y2) in enumerate(boxes.round().astype(int)):
        masks[max(y1, 0):y2, max(x1, 0):x2, k] = 1
    return dict(img_id=img['id'], bboxes=boxes,
                scores=np.asarray(scores, dtype=np.float32),
                labels=np.asarray(labels, dtype=np.int64),
                masks=mask_util.encode(masks),
                mask_areas=masks.sum((0, 1)).astype(np.float32))


def concat(a: dict, b: dict) -> dict:
    out = {k: np.concatenate([a[k], b[k]])
           for k in ('bboxes', 'scores', 'labels', 'mask_areas')}
    return dict(out, img_id=a['img_id'], masks=list(a['masks']) + list(
        b['masks']))


def judged_by_image(gt: dict) -> dict:
    judged = {img['id']: set(img['neg_category_ids']) for img in gt['images']}
    for a in gt['annotations']:
        judged[a['image_id']].add(a['category_id'])
    return judged


def case_ties(gt):
    """Scores on a coarse grid: the K-th detection of the busiest
    category is tied with the next ones."""
    results = synthetic_detections(gt, 40, seed=3)
    for r in results:
        r['scores'] = np.floor(r['scores'] * 4).astype(np.float32) / 4
    labels = np.concatenate([r['labels'] for r in results])
    scores = np.concatenate([r['scores'] for r in results])
    busiest = np.bincount(labels).argmax()
    ranked = np.sort(scores[labels == busiest])[::-1]
    k = next(k for k in range(len(ranked) // 2, len(ranked))
             if ranked[k - 1] == ranked[k])
    return results, k


def case_unjudged(gt):
    """A category's budget used up by confident detections on images
    where LVIS does not judge it."""
    results = synthetic_detections(gt, 40, seed=4)
    cat_ids = sorted(c['id'] for c in gt['categories'])
    judged = judged_by_image(gt)
    counts = defaultdict(int)
    for a in gt['annotations']:
        if any(a['category_id'] not in j for j in judged.values()):
            counts[a['category_id']] += 1
    cat = max(counts, key=counts.get)  # annotated, and unjudged somewhere
    label = cat_ids.index(cat)
    rng = np.random.default_rng(0)
    for r, img in zip(results, gt['images']):
        if cat in judged[img['id']]:
            continue
        xy = rng.uniform(0, 50, (20, 2))
        r.update(concat(r, box_record(
            img, np.concatenate([xy, xy + 30], 1), rng.uniform(0.9, 1, 20),
            [label] * 20)))
    own = sum(int((r['labels'] == label).sum()) for r, img in
              zip(results, gt['images']) if cat in judged[img['id']])
    return results, own  # K: as many as the judged ones alone


def case_crowded(gt):
    """400 detections of one category on one image, its true positive
    (the ground truth's box and mask) last: any per image-category cap of
    300 would lose it."""
    results = synthetic_detections(gt, 40, seed=5)
    cat_ids = sorted(c['id'] for c in gt['categories'])
    ann = gt['annotations'][0]
    img_index = next(i for i, img in enumerate(gt['images'])
                     if img['id'] == ann['image_id'])
    img = gt['images'][img_index]
    x, y, w, h = ann['bbox']
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 4, (399, 2))
    boxes = np.concatenate([
        np.concatenate([xy, xy + 3], 1), [[x, y, x + w, y + h]]])
    scores = np.concatenate([rng.uniform(0.5, 0.9, 399), [0.05]])
    crowd = box_record(img, boxes, scores,
                       [cat_ids.index(ann['category_id'])] * 400)
    crowd['masks'][-1] = mask_util.merge(mask_util.frPyObjects(
        ann['segmentation'], img['height'], img['width']))
    crowd['mask_areas'][-1] = mask_util.area(crowd['masks'][-1])
    results[img_index] = concat(results[img_index], crowd)
    return results, 10000


CASES = dict(ties=case_ties, unjudged=case_unjudged, crowded=case_crowded)


def reference_cut(dets: list, k: int) -> list:
    """lvis-api lvis_challenge_2021's limit_dets_per_cat: each category's
    k best by a stable sort on score, over the result list."""
    by_cat = defaultdict(list)
    for det in dets:
        by_cat[det['category_id']].append(det)
    return [d for cat_dets in by_cat.values() for d in sorted(
        cat_dets, key=lambda d: d['score'], reverse=True)[:k]]


def lvis_api(ann_file: str, dets: list, iou_type: str,
             evaluator=LVISEval) -> LVISEval:
    gt = LVIS(ann_file)
    ref = evaluator(gt, LVISResults(gt, copy.deepcopy(dets), max_dets=-1),
                    iou_type)
    ref.run()
    return ref


def category_ap(ref: LVISEval, k: int) -> float:
    pr = ref.eval['precision'][:, :, k, 0]
    return float(pr[pr > -1].mean()) if (pr > -1).any() else -1.0


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
@pytest.mark.parametrize('case', sorted(CASES))
def test_fixed_ap_same_numbers_as_lvis_api(informative_lvis,
                                           assert_informative, monkeypatch,
                                           case, iou_type):
    ann_file = informative_lvis['val']
    gt = load_gt(informative_lvis)
    results, k = CASES[case](gt)
    cat_ids = sorted(c['id'] for c in gt['categories'])
    every = lvis_results(results, iou_type, cat_ids, max_dets=None)
    cut = reference_cut(every, k)
    # lvis-api 0.5.3 still uses np.float, removed in numpy 1.24: lend the
    # alias to the reference for this test alone
    monkeypatch.setattr(np, 'float', float, raising=False)
    ref = lvis_api(ann_file, cut, iou_type)
    # informative numbers: each strictly between 0 and 1
    assert_informative(ref)

    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=ann_file,
             metric=iou_type, max_dets=None, max_dets_per_cat=k,
             classwise=True, progress=False))
    ours = metric.compute_metrics(copy.deepcopy(results))
    for key in RESULT_KEYS:
        assert ours[f'{iou_type}_{key}'] == pytest.approx(
            float(ref.results[key]), abs=1e-6), key

    judged = judged_by_image(gt)
    if case == 'ties':
        assert len(cut) < len(every)  # the cut removes detections
    elif case == 'unjudged':
        # judging first would keep other detections and other numbers
        judged_first = reference_cut(
            [d for d in every if d['category_id'] in judged[d['image_id']]],
            k)
        assert len(judged_first) > len([
            d for d in cut if d['category_id'] in judged[d['image_id']]])
        other = lvis_api(ann_file, judged_first, iou_type)
        assert other.results['AP'] != pytest.approx(ref.results['AP'],
                                                    abs=1e-3)
    else:
        # a cap of 300 per image-category pair (faster-coco-eval's
        # maxDets) would lose the crowded pair's true positive
        pairs = defaultdict(list)
        for d in cut:
            pairs[d['image_id'], d['category_id']].append(d)
        assert max(len(p) for p in pairs.values()) > 300
        capped = [d for p in pairs.values() for d in sorted(
            p, key=lambda d: d['score'], reverse=True)[:300]]
        other = lvis_api(ann_file, capped, iou_type)
        # the crowded category's AP falls, and AP by a twelfth as much (12
        # categories): small falls, as the lost true positive ranked below
        # 399 detections of its category
        crowded = ref.params.cat_ids.index(
            gt['annotations'][0]['category_id'])
        assert category_ap(other, crowded) < category_ap(ref, crowded) - 5e-4
        assert other.results['AP'] < ref.results['AP'] - 2e-5


def shifted_gt_records(gt: dict, seed: int) -> list:
    """Detections whose masks are the ground truth's shifted by up to 2
    pixels (boundary IoU falls faster than mask IoU), plus the false
    positives of synthetic_detections."""
    rng = np.random.default_rng(seed)
    cat_ids = sorted(c['id'] for c in gt['categories'])
    results = synthetic_detections(gt, 20, seed=seed)
    for k, img in enumerate(gt['images']):
        h, w = img['height'], img['width']
        for a in gt['annotations']:
            if a['image_id'] != img['id']:
                continue
            mask = mask_util.decode(mask_util.merge(
                mask_util.frPyObjects(a['segmentation'], h, w)))
            dy, dx = rng.integers(-2, 3, 2)
            moved = np.zeros_like(mask)
            moved[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                mask[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
            ys, xs = np.nonzero(moved)
            record = box_record(
                img, [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]],
                [rng.uniform(0.3, 1)], [cat_ids.index(a['category_id'])])
            record['masks'] = mask_util.encode(
                np.asfortranarray(moved[:, :, None]))
            record['mask_areas'] = np.array([moved.sum()], np.float32)
            results[k] = concat(results[k], record)
    return results


def independent_boundary(mask: np.ndarray, ratio: float) -> np.ndarray:
    """The boundary of Cheng et al. (2021): mask pixels within ``d`` of
    its contour or of the image border, d = round(ratio * diagonal)."""
    h, w = mask.shape
    d = max(1, int(round(ratio * np.hypot(h, w))))
    inner = mask.astype(bool)
    for _ in range(d):  # erosion by a 3x3 square, outside the image empty
        padded = np.pad(inner, 1)
        inner = np.logical_and.reduce([
            padded[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]
            for dy in (-1, 0, 1) for dx in (-1, 0, 1)
        ])
    return mask.astype(bool) & ~inner


def iou_matrix(a: list, b: list) -> np.ndarray:
    a = np.stack(a).reshape(len(a), -1).astype(np.float64)
    b = np.stack(b).reshape(len(b), -1).astype(np.float64)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0)


def boundary_eval(ratio: float):
    """lvis-api's evaluation with Boundary IoU computed here."""

    class BoundaryLVISEval(LVISEval):

        def compute_iou(self, img_id, cat_id):
            gt, dt = self._get_gt_dt(img_id, cat_id)
            if not gt or not dt:
                return []
            dt = [dt[i] for i in np.argsort([-d['score'] for d in dt],
                                            kind='mergesort')]
            gm = [mask_util.decode(g['segmentation']) for g in gt]
            dm = [mask_util.decode(d['segmentation']) for d in dt]
            mask_iou = iou_matrix(dm, gm)
            boundary_iou = iou_matrix(
                [independent_boundary(m, ratio) for m in dm],
                [independent_boundary(m, ratio) for m in gm])
            return np.minimum(mask_iou, boundary_iou)

    return BoundaryLVISEval


@pytest.mark.parametrize('fixed, ratio', [(False, 0.02), (True, 0.02),
                                          (False, 0.05)])
def test_boundary_ap_same_numbers_as_independent_boundary_iou(
        informative_lvis, assert_informative, monkeypatch, fixed, ratio):
    ann_file = informative_lvis['val']
    gt = load_gt(informative_lvis)
    results = shifted_gt_records(gt, seed=6)
    caps = dict(max_dets=None, max_dets_per_cat=30) if fixed else dict(
        max_dets=300)
    cat_ids = sorted(c['id'] for c in gt['categories'])
    dets = lvis_results(results, 'segm', cat_ids,
                        max_dets=caps['max_dets'])
    if fixed:
        dets = reference_cut(dets, 30)
    monkeypatch.setattr(np, 'float', float, raising=False)
    ref = lvis_api(ann_file, dets, 'segm', boundary_eval(ratio))
    # informative numbers: each strictly between 0 and 1
    assert_informative(ref)

    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=ann_file,
             metric=['segm', 'boundary'], boundary_dilation_ratio=ratio,
             progress=False, **caps))
    ours = metric.compute_metrics(copy.deepcopy(results))
    for key in RESULT_KEYS:
        assert ours[f'boundary_{key}'] == pytest.approx(
            float(ref.results[key]), abs=1e-6), key
    # stricter than mask AP
    assert ours['boundary_AP'] < ours['segm_AP']


def test_process_keeps_a_bounded_top_k_that_merges_exactly(tiny_lvis,
                                                           tmp_path):
    """process() cuts each category to its K best as it goes; two ranks'
    cuts, gathered in collect_results' order, cut again, equal one cut of
    everything."""
    gt = load_gt(tiny_lvis)
    k = 7
    records = [r for seed in range(6)
               for r in synthetic_detections(gt, 40, seed=seed)]
    for r in records:  # ties across records and within them
        r['scores'] = np.floor(r['scores'] * 8).astype(np.float32) / 8

    def process(subset):
        metric = METRICS.build(
            dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
                 max_dets=None, max_dets_per_cat=k, progress=False))
        counts = np.zeros(len(cat_ids), dtype=int)
        for r in subset:
            metric.process({}, [dict(img_id=r['img_id'], pred_instances=dict(
                bboxes=torch.from_numpy(r['bboxes']),
                scores=torch.from_numpy(r['scores']),
                labels=torch.from_numpy(r['labels']),
                masks=torch.from_numpy(np.moveaxis(
                    mask_util.decode(r['masks']), -1, 0).astype(bool))))])
            counts += np.bincount(r['labels'], minlength=len(cat_ids))
            # at most twice the exact top k so far, plus what just came
            held = sum(len(x['scores']) for x in metric.results)
            assert held <= 2 * np.minimum(counts, k).sum() + k + 40
        assert held < 0.6 * counts.sum()  # it did cut while processing
        return metric

    def selected(results, name):
        """The detections compute_metrics selects: its result files."""
        metric = METRICS.build(
            dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
                 max_dets=None, max_dets_per_cat=k, progress=False,
                 format_only=True, outfile_prefix=str(tmp_path / name)))
        metric.compute_metrics(results)
        return [json.loads((tmp_path / f'{name}.{t}.json').read_text())
                for t in ('bbox', 'segm')]

    cat_ids = sorted(c['id'] for c in gt['categories'])
    ranks = [process(records[0::2]), process(records[1::2])]
    gathered = [r for pair in zip(ranks[0].results, ranks[1].results)
                for r in pair]
    merged = selected(gathered, 'merged')
    single = selected(records, 'single')
    assert sum(len(r['scores']) for r in records) > 2 * len(
        single[0])  # the cut did cut
    # every image, score, label, box, mask and mask area
    assert merged == single


def test_top_k_per_category_keeps_the_earlier_of_tied_scores():
    records = [
        dict(img_id=1, scores=np.array([0.5, 0.5]), labels=np.array([0, 1])),
        dict(img_id=2, scores=np.array([0.9, 0.5, 0.5]),
             labels=np.array([1, 0, 0])),
    ]
    kept = top_k_per_category(records, 2)
    # label 0: 0.5 (image 1) and the first 0.5 of image 2
    assert kept[0]['labels'].tolist() == [0, 1]
    assert kept[1]['labels'].tolist() == [1, 0]
    assert kept[1]['scores'].tolist() == [0.9, 0.5]


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(max_dets_per_cat=0), ValueError, 'max_dets_per_cat must be'),
    (dict(max_dets_per_cat=-1), ValueError, 'max_dets_per_cat must be'),
    (dict(max_dets_per_cat=2.5), ValueError, 'max_dets_per_cat must be'),
    (dict(max_dets=0), ValueError, 'max_dets must be'),
    (dict(boundary_dilation_ratio=0), ValueError, 'boundary_dilation_ratio'),
    (dict(metric='mask'), KeyError, "unknown metric 'mask'.*'boundary'"),
])
def test_bad_options_are_named(tiny_lvis, kwargs, error, match):
    with pytest.raises(error, match=match):
        METRICS.build(dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
                           **kwargs))


def test_boundary_without_masks_is_named(tiny_lvis):
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
             metric=['bbox', 'boundary'], progress=False))
    sample = dict(img_id=1, pred_instances=dict(
        bboxes=torch.zeros(1, 4), scores=torch.ones(1),
        labels=torch.zeros(1, dtype=torch.long)))
    with pytest.raises(ValueError,
                       match=r"\['boundary'\] needs masks.*metric='bbox'"):
        metric.process({}, [sample])


def test_classwise_writes_per_category_ap(tiny_lvis, tmp_path, monkeypatch,
                                         logged_warnings):
    gt = load_gt(tiny_lvis)
    results = synthetic_detections(gt, 40, seed=7)
    prefix = str(tmp_path / 'run' / 'results')
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
             metric='bbox', classwise=True, outfile_prefix=prefix,
             max_dets=None, max_dets_per_cat=50, progress=False))
    ours = metric.compute_metrics(copy.deepcopy(results))
    saved = json.loads((tmp_path / 'run' / 'results.eval.json').read_text())
    assert saved['bbox']['protocol'] == dict(
        max_dets_per_image=None, max_dets_per_category=50)
    assert saved['bbox']['AP'] == ours['bbox_AP']
    with open(f'{prefix}.bbox.per_category.csv', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    per_cat = saved['bbox']['per_category']
    assert [int(r['id']) for r in rows] == [c['id'] for c in per_cat]
    cats = {c['id']: c for c in gt['categories']}
    for row in rows:
        cat = cats[int(row['id'])]
        assert (row['name'], row['frequency'], int(row['image_count'])) == (
            cat['name'], cat['frequency'], cat['image_count'])

    cat_ids = sorted(cats)
    dets = reference_cut(lvis_results(results, 'bbox', cat_ids, None), 50)
    monkeypatch.setattr(np, 'float', float, raising=False)
    ref = lvis_api(tiny_lvis['val'], dets, 'bbox')
    ref_ids = ref.params.cat_ids
    for row in rows:
        expected = category_ap(ref, ref_ids.index(int(row['id'])))
        assert float(row['ap']) == pytest.approx(expected, abs=1e-6)
    assert {r['frequency'] for r in rows} == {'r', 'f'}
    assert sum(float(r['ap']) > 0 for r in rows) >= 3


def test_save_best_with_the_apr_key(tiny_lvis, tmp_path):
    """CheckpointHook(save_best='lvis/segm_APr', rule='greater') keeps the
    checkpoint of the best APr (the key has no word from which mmengine
    could infer the rule)."""
    gt = load_gt(tiny_lvis)
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
             progress=False))
    metric.dataset_meta = dict(classes=[c['name'] for c in gt['categories']])
    with pytest.raises(ValueError, match='Cannot infer the rule'):
        HOOKS.build(dict(type='CheckpointHook', save_best='lvis/segm_APr'))
    hook = HOOKS.build(dict(type='CheckpointHook', interval=1,
                            save_best='lvis/segm_APr', rule='greater'))
    saved = []
    runner = SimpleNamespace(
        work_dir=str(tmp_path), logger=MMLogger.get_current_instance(),
        message_hub=MessageHub.get_instance('test_save_best_apr'),
        epoch=0, iter=0,
        save_checkpoint=lambda out_dir, filename, **kw: saved.append(
            filename))
    hook.before_train(runner)
    aprs = []
    for epoch, seed in enumerate([11, 12, 13]):
        runner.epoch = epoch
        metric.results.extend(synthetic_detections(gt, 40, seed=seed))
        metrics = metric.evaluate(size=len(gt['images']))
        aprs.append(metrics['lvis/segm_APr'])
        hook.after_val_epoch(runner, metrics)
    assert len(set(aprs)) == 3 and max(aprs) > 0
    improved = [e for e in range(3) if aprs[e] == max(aprs[:e + 1])]
    assert saved == [f'best_lvis_segm_APr_epoch_{e}.pth' for e in improved]
    assert runner.message_hub.get_info('best_score') == max(aprs)
