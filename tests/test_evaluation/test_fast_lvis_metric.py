import copy
import json
import random
from typing import Dict, List

import numpy as np
import pytest
import torch
from lvis import LVIS, LVISEval, LVISResults
from mmdet.registry import METRICS
from pycocotools import mask as mask_util

from mmdet_droploss.evaluation.fast_lvis_metric import (
    RESULT_KEYS,
    judged_categories,
    lvis_results,
)
from mmdet_droploss.testing.synthetic_lvis import synthetic_detections


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
@pytest.mark.parametrize('max_dets', [300, 10])
@pytest.mark.parametrize('nproc', [1, 2])
def test_same_numbers_as_lvis_api(informative_lvis, assert_informative,
                                  monkeypatch, iou_type, max_dets, nproc):
    """Every number, on data where each lies strictly between 0 and 1 (a
    key mixed up with another, or with a -1 of no ground truth, shows)."""
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=informative_lvis['val'],
             max_dets=max_dets, nproc=nproc))
    with open(informative_lvis['val'], encoding='utf-8') as f:
        results = synthetic_detections(json.load(f), 40, seed=1)
    dets = lvis_results(results, iou_type, sorted(metric.gt.getCatIds()),
                        max_dets)

    # lvis-api 0.5.3 still uses np.float, removed in numpy 1.24: lend the
    # alias to the reference for this test alone
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt = LVIS(informative_lvis['val'])
    ref = LVISEval(gt, LVISResults(gt, copy.deepcopy(dets), max_dets=max_dets),
                   iou_type)
    ref.params.max_dets = max_dets
    ref.run()
    assert_informative(ref)

    ours = metric.evaluate_dets(copy.deepcopy(dets), iou_type)
    assert set(ours) == set(RESULT_KEYS)
    for key in RESULT_KEYS:
        assert ours[key] == pytest.approx(float(ref.results[key]),
                                          abs=1e-6), key


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


def test_unjudged_detections_left_out_change_no_number(tiny_lvis, tmp_path,
                                                      monkeypatch):
    """compute_metrics leaves out detections of categories LVIS does not
    judge on their image; lvis-api, given all of them, agrees, and the
    result file still holds every detection."""
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        results = synthetic_detections(json.load(f), 40, seed=2)
    prefix = str(tmp_path / 'out')
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
             outfile_prefix=prefix, progress=False))
    ours = metric.compute_metrics(copy.deepcopy(results))
    cat_ids = sorted(metric.gt.getCatIds())
    judged = judged_categories(metric.gt.dataset)
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt = LVIS(tiny_lvis['val'])
    for iou_type in ('bbox', 'segm'):
        every = lvis_results(results, iou_type, cat_ids)
        kept = lvis_results(results, iou_type, cat_ids, judged=judged)
        assert len(kept) < 0.8 * len(every)  # the filter does remove
        with open(f'{prefix}.{iou_type}.json', encoding='utf-8') as f:
            assert len(json.load(f)) == len(every)
        ref = LVISEval(gt, LVISResults(gt, copy.deepcopy(every)), iou_type)
        ref.run()
        for key, value in ref.get_results().items():
            if key in RESULT_KEYS:
                assert ours[f'{iou_type}_{key}'] == pytest.approx(
                    float(value), abs=1e-6), (iou_type, key)
    saved = json.loads((tmp_path / 'out.eval.json').read_text())
    assert saved['segm']['AP'] == ours['segm_AP']
    assert {c['frequency'] for c in saved['segm']['per_category']} <= set(
        'rcf')


def test_mask_areas_from_process_equal_rle_areas(tiny_lvis):
    masks = torch.zeros(3, 20, 30, dtype=torch.bool)
    masks[0, 2:5, 3:9] = True
    masks[1, :, :] = True
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val']))
    metric.process({}, [
        dict(img_id=1, pred_instances=dict(
            bboxes=torch.zeros(3, 4), scores=torch.ones(3),
            labels=torch.zeros(3, dtype=torch.long), masks=masks))
    ])
    record = metric.results[0]
    assert record['mask_areas'].tolist() == [18, 600, 0]
    assert record['mask_areas'].tolist() == mask_util.area(
        record['masks'].rles()).tolist()


def test_only_unjudged_detections_score_like_lvis_api(tiny_lvis, monkeypatch):
    """When no detection survives the judged filter, the numbers are still
    lvis-api's: 0 where ground truth exists, -1 where none does."""
    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=tiny_lvis['val'],
             metric='bbox', progress=False))
    judged = judged_categories(metric.gt.dataset)
    cat_ids = sorted(metric.gt.getCatIds())
    results = []
    for img_id in sorted(judged):
        label = next(i for i, c in enumerate(cat_ids)
                     if c not in judged[img_id])
        results.append(dict(
            img_id=img_id, bboxes=np.array([[1., 1., 30., 30.]] * 3,
                                           dtype=np.float32),
            scores=np.array([0.9, 0.8, 0.7], dtype=np.float32),
            labels=np.array([label] * 3)))
    assert not lvis_results(results, 'bbox', cat_ids, judged=judged)
    ours = metric.compute_metrics(results)
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt = LVIS(tiny_lvis['val'])
    ref = LVISEval(gt, LVISResults(gt, lvis_results(results, 'bbox',
                                                     cat_ids)), 'bbox')
    ref.run()
    for key, value in ref.get_results().items():
        if key in RESULT_KEYS:
            assert ours[f'bbox_{key}'] == pytest.approx(float(value),
                                                        abs=1e-6), key
    assert ours['bbox_AP'] == 0.0


def lvis_api_ap_per_category(gt: LVIS, dets: List[dict],
                              iou_type: str) -> Dict[int, float]:
    """lvis-api's AP of each category with ground truth, by category id
    (the mean of its precision over IoUs and recalls, all areas)."""
    ref = LVISEval(gt, LVISResults(gt, copy.deepcopy(dets)), iou_type)
    ref.run()
    precision = ref.eval['precision'][:, :, :, 0]  # iou, recall, cat, area
    ap = {}
    for k, cat_id in enumerate(ref.params.cat_ids):
        valid = precision[:, :, k][precision[:, :, k] > -1]
        if valid.size:
            ap[cat_id] = float(valid.mean())
    return ap


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
def test_labels_are_the_datasets_on_a_file_with_shuffled_categories(
        tiny_lvis, tmp_path, monkeypatch, iou_type):
    """LVISV1Dataset numbers the categories in the file's order (lvis-api's
    get_cat_ids), sorted by id or not: on a file whose category list is
    shuffled, labels in the dataset's numbering get lvis-api's AP for every
    category (mapped through the sorted ids, each label's detections were
    scored as another category's)."""
    from mmdet.datasets import LVISV1Dataset
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        ann = json.load(f)
    # labels index the sorted ids here; their categories are the truth
    results = synthetic_detections(ann, 40, seed=1)
    sorted_ids = sorted(c['id'] for c in ann['categories'])
    truth = lvis_results(results, iou_type, sorted_ids, 300)
    random.Random(0).shuffle(ann['categories'])
    path = tmp_path / 'shuffled_val.json'
    path.write_text(json.dumps(ann))
    dataset = LVISV1Dataset(ann_file=str(path), data_prefix=dict(img=''),
                            test_mode=True, pipeline=[])
    assert dataset.cat_ids != sorted_ids
    relabel = np.array([dataset.cat2label[c] for c in sorted_ids])
    for r in results:
        r['labels'] = relabel[r['labels']]

    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=str(path), metric=[iou_type],
             outfile_prefix=str(tmp_path / 'ours'), progress=False))
    metric.dataset_meta = dataset.metainfo
    ours = metric.compute_metrics(copy.deepcopy(results))
    tables = json.loads((tmp_path / 'ours.eval.json').read_text())
    ours_per_cat = {c['id']: c['ap'] for c in tables[iou_type]['per_category']}

    monkeypatch.setattr(np, 'float', float, raising=False)
    ref = lvis_api_ap_per_category(LVIS(str(path)), truth, iou_type)
    assert set(ours_per_cat) == set(ref)
    for cat_id, ap in ref.items():
        assert ours_per_cat[cat_id] == pytest.approx(ap, abs=1e-6), cat_id
    # informative numbers: most categories partly right
    assert sum(0.05 < ap < 0.95 for ap in ref.values()) >= 4 and len(ref) > 5
    assert ours[f'{iou_type}_AP'] == pytest.approx(
        np.mean(list(ref.values())), abs=1e-6)


def test_labels_follow_a_coco_dataset_restricted_to_some_classes(
        tiny_lvis, tmp_path, monkeypatch):
    """CocoDataset with metainfo classes naming some of the file's
    categories numbers only those, in the file's order: the metric follows
    its dataset_meta."""
    from mmdet.datasets import CocoDataset
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        ann = json.load(f)
    results = synthetic_detections(ann, 40, seed=1)
    sorted_ids = sorted(c['id'] for c in ann['categories'])
    random.Random(0).shuffle(ann['categories'])
    for img in ann['images']:  # COCO format: CocoDataset reads file_name
        img['file_name'] = img['coco_url'].split('/')[-1]
    path = tmp_path / 'shuffled_val.json'
    path.write_text(json.dumps(ann))
    annotated = {a['category_id'] for a in ann['annotations']}
    # every annotated category and a few without ground truth, in an
    # order of their own
    chosen = annotated | {c['id'] for c in ann['categories'][:3]}
    classes = sorted(c['name'] for c in ann['categories']
                     if c['id'] in chosen)
    assert len(classes) < len(ann['categories'])
    dataset = CocoDataset(ann_file=str(path), metainfo=dict(classes=classes),
                          data_prefix=dict(img=''), test_mode=True,
                          pipeline=[])
    assert len(dataset.cat_ids) == len(classes)
    for r in results:  # keep the detections of the dataset's classes
        ids = np.array(sorted_ids)[r['labels']]
        keep = np.isin(ids, dataset.cat_ids)
        for k in ('bboxes', 'scores', 'labels', 'masks', 'mask_areas'):
            if k in r:
                r[k] = r[k][keep] if not isinstance(r[k], list) else [
                    m for m, kept in zip(r[k], keep) if kept]
        r['labels'] = np.array([dataset.cat2label[c] for c in ids[keep]],
                               dtype=np.int64)
    truth = lvis_results(copy.deepcopy(results), 'bbox', dataset.cat_ids,
                         300)

    metric = METRICS.build(
        dict(type='FastLVISMetric', ann_file=str(path), metric=['bbox'],
             outfile_prefix=str(tmp_path / 'ours'), progress=False))
    metric.dataset_meta = dataset.metainfo
    metric.compute_metrics(copy.deepcopy(results))
    tables = json.loads((tmp_path / 'ours.eval.json').read_text())
    ours = {c['id']: c['ap'] for c in tables['bbox']['per_category']}

    monkeypatch.setattr(np, 'float', float, raising=False)
    ref = lvis_api_ap_per_category(LVIS(str(path)), truth, 'bbox')
    assert set(ours) == set(ref)
    for cat_id, ap in ref.items():
        assert ours[cat_id] == pytest.approx(ap, abs=1e-6), cat_id
    assert sum(0.05 < ap < 0.95 for ap in ref.values()) >= 4


@pytest.mark.parametrize('first_use', ['process', 'compute_metrics'])
def test_classes_the_file_lacks_are_refused(tiny_lvis, first_use):
    """Where the labels are first mapped to the file's categories: in
    process() (to keep the judged detections) or else compute_metrics()."""
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        names = [c['name'] for c in json.load(f)['categories']]
    metric = METRICS.build(dict(
        type='FastLVISMetric', ann_file=tiny_lvis['val'], metric='bbox',
        progress=False,
        max_dets_per_cat=None if first_use == 'process' else 10))
    metric.dataset_meta = dict(classes=names[:2] + ['not_a_category'])
    sample = dict(img_id=1, pred_instances=dict(
        bboxes=torch.tensor([[1., 1., 9., 9.]]), scores=torch.ones(1),
        labels=torch.zeros(1, dtype=torch.long)))
    if first_use == 'compute_metrics':
        metric.process({}, [sample])  # keeps unjudged detections: no map
    with pytest.raises(ValueError, match=r"names 3 classes, fewer than the "
                       rf"{len(names)} categories of .*\['not_a_category'\] "
                       r"\(of 1\) are not among them"):
        if first_use == 'process':
            metric.process({}, [sample])
        else:
            metric.compute_metrics(metric.results)


def predictions(records: List[dict]) -> List[dict]:
    """Data samples with the records' detections, masks dense."""
    return [dict(img_id=r['img_id'], pred_instances=dict(
        bboxes=torch.from_numpy(r['bboxes']),
        scores=torch.from_numpy(r['scores']),
        labels=torch.from_numpy(r['labels']),
        masks=torch.from_numpy(np.moveaxis(
            mask_util.decode(r['masks']), -1, 0).astype(bool))))
        for r in records]


@pytest.mark.parametrize('max_dets', [300, 25])
def test_process_keeps_only_judged_detections_with_the_same_numbers(
        tiny_lvis, tmp_path, max_dets):
    """Without a result file and a per-category cap, process() drops the
    detections LVIS does not judge (after the per-image cap) before it
    encodes their masks; the numbers are those of keeping them all."""
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        gt = json.load(f)
    samples = predictions(synthetic_detections(gt, 40, seed=5))
    held, numbers = {}, {}
    for name, prefix in (('judged', None), ('all', str(tmp_path / 'all'))):
        metric = METRICS.build(dict(
            type='FastLVISMetric', ann_file=tiny_lvis['val'],
            max_dets=max_dets, outfile_prefix=prefix, progress=False))
        for sample in samples:
            metric.process({}, [sample])
        held[name] = metric.results[:]
        numbers[name] = metric.evaluate(size=len(samples))
    assert numbers['judged'] == numbers['all']
    assert numbers['all']['lvis/segm_AP'] > 0.05
    judged = {img['id']: set(img['neg_category_ids']) for img in gt['images']}
    for a in gt['annotations']:
        judged[a['image_id']].add(a['category_id'])
    cat_ids = [c['id'] for c in gt['categories']]
    for kept, every in zip(held['judged'], held['all']):
        want = np.array([cat_ids[k] in judged[every['img_id']]
                         for k in every['labels']], dtype=bool)
        assert len(every['scores']) == min(max_dets, 40)
        np.testing.assert_array_equal(kept['scores'], every['scores'][want])
        np.testing.assert_array_equal(kept['labels'], every['labels'][want])
        assert kept['masks'].rles() == every['masks'].take(
            np.flatnonzero(want)).rles()
    assert sum(len(r['scores']) for r in held['judged']) < 0.8 * sum(
        len(r['scores']) for r in held['all'])


@pytest.mark.parametrize('protocol, kept', [
    (dict(max_dets=None, max_dets_per_cat=10000), 3), (dict(), 0)])
def test_fixed_ap_keeps_unjudged_detections(tiny_lvis, protocol, kept):
    """They use up their category's K: process() keeps them under Fixed
    AP (and drops them under the standard protocol)."""
    with open(tiny_lvis['val'], encoding='utf-8') as f:
        gt = json.load(f)
    img_id = gt['images'][0]['id']
    judged = judged_categories(gt)[img_id]
    labels = [k for k, c in enumerate(c['id'] for c in gt['categories'])
              if c not in judged][:3]
    assert len(labels) == 3
    metric = METRICS.build(dict(
        type='FastLVISMetric', ann_file=tiny_lvis['val'], metric='bbox',
        **protocol))
    metric.process({}, [dict(img_id=img_id, pred_instances=dict(
        bboxes=torch.tensor([[1., 1., 9., 9.]] * 3), scores=torch.ones(3),
        labels=torch.tensor(labels)))])
    assert len(metric.results[0]['scores']) == kept
