from types import SimpleNamespace

import numpy as np
import pytest
import torch.nn as nn

from mmdet.registry import DATASETS, HOOKS, MODELS
from mmdet_droploss.datasets import frequencies_from_annotations


def lvis_dataset(root: str, ann_file: str = 'annotations/lvis_v1_train.json'):
    return DATASETS.build(
        dict(
            type='ClassBalancedDataset',
            oversample_thr=0.1,
            lazy_init=True,
            dataset=dict(
                type='LVISV1Dataset',
                data_root=root,
                ann_file=ann_file,
                data_prefix=dict(img=''),
                pipeline=[],
                lazy_init=True)))


def model_with_losses(**loss_kwargs) -> nn.Module:
    model = nn.Module()
    model.drop = MODELS.build(
        dict(type='DropLoss', num_classes=1203, **loss_kwargs))
    model.eql = MODELS.build(dict(type='DropLoss', num_classes=1203,
                                  mode='eql'))
    model.bce = MODELS.build(dict(type='DropLoss', num_classes=1203,
                                  mode='bce'))
    return model


def run_hook(model, dataset) -> None:
    runner = SimpleNamespace(model=model,
                             train_dataloader=SimpleNamespace(dataset=dataset))
    HOOKS.build(dict(type='CategoryFrequencyHook')).before_train(runner)


def test_fills_missing_frequencies_from_the_training_set(tiny_lvis):
    model = model_with_losses()
    run_hook(model, lvis_dataset(tiny_lvis['root']))
    expected = frequencies_from_annotations(tiny_lvis['train'])
    for loss in (model.drop, model.eql):
        assert not loss.needs_category_freq
        assert np.array_equal(loss.category_freq.numpy(), expected)
    # plain BCE needs none and gets none
    assert model.bce.category_freq.isnan().all()


def test_frequencies_already_present_are_kept(tiny_lvis):
    model = model_with_losses(category_freq=[0.5] * 1203)
    model.eql.set_category_freq([0.25] * 1203)
    # a dataset that cannot be read: the hook must not need it
    run_hook(model, lvis_dataset(tiny_lvis['root'], 'missing.json'))
    assert model.drop.category_freq.eq(0.5).all()
    assert model.eql.category_freq.eq(0.25).all()


def test_unreadable_training_annotations_are_named(tiny_lvis):
    with pytest.raises(FileNotFoundError, match="'.*missing.json' does not exist"):
        run_hook(model_with_losses(),
                 lvis_dataset(tiny_lvis['root'], 'missing.json'))
