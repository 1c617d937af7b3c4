"""Every config in configs/ builds its model with DropLoss heads."""
from pathlib import Path

import pytest
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmdet.registry import MODELS
from mmdet_droploss.models.losses import DropLoss
from mmdet_droploss.utils import check_class_counts

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs'
CONFIGS = sorted(str(p.relative_to(CONFIG_DIR))
                 for p in CONFIG_DIR.rglob('*.py'))


def heads(module) -> list:
    return list(module) if isinstance(module, nn.ModuleList) else [module]


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds_droploss_model(path):
    cfg = Config.fromfile(str(CONFIG_DIR / path))
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    mask_classes = {h.num_classes for h in heads(model.roi_head.mask_head)
                    } if model.roi_head.with_mask else set()
    for head in heads(model.roi_head.bbox_head):
        assert type(head).__name__ == 'DropLossBBoxHead'
        assert isinstance(head.loss_cls, DropLoss)
        assert head.loss_cls.num_classes == head.num_classes
        assert head.fc_cls.out_features == head.num_classes
        assert mask_classes <= {head.num_classes}
    hooks = {h['type'] for h in cfg.custom_hooks}
    assert {'CategoryFrequencyHook', 'RandomStateHook'} <= hooks
    check_class_counts(cfg)  # what tools/train.py checks first
    # LVIS's federated AP for LVIS data, COCO's for exhaustive COCO data
    lvis = cfg.test_dataloader.dataset.type.startswith('LVIS')
    assert cfg.test_evaluator['type'] == ('FastLVISMetric'
                                          if lvis else 'CocoMetric')


def test_configs_are_discovered():
    names = {Path(p).name for p in CONFIGS}
    assert len(CONFIGS) >= 6
    assert {'droploss_r50_lvis.py', 'droploss_r50_rfs_lvis.py',
            'droploss_r101_lvis.py', 'sigmoid_r50_lvis.py',
            'eql_r50_lvis.py', 'droploss_r50_synthetic.py'} <= names


@pytest.mark.parametrize('path, mode, sampler', [
    ('droploss_r50_lvis.py', 'drop', 'LVISV1Dataset'),
    ('droploss_r50_rfs_lvis.py', 'drop', 'ClassBalancedDataset'),
    ('baselines/sigmoid_r50_lvis.py', 'bce', 'LVISV1Dataset'),
    ('baselines/eql_r50_lvis.py', 'eql', 'LVISV1Dataset'),
])
def test_settings(path, mode, sampler):
    cfg = Config.fromfile(str(CONFIG_DIR / path))
    loss = cfg.model.roi_head.bbox_head.loss_cls
    assert loss.get('mode', 'drop') == mode
    assert loss.lambda_ == 0.00177
    assert cfg.train_dataloader.dataset.type == sampler
    if sampler == 'ClassBalancedDataset':
        assert cfg.train_dataloader.dataset.oversample_thr == 0.0005
