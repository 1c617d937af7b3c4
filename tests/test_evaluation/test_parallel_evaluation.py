"""FastLVISMetric evaluates its categories in parts, on worker processes
(``nproc``) and on the ranks of a distributed run, with exactly the numbers
of one evaluation of all of them."""
import copy
import json
import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS

from mmdet_droploss.evaluation import category_parts
from mmdet_droploss.evaluation.category_parts import split_work
from mmdet_droploss.evaluation.fast_lvis_metric import RESULT_KEYS
from mmdet_droploss.testing.synthetic_lvis import (
    make_synthetic_lvis,
    synthetic_detections,
)

PROTOCOLS = {
    'standard': dict(max_dets=300),
    'fixed': dict(max_dets=None, max_dets_per_cat=60),
}


@pytest.fixture(scope='module')
def small_lvis(tmp_path_factory) -> dict:
    """40 categories in LVIS's groups on 24 validation images, with
    detections on every image."""
    root = tmp_path_factory.mktemp('parallel_lvis')
    paths = make_synthetic_lvis(
        str(root), seed=3, num_train=30, num_val=24, image_size=96,
        num_active=40, max_objects=6)
    with open(paths['val'], encoding='utf-8') as f:
        gt = json.load(f)
    return dict(val=paths['val'], gt=gt,
                results=synthetic_detections(gt, 60, seed=4))


def evaluate(small_lvis: dict, tmp_path: Path, name: str, **kwargs) -> dict:
    """compute_metrics' numbers and the per-category AP it wrote."""
    prefix = str(tmp_path / name)
    # a wide boundary band: box-shaped masks on 96 px images get a
    # boundary AP of little more than 0 at the standard 0.02
    metric = METRICS.build(dict(
        type='FastLVISMetric', ann_file=small_lvis['val'],
        metric=['bbox', 'segm', 'boundary'], classwise=True,
        boundary_dilation_ratio=0.1,
        outfile_prefix=prefix, progress=False, **kwargs))
    numbers = metric.compute_metrics(copy.deepcopy(small_lvis['results']))
    saved = json.loads(Path(f'{prefix}.eval.json').read_text())
    return dict(numbers=numbers,
                per_category={t: saved[t]['per_category'] for t in saved})


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
@pytest.mark.parametrize('nproc', [2, 3, 7])
def test_worker_processes_give_the_numbers_of_one(small_lvis, tmp_path,
                                                  protocol, nproc):
    kwargs = PROTOCOLS[protocol]
    one = evaluate(small_lvis, tmp_path, 'one', nproc=1, **kwargs)
    many = evaluate(small_lvis, tmp_path, 'many', nproc=nproc, **kwargs)
    # exactly, every number of every IoU type and every category
    assert many == one
    numbers = one['numbers']
    assert len(numbers) == 3 * len(RESULT_KEYS)
    # informative: many categories of distinct AP
    for iou_type, distinct in (('bbox', 10), ('segm', 10), ('boundary', 6)):
        aps = [c['ap'] for c in one['per_category'][iou_type]]
        assert len(aps) >= 20 and len(set(aps)) > distinct
        assert 0.01 < numbers[f'{iou_type}_AP'] < 0.95
        assert numbers[f'{iou_type}_APr'] != numbers[f'{iou_type}_APf']


@pytest.mark.parametrize('costs, parts, expected', [
    ([1, 1, 1, 1], 2, [[10, 11], [12, 13]]),
    ([1, 1, 1, 1], 4, [[10], [11], [12], [13]]),
    ([9, 0, 0, 1], 2, [[10], [11, 12, 13]]),
    ([0, 0, 0, 30], 2, [[10, 11, 12, 13], []]),
    ([1, 1], 3, [[10], [11], []]),
    ([5, 5, 5], 1, [[10, 11, 12]]),
])
def test_categories_split_into_runs_of_about_equal_cost(costs, parts,
                                                         expected):
    """A category's cost is its ground truth (here) plus detections."""
    cat_ids = [10, 11, 12, 13][:len(costs)]
    gt = SimpleNamespace(catToImgs={c: [1] * n for c, n in zip(cat_ids,
                                                                costs)})
    out = split_work(gt, [], cat_ids, parts)
    assert [c for c, _ in out] == expected
    assert all(d == [] for _, d in out)


def test_detections_follow_their_category_in_order():
    """Detections cost 1 each (2, 2 and 3 with the category's own 1)."""
    dets = [dict(category_id=c, n=k) for k, c in enumerate([3, 1, 2, 3, 9])]
    parts = split_work(SimpleNamespace(catToImgs={}), dets, [1, 2, 3], 2)
    assert [c for c, _ in parts] == [[1, 2], [3]]
    assert [[d['n'] for d in p] for _, p in parts] == [[1, 2], [0, 3]]


@pytest.mark.parametrize('nproc', [0, -1, 1.5, True, '2'])
def test_bad_nproc_is_named(small_lvis, nproc):
    with pytest.raises(ValueError, match='nproc must be a positive integer'):
        METRICS.build(dict(type='FastLVISMetric', ann_file=small_lvis['val'],
                           nproc=nproc))


def test_default_nproc_is_this_process_share_of_its_cores(small_lvis):
    metric = METRICS.build(dict(type='FastLVISMetric',
                                ann_file=small_lvis['val']))
    assert metric.nproc == max(1, min(8, len(os.sched_getaffinity(0))))


def rank_evaluate(rank: int, val: str, records_file: str, out_dir: str,
                  kwargs: dict) -> None:
    """One rank of a distributed test: process every other record (as
    MMEngine's sampler deals them out), then evaluate; writes the metrics
    and the categories this rank evaluated."""
    from mmdet.utils import register_all_modules

    import mmdet_droploss.evaluation.fast_lvis_metric as module
    register_all_modules(init_default_scope=True)
    with open(records_file, 'rb') as f:
        records = pickle.load(f)
    evaluated = []
    own = module.evaluate_categories_in_processes

    def counted(gt, dets, cat_ids, **kw):
        evaluated.append(len(cat_ids))
        return own(gt, dets, cat_ids, **kw)

    # our own module's name, in this process only: which categories each
    # rank evaluated
    module.evaluate_categories_in_processes = counted
    metric = METRICS.build(dict(type='FastLVISMetric', ann_file=val,
                                metric=['bbox', 'segm'], progress=False,
                                nproc=1, **kwargs))
    for r in records[rank::2]:
        metric.process({}, [dict(img_id=r['img_id'], pred_instances=r)])
    metrics = metric.evaluate(size=len(records))
    Path(out_dir, f'rank{rank}.json').write_text(
        json.dumps(dict(metrics=metrics, evaluated=evaluated)))


def as_predictions(records: list) -> list:
    """The records as the tensors a detector predicts (masks dense)."""
    from pycocotools import mask as mask_util
    return [
        dict(img_id=r['img_id'], bboxes=torch.from_numpy(r['bboxes']),
             scores=torch.from_numpy(r['scores']),
             labels=torch.from_numpy(r['labels']),
             masks=torch.from_numpy(np.moveaxis(
                 mask_util.decode(r['masks']), -1, 0).astype(bool)))
        for r in records
    ]


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_two_ranks_each_evaluate_a_part_with_the_numbers_of_one(
        small_lvis, tmp_path, spawn_two, protocol):
    kwargs = PROTOCOLS[protocol]
    records = as_predictions(small_lvis['results'])
    records_file = tmp_path / 'records.pkl'
    records_file.write_bytes(pickle.dumps(records))
    spawn_two(rank_evaluate, small_lvis['val'], str(records_file),
              str(tmp_path), kwargs)
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text())
             for r in (0, 1)]

    single = METRICS.build(dict(
        type='FastLVISMetric', ann_file=small_lvis['val'],
        metric=['bbox', 'segm'], progress=False, nproc=1, **kwargs))
    for r in records:
        single.process({}, [dict(img_id=r['img_id'], pred_instances=r)])
    expected = single.evaluate(size=len(records))
    assert expected['lvis/bbox_AP'] > 0.05
    for rank in ranks:
        assert rank['metrics'] == expected
    # one part per rank and IoU type, together every annotated category
    num_cats = len({a['category_id'] for a in small_lvis['gt'][
        'annotations']})
    parts = [ranks[0]['evaluated'], ranks[1]['evaluated']]
    assert len(parts[0]) == len(parts[1]) == 2
    assert all(n > 0 for part in parts for n in part)
    assert [a + b for a, b in zip(*parts)] == [num_cats] * 2


def rank_fails(rank: int, val: str, out_dir: str) -> None:
    """Rank 0 holds a detection on an image the file lacks."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    metric = METRICS.build(dict(type='FastLVISMetric', ann_file=val,
                                metric='bbox', progress=False, nproc=1))
    img_id = 10**9 if rank == 0 else 1
    metric.process({}, [dict(img_id=img_id, pred_instances=dict(
        bboxes=torch.tensor([[1., 1., 9., 9.]]), scores=torch.ones(1),
        labels=torch.zeros(1, dtype=torch.long)))])
    try:
        metric.evaluate(size=2)
    except (ValueError, RuntimeError) as error:
        Path(out_dir, f'rank{rank}.error.txt').write_text(
            f'{type(error).__name__}: {error}')


def test_a_failure_on_rank_0_stops_the_other_ranks(small_lvis, tmp_path,
                                                   spawn_two):
    spawn_two(rank_fails, small_lvis['val'], str(tmp_path), timeout=240,
              collective_s=60)
    errors = [(tmp_path / f'rank{r}.error.txt').read_text() for r in (0, 1)]
    assert errors[0].startswith('ValueError') and '1000000000' in errors[0]
    assert errors[1].startswith('RuntimeError') and 'rank 0 failed' in \
        errors[1]


@pytest.mark.parametrize('env, cores, expected', [
    # the ranks on the machine, from the launcher
    ({}, 16, 8),
    ({'LOCAL_WORLD_SIZE': '8'}, 16, 2),
    ({'SLURM_NTASKS_PER_NODE': '4'}, 16, 4),
    ({'LOCAL_WORLD_SIZE': ''}, 16, 8),
    # share the cores, at least 1 and at most 8 processes
    ({'LOCAL_WORLD_SIZE': '8'}, 64, 8),
    ({'LOCAL_WORLD_SIZE': '1'}, 64, 8),
    ({'LOCAL_WORLD_SIZE': '8'}, 2, 1),
    ({'LOCAL_WORLD_SIZE': '1'}, 2, 2),
    ({'LOCAL_WORLD_SIZE': '1'}, 1, 1),
])
def test_default_nproc_shares_the_cores_among_the_ranks(monkeypatch, env,
                                                        cores, expected):
    for name in ('LOCAL_WORLD_SIZE', 'SLURM_NTASKS_PER_NODE'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(
        range(cores)))
    metric = METRICS.build(dict(type='FastLVISMetric', ann_file='unread'))
    assert metric.nproc == expected


def rank_default_nproc(rank: int, val: str, out_dir: str) -> None:
    """A gloo group made without MMEngine's local group (as
    setup_cpu_distributed makes it): the metric still builds."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    metric = METRICS.build(dict(type='FastLVISMetric', ann_file=val))
    Path(out_dir, f'rank{rank}.nproc').write_text(str(metric.nproc))


def test_default_nproc_in_a_group_without_a_local_group(small_lvis, tmp_path,
                                                        spawn_two,
                                                        monkeypatch):
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    spawn_two(rank_default_nproc, small_lvis['val'], str(tmp_path))
    for r in (0, 1):
        assert int((tmp_path / f'rank{r}.nproc').read_text()) >= 1


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_runs_of_few_categories_on_their_own_images_change_no_number(
        small_lvis, tmp_path, monkeypatch, protocol):
    """Each run of categories is evaluated on the images that hold its
    ground truth or detections; runs of 3 give the numbers of one run."""
    kwargs = PROTOCOLS[protocol]
    monkeypatch.setattr(category_parts, 'CATEGORIES_PER_RUN', 1000)
    one = evaluate(small_lvis, tmp_path, 'one', nproc=1, **kwargs)
    monkeypatch.setattr(category_parts, 'CATEGORIES_PER_RUN', 3)
    runs = evaluate(small_lvis, tmp_path, 'runs', nproc=1, **kwargs)
    assert runs == one
    assert one['numbers']['segm_AP'] > 0.05
