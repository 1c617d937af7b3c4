"""Every config in configs/ builds its model: DropLoss heads, or a peer
loss in the baselines."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS, PARAM_SCHEDULERS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmdet_droploss.models import DropLoss

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs'
CONFIGS = sorted(str(p.relative_to(CONFIG_DIR))
                 for p in CONFIG_DIR.rglob('*.py'))


def heads(module) -> list:
    return list(module) if isinstance(module, nn.ModuleList) else [module]


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds_its_model(path):
    cfg = Config.fromfile(str(CONFIG_DIR / path))
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    mask_classes = {h.num_classes for h in heads(model.roi_head.mask_head)
                    } if model.roi_head.with_mask else set()
    bbox_heads = heads(model.roi_head.bbox_head)
    for head in bbox_heads:
        loss = head.loss_cls
        # DropLoss and its modes, or a peer loss named in the file
        assert isinstance(loss, DropLoss) or type(loss).__name__.lower(
        ).startswith(Path(path).name.split('_')[0])
        assert loss.num_classes == head.num_classes
        assert head.fc_cls.out_features == loss.get_cls_channels(
            head.num_classes)
        # sigmoid losses sit in the head with the prior bias; Seesaw's
        # softmax in MMDetection's
        assert (type(head).__name__ == 'DropLossBBoxHead') == (
            type(loss).__name__ != 'SeesawLoss')
        assert mask_classes <= {head.num_classes}
    hooks = {h['type'] for h in cfg.custom_hooks}
    assert 'RandomStateHook' in hooks
    # frequencies computed where a loss uses them
    if any(getattr(h.loss_cls, 'uses_category_freq', False)
           for h in bbox_heads):
        assert 'CategoryFrequencyHook' in hooks
    # LVIS's federated AP for LVIS data, COCO's for exhaustive COCO data
    lvis = 'LVIS' in cfg.test_dataloader.dataset.type
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, list):
        evaluators = [evaluators]
    assert {e['type'] for e in evaluators} == {
        'FastLVISMetric' if lvis else 'CocoMetric'}


def test_configs_are_discovered():
    names = {Path(p).name for p in CONFIGS}
    assert len(CONFIGS) >= 6
    assert {'droploss_r50_lvis.py', 'droploss_r50_rfs_lvis.py',
            'droploss_r101_lvis.py', 'sigmoid_r50_lvis.py',
            'eql_r50_lvis.py', 'droploss_r50_synthetic.py'} <= names


@pytest.mark.parametrize('path, mode, sampler', [
    ('droploss_r50_lvis.py', 'drop', 'MachineSharedLVISV1Dataset'),
    ('droploss_r50_rfs_lvis.py', 'drop', 'ClassBalancedDataset'),
    ('droploss_r50_90k_lvis.py', 'drop', 'MachineSharedLVISV1Dataset'),
    ('droploss_r50_rfs_90k_lvis.py', 'drop', 'RepeatFactorSampler'),
    ('baselines/sigmoid_r50_lvis.py', 'bce', 'MachineSharedLVISV1Dataset'),
    ('baselines/eql_r50_lvis.py', 'eql', 'MachineSharedLVISV1Dataset'),
])
def test_settings(path, mode, sampler):
    cfg = Config.fromfile(str(CONFIG_DIR / path))
    loss = cfg.model.roi_head.bbox_head.loss_cls
    assert loss.get('mode', 'drop') == mode
    assert loss.lambda_ == 0.00177
    loader = cfg.train_dataloader
    if sampler == 'RepeatFactorSampler':
        assert loader.sampler.type == sampler
        assert loader.sampler.oversample_thr == 0.0005
        assert loader.dataset.type == 'MachineSharedLVISV1Dataset'
        return
    assert loader.dataset.type == sampler
    if sampler == 'ClassBalancedDataset':
        assert loader.dataset.oversample_thr == 0.0005


@pytest.mark.parametrize('path', [
    'droploss_r50_90k_lvis.py', 'droploss_r50_rfs_90k_lvis.py'])
def test_authors_90k_schedule_counts_iterations(path):
    """detectron2's 1x in MMEngine terms: everything counted in iterations.
    """
    cfg = Config.fromfile(str(CONFIG_DIR / path))
    assert cfg.train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=90000, val_interval=10000)
    assert cfg.train_dataloader.sampler.type == (
        'RepeatFactorSampler' if 'rfs' in path else 'InfiniteSampler')
    assert cfg.default_hooks.checkpoint.by_epoch is False
    assert cfg.default_hooks.checkpoint.interval == 10000
    assert cfg.log_processor.by_epoch is False
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert all(s.by_epoch is False for s in cfg.param_scheduler)


def test_authors_90k_learning_rate_by_iteration():
    """The schedulers of the 90k config, stepped once per iteration, give
    the warm-up and the two steps at the iterations detectron2 uses."""
    cfg = Config.fromfile(str(CONFIG_DIR / 'droploss_r50_90k_lvis.py'))
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
        for s in cfg.param_scheduler
    ]
    checkpoints = {0: 0.02 * 0.001, 250: None, 500: 0.02, 59999: 0.02,
                   60000: 0.002, 79999: 0.002, 80000: 0.0002,
                   89999: 0.0002}
    lrs = {}
    for it in range(90000):
        if it in checkpoints:
            lrs[it] = optimizer.param_groups[0]['lr']
        for scheduler in schedulers:
            scheduler.step()
    for it, expected in checkpoints.items():
        if expected is not None:
            assert lrs[it] == pytest.approx(expected, rel=1e-6), it
    # linear from 0.001 of 0.02 at iteration 0 to all of it at 499 (the
    # last iteration MMEngine's LinearLR counts, end - 1)
    assert lrs[250] == pytest.approx(0.02 * (0.001 + 0.999 * 250 / 499),
                                     rel=1e-6)
