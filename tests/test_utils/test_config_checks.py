"""Configs that cannot run fail when they are read, naming the fix."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper

from mmdet_droploss.utils import check_amp_dtype, check_sync_stats
from mmdet_droploss.utils.config_checks import is_multi_stage

REPO = Path(__file__).resolve().parents[2]
MASK_RCNN = 'configs/droploss_r50_lvis.py'
CASCADE = 'configs/cascade_rcnn/droploss_cascade-mask-rcnn_r50_lvis.py'


def config(path: str, **options) -> Config:
    cfg = Config.fromfile(str(REPO / path))
    cfg.merge_from_dict(options)
    return cfg


def test_train_tool_stops_before_building():
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', MASK_RCNN, '--cfg-options',
         'optim_wrapper.type=AmpOptimWrapper', 'optim_wrapper.dtype=bfloat16'],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert re.search(
        r"ValueError: optim_wrapper has type AmpOptimWrapper with "
        r"dtype='bfloat16'.*use optim_wrapper.dtype='float16'", proc.stderr)


def test_sync_stats_in_a_head_that_may_skip_the_loss_is_refused():
    """MMDetection's box heads skip the loss on a batch without RoIs: the
    other ranks would wait in DropLoss's all_reduce for ever."""
    check_sync_stats(config(
        MASK_RCNN, **{'model.roi_head.bbox_head.loss_cls.sync_stats': True}))
    cfg = config(MASK_RCNN, **{
        'model.roi_head.bbox_head.loss_cls.sync_stats': True,
        'model.roi_head.bbox_head.type': 'Shared2FCBBoxHead'})
    with pytest.raises(ValueError, match="sync_stats=True but the head is "
                       "'Shared2FCBBoxHead'.*use type='DropLossBBoxHead' or "
                       'sync_stats=False'):
        check_sync_stats(cfg)


SYNC = '.loss_cls.sync_stats'


@pytest.mark.parametrize('path,options,refused', [
    # the cascade config, sync_stats on in one stage's loss
    (CASCADE, {f'model.roi_head.bbox_head.0{SYNC}': True}, '[0]'),
    (CASCADE, {f'model.roi_head.bbox_head.2{SYNC}': True}, '[2]'),
    (CASCADE, {}, None),
    # the single-stage config
    (MASK_RCNN, {f'model.roi_head.bbox_head{SYNC}': True}, None),
    # one box head config for every stage: num_stages, or the head's class
    (MASK_RCNN, {f'model.roi_head.bbox_head{SYNC}': True,
                 'model.roi_head.type': 'CascadeRoIHead',
                 'model.roi_head.num_stages': 3}, ''),
    (MASK_RCNN, {f'model.roi_head.bbox_head{SYNC}': True,
                 'model.roi_head.type': 'HybridTaskCascadeRoIHead'}, ''),
    (MASK_RCNN, {f'model.roi_head.bbox_head{SYNC}': True,
                 'model.roi_head.type': 'mmdet.SCNetRoIHead'}, ''),
])
def test_sync_stats_in_a_multi_stage_head_is_refused(path, options,
                                                      refused):
    """CascadeRoIHead.loss (and its subclasses') leaves the stage loop on
    a rank whose refine_bboxes finds no RoI; the other ranks would wait in
    the next stage's all_reduce for ever."""
    cfg = config(path, **options)
    if refused is None:
        check_sync_stats(cfg)
        # passing for its reason: a single-stage head with sync_stats, or
        # a multi-stage one without
        heads = cfg.model.roi_head.bbox_head
        syncs = [h.loss_cls.get('sync_stats', False) for h in (
            heads if isinstance(heads, list) else [heads])]
        assert is_multi_stage(cfg.model.roi_head) != any(syncs)
        return
    with pytest.raises(ValueError) as err:
        check_sync_stats(cfg)
    assert str(err.value).startswith(
        f'model.roi_head.bbox_head{refused}.loss_cls has sync_stats=True '
        f"in a multi-stage RoI head ({cfg.model.roi_head.type!r})")
    assert str(err.value).endswith(
        'use sync_stats=False for cascade heads.')


@pytest.mark.parametrize('roi_head,multi_stage', [
    (dict(type='StandardRoIHead', bbox_head=dict()), False),
    (dict(type='StandardRoIHead', bbox_head=[dict(), dict()]), True),
    (dict(type='CascadeRoIHead', num_stages=3, bbox_head=dict()), True),
    (dict(type='SparseRoIHead'), True),
    (dict(type='mmdet.HybridTaskCascadeRoIHead'), True),
    (dict(type='NotARegisteredHead'), False),
])
def test_is_multi_stage(roi_head, multi_stage):
    assert is_multi_stage(roi_head) is multi_stage


@pytest.mark.parametrize('wrapper, refused', [
    (dict(type='AmpOptimWrapper', dtype='bfloat16'), True),
    (dict(type='mmengine.AmpOptimWrapper', dtype='torch.bfloat16'), True),
    (dict(type=AmpOptimWrapper, dtype=torch.bfloat16), True),
    (dict(type='AmpOptimWrapper', dtype=torch.float16), False),
    (dict(type='AmpOptimWrapper', dtype='float16'), False),
    (dict(type='AmpOptimWrapper'), False),
    # ours, on the CPU: mmcv's ops stay in float32
    (dict(type='CPUAmpOptimWrapper', dtype='bfloat16'), False),
    (dict(type='OptimWrapper'), False),
])
def test_bfloat16_in_the_cuda_amp_wrapper_is_refused(wrapper, refused):
    """mmcv 2.1.0's CUDA RoIAlign runs in float64, float32 and float16."""
    cfg = config(MASK_RCNN)
    cfg.optim_wrapper.update(wrapper)
    if refused:
        with pytest.raises(ValueError, match="RoIAlign runs in float64, "
                           "float32 and float16 only, not bfloat16; use "
                           "optim_wrapper.dtype='float16'"):
            check_amp_dtype(cfg)
    else:
        check_amp_dtype(cfg)
