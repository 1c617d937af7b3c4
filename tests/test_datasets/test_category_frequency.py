import json

import numpy as np
import pytest
from mmdet.registry import DATASETS, MODELS

from mmdet_droploss.datasets import (
    count_category_images,
    frequencies_from_annotations,
    frequencies_from_dataset,
    load_annotation_file,
)


def ann_dict() -> dict:
    # category ids deliberately unsorted and not contiguous
    return dict(
        images=[dict(id=i) for i in (1, 2, 3, 4)],
        categories=[dict(id=7), dict(id=3), dict(id=5)],
        annotations=[
            dict(image_id=1, category_id=3),
            dict(image_id=1, category_id=3),  # same image counts once
            dict(image_id=2, category_id=3),
            dict(image_id=2, category_id=7),
            dict(image_id=3, category_id=7),
            # image 4 has no annotation: not in the denominator
        ])


def test_hand_counts_in_label_order():
    counts, num_images = count_category_images(ann_dict())
    # labels follow the file's order 7, 3, 5, as LVISV1Dataset numbers them
    # (lvis-api's get_cat_ids), not the sorted ids
    assert counts.tolist() == [2, 2, 0]
    assert num_images == 3
    assert frequencies_from_annotations(ann_dict()).tolist() == pytest.approx(
        [2 / 3, 2 / 3, 0])


def test_category_subset():
    counts, num_images = count_category_images(ann_dict(), cat_ids=[7])
    assert counts.tolist() == [2] and num_images == 2


@pytest.mark.parametrize(
    'content, message',
    [(None, 'does not exist'), ('{oops', 'not valid JSON'),
     ('{"images": []}', "not COCO/LVIS shaped: it lacks \\['annotations', "
      "'categories'\\]"), ('[1, 2]', 'not COCO/LVIS shaped')])
def test_bad_annotation_file_is_named(tmp_path, content, message):
    path = tmp_path / 'train.json'
    if content is not None:
        path.write_text(content)
    with pytest.raises((FileNotFoundError, ValueError),
                       match=f"'{path}'.*{message}"
                       if content is None else message):
        load_annotation_file(str(path))


def test_lvis_file_gives_image_count_over_annotated_images(tiny_lvis):
    with open(tiny_lvis['train'], encoding='utf-8') as f:
        ann = json.load(f)
    cats = sorted(ann['categories'], key=lambda c: c['id'])
    num_images = len({a['image_id'] for a in ann['annotations']})
    expected = np.array([c['image_count'] for c in cats]) / num_images
    freq = frequencies_from_annotations(tiny_lvis['train'])
    assert np.array_equal(freq, expected)


@pytest.mark.parametrize('wrapper', [None, 'ClassBalancedDataset',
                                     'RepeatDataset'])
def test_dataset_wrappers_are_looked_through(tiny_lvis, wrapper):
    cfg = dict(
        type='LVISV1Dataset',
        data_root=tiny_lvis['root'],
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),
        pipeline=[])
    if wrapper == 'ClassBalancedDataset':
        cfg = dict(type=wrapper, oversample_thr=0.5, dataset=cfg)
    elif wrapper == 'RepeatDataset':
        cfg = dict(type=wrapper, times=3, dataset=cfg)
    freq, info = frequencies_from_dataset(DATASETS.build(cfg))
    assert np.array_equal(freq,
                          frequencies_from_annotations(tiny_lvis['train']))
    assert info['num_images'] == 8


@pytest.mark.parametrize('version, num_classes, num_images',
                         [('v1', 1203, 99388), ('v0.5', 1230, 56740)])
def test_real_lvis_statistics(lvis_stats, version, num_classes, num_images):
    """Rebuild annotations with LVIS's real per-category image counts."""
    stats = lvis_stats(version)
    cats = stats['categories']
    assert len(cats) == num_classes
    assert stats['num_annotated_images'] == num_images
    rng = np.random.default_rng(0)
    anns = []
    for cat in cats:
        for img in rng.choice(num_images, cat['image_count'], replace=False):
            anns.append(dict(image_id=int(img), category_id=cat['id']))
    # every image annotated at least once, as the real denominator says
    anns += [dict(image_id=i, category_id=cats[0]['id'])
             for i in range(num_images)]
    cats[0] = dict(cats[0], image_count=num_images)
    freq = frequencies_from_annotations(
        dict(images=[], categories=cats, annotations=anns))
    by_id = sorted(cats, key=lambda c: c['id'])
    assert np.array_equal(
        freq, np.array([c['image_count'] for c in by_id]) / num_images)


def test_category_without_images_is_tail(tmp_path):
    """A category that never occurs in training (id 5 here) has frequency 0,
    so it is in the tail set for every lambda: background RoIs keep its
    terms only at rate r, and no foreground RoI discourages it."""
    path = tmp_path / 'train.json'
    path.write_text(json.dumps(ann_dict()))
    freq = frequencies_from_annotations(str(path))
    assert freq.tolist() == [2 / 3, 2 / 3, 0.0]
    loss = MODELS.build(dict(type='DropLoss', num_classes=3, lambda_=1e-9,
                             category_freq=freq.tolist()))
    assert loss.tail_mask.tolist() == [False, False, True]
