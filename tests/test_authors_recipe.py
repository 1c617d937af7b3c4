"""The authors' detectron2 LVIS recipe as MMDetection configs.

``configs/droploss_r50-caffe_90k_lvis.py`` (uniform sampling) and
``configs/droploss_r50-caffe_rfs_90k_lvis.py`` (repeat-factor sampling) are
what the authors' detectron2 configs and detectron2's defaults say: MSRA's
caffe-style R-50 with frozen BN, BGR caffe normalisation, the six training
scales, 16 images per iteration at lr 0.02 for 90,000 iterations (steps at
60,000 and 80,000) after a 1,000-iteration linear warm-up from 0.001.
"""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS, PARAM_SCHEDULERS, TRANSFORMS
from mmengine.config import Config

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs'
UNIFORM = 'droploss_r50-caffe_90k_lvis.py'
RFS = 'droploss_r50-caffe_rfs_90k_lvis.py'
RECIPES = [UNIFORM, RFS]

# detectron2's INPUT.MIN_SIZE_TRAIN, MAX_SIZE_TRAIN, MIN/MAX_SIZE_TEST
DETECTRON2_SHORT_SIDES = (640, 672, 704, 736, 768, 800)
DETECTRON2_MAX_SIZE = 1333


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / name))


def train_transform(cfg: Config, type_: str) -> dict:
    steps = [t for t in cfg.train_dataloader.dataset.pipeline
             if t.type == type_]
    assert len(steps) == 1, type_
    return steps[0]


@pytest.mark.parametrize('name', RECIPES)
def test_recipe_resolves_on_the_lvis_v1_dataset(name):
    cfg = load(name)
    dataset = cfg.train_dataloader.dataset
    # the base's dataset kept, only its pipeline replaced
    assert dataset.type == 'MachineSharedLVISV1Dataset'
    assert dataset.ann_file == 'annotations/lvis_v1_train.json'
    assert dataset.filter_cfg == dict(filter_empty_gt=True, min_size=32)
    assert cfg.model.roi_head.bbox_head.loss_cls.type == 'DropLoss'


@pytest.mark.parametrize('name', RECIPES)
def test_backbone_is_msra_caffe_r50_with_frozen_bn(name):
    cfg = load(name)
    backbone = cfg.model.backbone
    assert backbone.depth == 50
    assert backbone.style == 'caffe'
    assert backbone.norm_cfg == dict(type='BN', requires_grad=False)
    assert backbone.norm_eval is True
    assert backbone.frozen_stages == 1  # detectron2's FREEZE_AT 2
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')

    # built (weights not loaded): stride in the first 1x1 of a block, and no
    # BN statistic or parameter moves in training
    model = MODELS.build(backbone)
    model.train()
    assert model.layer2[0].conv1.stride == (2, 2)
    assert model.layer2[0].conv2.stride == (1, 1)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns
    assert not any(p.requires_grad for m in bns for p in m.parameters())
    assert not any(m.training for m in bns)


@pytest.mark.parametrize('name', RECIPES)
def test_pixels_are_bgr_minus_the_caffe_mean(name):
    pre = load(name).model.data_preprocessor
    assert pre.type == 'DetDataPreprocessor'
    assert pre.mean == [103.530, 116.280, 123.675]
    assert pre.std == [1.0, 1.0, 1.0]
    assert pre.bgr_to_rgb is False


@pytest.mark.parametrize('name', RECIPES)
def test_train_pipeline_picks_one_of_the_six_detectron2_scales(name):
    cfg = load(name)
    resize = train_transform(cfg, 'RandomChoiceResize')
    assert resize.keep_ratio is True
    assert sorted(resize.scales) == [(DETECTRON2_MAX_SIZE, s)
                                     for s in DETECTRON2_SHORT_SIDES]
    assert train_transform(cfg, 'RandomFlip').prob == 0.5

    # a 480x640 image: shorter side to one of the six, longer <= 1333
    transform = TRANSFORMS.build(resize)
    seen = set()
    for _ in range(60):
        out = transform(dict(img=np.zeros((480, 640, 3), np.uint8)))
        h, w = out['img'].shape[:2]
        assert max(h, w) <= DETECTRON2_MAX_SIZE
        seen.add(min(h, w))
    assert seen <= set(DETECTRON2_SHORT_SIDES)
    assert len(seen) > 1

    test_resizes = [t for t in cfg.test_dataloader.dataset.pipeline
                    if t.type == 'Resize']
    assert [(t.scale, t.keep_ratio) for t in test_resizes] == [
        ((DETECTRON2_MAX_SIZE, 800), True)]


@pytest.mark.parametrize('name', RECIPES)
def test_schedule_is_detectron2_1x(name):
    cfg = load(name)
    assert cfg.train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=90000, val_interval=10000)
    # 16 images per iteration: 2 per GPU on 8 GPUs, lr 0.02 for 16
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.0001
    warmup, steps = cfg.param_scheduler
    assert warmup == dict(type='LinearLR', start_factor=0.001,
                          by_epoch=False, begin=0, end=1000)
    assert steps == dict(type='MultiStepLR', begin=0, end=90000,
                         by_epoch=False, milestones=[60000, 80000],
                         gamma=0.1)


@pytest.mark.parametrize('name', RECIPES)
def test_warm_up_ends_at_iteration_1000(name):
    """Stepped once per iteration: 0.001 of lr 0.02 at iteration 0, linear,
    all of it from iteration 999 (MMEngine's LinearLR reaches its end at
    end - 1; detectron2's at WARMUP_ITERS), then flat until 60,000."""
    cfg = load(name)
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in cfg.param_scheduler]
    lrs = []
    for _ in range(1200):
        lrs.append(optimizer.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    assert lrs[0] == pytest.approx(0.02 * 0.001, rel=1e-6)
    assert lrs[500] == pytest.approx(0.02 * (0.001 + 0.999 * 500 / 999),
                                     rel=1e-6)
    assert lrs[998] < 0.02 * (1 - 1e-6)
    assert lrs[999:] == pytest.approx([0.02] * 201, rel=1e-6)


def test_uniform_recipe_samples_images_uniformly():
    sampler = load(UNIFORM).train_dataloader.sampler
    assert sampler.type == 'InfiniteSampler'
    assert sampler.shuffle is True


def test_rfs_recipe_rounds_repeat_factors_as_detectron2_at_0_0005():
    cfg = load(RFS)
    assert cfg.train_dataloader.sampler == dict(
        type='RepeatFactorSampler', oversample_thr=0.0005)
    # the sampler repeats images; the dataset stays the plain LVIS one
    assert cfg.train_dataloader.dataset.type == 'MachineSharedLVISV1Dataset'


def test_rfs_recipe_differs_from_the_uniform_one_only_in_the_sampler():
    uniform, rfs = load(UNIFORM).to_dict(), load(RFS).to_dict()
    uniform['train_dataloader'].pop('sampler')
    rfs['train_dataloader'].pop('sampler')
    assert uniform == rfs
