import copy
import json

import numpy as np
import pytest
import torch
from lvis import LVIS, LVISEval, LVISResults
from pycocotools import mask as mask_util

from mmdet.registry import METRICS
from mmdet_droploss.evaluation.metrics.fast_lvis_metric import (RESULT_KEYS,
                                                               lvis_results)


def noisy_results(ann_file: str, seed: int, dets_per_image: int) -> list:
    """Predictions near the ground truth, plus false positives on present,
    negative and unverified categories; masks are box-shaped."""
    with open(ann_file, encoding='utf-8') as f:
        gt = json.load(f)
    rng = np.random.default_rng(seed)
    num_classes = len(gt['categories'])
    by_img = {}
    for ann in gt['annotations']:
        by_img.setdefault(ann['image_id'], []).append(ann)
    results = []
    for img in gt['images']:
        height, width = img['height'], img['width']
        anns = by_img.get(img['id'], [])
        cats = img['neg_category_ids'] + [a['category_id'] for a in anns]
        boxes, labels, scores = [], [], []
        for ann in anns:
            x, y, w, h = ann['bbox']
            j = rng.normal(0, 2, 4)
            boxes.append([x + j[0], y + j[1], x + w + j[2], y + h + j[3]])
            labels.append(ann['category_id'] - 1 if rng.random() < 0.8 else
                          rng.integers(num_classes))
            scores.append(rng.random())
        while len(boxes) < dets_per_image:
            x, y = rng.uniform(0, width - 10, 2)
            w, h = rng.uniform(4, 40, 2)
            boxes.append([x, y, min(width, x + w), min(height, y + h)])
            labels.append(rng.choice(cats) - 1 if rng.random() < 0.7 else
                          rng.integers(num_classes))
            scores.append(rng.random() * 0.6)
        boxes = np.array(boxes, dtype=np.float32)
        masks = np.zeros((len(boxes), height, width), dtype=np.uint8)
        for k, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
            masks[k, max(y1, 0):y2, max(x1, 0):x2] = 1
        results.append(
            dict(
                img_id=img['id'],
                bboxes=boxes,
                scores=np.array(scores, dtype=np.float32),
                labels=np.array(labels),
                masks=mask_util.encode(
                    np.asfortranarray(masks.transpose(1, 2, 0)))))
    return results


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
@pytest.mark.parametrize('max_dets', [300, 10])
def test_same_numbers_as_lvis_api(tiny_lvis, monkeypatch, iou_type,
                                  max_dets):
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
             max_dets=max_dets))
    dets = lvis_results(
        noisy_results(tiny_lvis['val'], seed=1, dets_per_image=40), iou_type,
        sorted(metric.gt.getCatIds()), max_dets)
    ours = metric.evaluate_dets(copy.deepcopy(dets), iou_type)

    # lvis-api 0.5.3 still uses np.float, removed in numpy 1.24: lend the
    # alias to the reference for this test alone
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt = LVIS(tiny_lvis['val'])
    ref = LVISEval(gt, LVISResults(gt, copy.deepcopy(dets), max_dets=max_dets),
                   iou_type)
    ref.params.max_dets = max_dets
    ref.run()
    ref = ref.get_results()
    assert set(ours) == set(RESULT_KEYS)
    for key in RESULT_KEYS:
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-4), key
    assert ours['AP'] > 0.02  # the comparison is not between empty results


def test_perfect_predictions_through_process(tiny_lvis):
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        gt = json.load(f)
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
             metric=['bbox', 'segm']))
    metric.dataset_meta = dict(classes=[c['name'] for c in gt['categories']])
    for img in gt['images']:
        anns = [a for a in gt['annotations'] if a['image_id'] == img['id']]
        rles = [mask_util.frPyObjects(a['segmentation'], img['height'],
                                      img['width']) for a in anns]
        masks = np.stack([mask_util.decode(mask_util.merge(r))
                          for r in rles]).astype(bool)
        boxes = [[x, y, x + w, y + h] for x, y, w, h in
                 (a['bbox'] for a in anns)]
        metric.process({}, [
            dict(
                img_id=img['id'],
                pred_instances=dict(
                    bboxes=torch.tensor(boxes),
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1
                                         for a in anns]),
                    masks=torch.from_numpy(masks)))
        ])
    results = metric.evaluate(size=len(gt['images']))
    assert results['lvis/bbox_AP'] == pytest.approx(1.0)
    assert results['lvis/segm_AP'] == pytest.approx(1.0)
    assert {f'lvis/{t}_{k}' for t in ('bbox', 'segm')
            for k in RESULT_KEYS} == set(results)


def test_unknown_iou_type_is_refused(tiny_lvis):
    with pytest.raises(KeyError, match="'keypoints'"):
        METRICS.build(dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
                           metric='keypoints'))
