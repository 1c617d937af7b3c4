"""The ``lvis-like`` preset has LVIS's shape: groups, judging, look-alikes."""
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from lvis import LVIS
from mmdet.datasets import LVISV1Dataset
from mmdet.registry import MODELS
from mmengine.config import Config

from mmdet_droploss.datasets import frequencies_from_annotations
from mmdet_droploss.testing.lvis_like import (
    assign_images,
    lvis_like_image_counts,
    make_lvis_like,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def preset(tmp_path_factory) -> dict:
    """The preset exactly as the experiment makes it (about 15 s)."""
    root = tmp_path_factory.mktemp('lvis_like')
    paths = make_lvis_like(str(root), seed=0)
    return dict(root=str(root), train_file=paths['train'],
                train=LVIS(paths['train']), val=LVIS(paths['val']))


def test_preset_groups_by_lvis_thresholds(preset):
    train = preset['train']
    cats = train.load_cats(None)
    assert len(cats) == 200
    counts = defaultdict(set)
    for ann in train.load_anns(train.get_ann_ids()):
        counts[ann['category_id']].add(ann['image_id'])
    groups = defaultdict(int)
    for cat in cats:
        count = len(counts[cat['id']])
        assert cat['image_count'] == count >= 1
        expected = 'r' if count <= 10 else 'c' if count <= 100 else 'f'
        assert cat['frequency'] == expected
        groups[expected] += 1
    assert groups == {'r': 50, 'c': 130, 'f': 20}
    assert groups['r'] / len(cats) >= 0.2
    assert len(train.get_img_ids()) == 1400


@pytest.mark.parametrize('config, tail_groups', [
    ('droploss_r18_lvis_like.py', {'r', 'c'}),  # as 0.00177 on LVIS
    ('droploss_rare_r18_lvis_like.py', {'r'}),
])
def test_experiment_lambdas_pick_their_groups(preset, config, tail_groups):
    cfg = Config.fromfile(str(REPO / 'configs' / 'analysis' / config))
    loss_cfg = cfg.model.roi_head.bbox_head.loss_cls
    cats = sorted(preset['train'].load_cats(None), key=lambda c: c['id'])
    freq = frequencies_from_annotations(
        preset['train_file'], [c['id'] for c in cats])
    loss = MODELS.build({**loss_cfg, 'category_freq': freq.tolist()})
    expected = [c['frequency'] in tail_groups for c in cats]
    assert loss.tail_mask.tolist() == expected


def test_preset_judges_at_most_3_percent_per_val_image(preset):
    val = preset['val']
    num_cats = len(val.get_cat_ids())
    present = defaultdict(set)
    for ann in val.load_anns(val.get_ann_ids()):
        present[ann['image_id']].add(ann['category_id'])
    shares, val_images = [], defaultdict(int)
    for img in val.load_imgs(val.get_img_ids()):
        neg = set(img['neg_category_ids'])
        assert neg and not neg & present[img['id']]
        assert set(img['not_exhaustive_category_ids']) <= present[img['id']]
        shares.append(len(neg | present[img['id']]) / num_cats)
        for cat_id in present[img['id']]:
            val_images[cat_id] += 1
    assert max(shares) <= 0.03
    # every category, rare ones included, can be scored
    assert len(val_images) == num_cats and min(val_images.values()) >= 3


def test_every_rare_category_has_frequent_look_alikes(preset):
    cats = preset['train'].load_cats(None)
    looks = {c['id']: tuple(c['look'].values()) for c in cats}
    assert len(set(looks.values())) == len(cats)
    frequent = [looks[c['id']] for c in cats if c['frequency'] == 'f']
    for cat in cats:
        if cat['frequency'] != 'r':
            continue
        shared = [sum(a == b for a, b in zip(looks[cat['id']], f))
                  for f in frequent]
        assert max(shared) == 2, cat  # differs in one attribute only


def test_preset_loads_in_mmdet_with_masks(preset):
    dataset = LVISV1Dataset(
        data_root=preset['root'],
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True)
        ])
    assert len(dataset.cat_ids) == 200
    sample = dataset[0]
    assert sample['img'].shape == (160, 160, 3)
    assert len(sample['gt_masks']) == len(sample['gt_bboxes']) >= 1


@pytest.mark.parametrize('num_rare,num_frequent,expected', [
    (2, 1, [140, 100, 14, 11, 10, 1]),
    (1, 2, [140, 105, 100, 14, 11, 10]),
    (3, 1, [140, 100, 11, 10, 3, 1]),
])
def test_image_counts_fall_in_their_groups(num_rare, num_frequent, expected):
    counts = lvis_like_image_counts(6, num_rare, num_frequent, rare_max=10,
                                    common_max=100, frequent_max=140)
    assert counts.tolist() == expected


def test_same_seed_same_bytes(tmp_path, tree_digest):
    kwargs = dict(num_categories=12, num_rare=3, num_frequent=2, rare_max=2,
                  common_max=5, frequent_max=8, num_train=10)
    for name, seed in (('a', 1), ('b', 1), ('c', 2)):
        make_lvis_like(str(tmp_path / name), seed=seed, **kwargs)
    digests = [tree_digest(tmp_path / name) for name in 'abc']
    assert digests[0] == digests[1] != digests[2]


def test_assign_images_gives_exact_distinct_counts():
    rng = np.random.default_rng(0)
    counts = np.array([9, 5, 5, 3, 1])
    images = assign_images(rng, counts, num_images=10, max_per_image=3)
    assert all(1 <= len(c) <= 3 and len(set(c)) == len(c) for c in images)
    assert np.bincount(sum(images, []), minlength=5).tolist() == [9, 5, 5, 3,
                                                                  1]


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_categories=300), 'num_categories must be in'),
    (dict(max_judged=2), 'max_judged must be at least 3'),
    (dict(num_rare=0), 'each frequency group needs'),
    (dict(frequent_max=100), 'the thresholds must grow'),
    (dict(num_train=100), 'do not fit'),
])
def test_bad_shapes_are_refused(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_lvis_like(str(tmp_path), **kwargs)


def test_cli_refuses_shape_options_with_the_preset(tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/misc/make_synthetic_lvis.py', '--preset',
         'lvis-like', '--out', str(tmp_path), '--num-active', '10'],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert 'drop --num-active or drop --preset' in result.stderr
    assert not any(tmp_path.iterdir())
