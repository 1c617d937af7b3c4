"""Each detector family trains one iteration and predicts, reduced in size."""
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from mmdet_droploss.datasets import frequencies_from_annotations
from mmdet_droploss.models import DropLoss
from mmdet_droploss.testing.synthetic_lvis import synthetic_train_batch

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs'
REDUCED = {
    'model.backbone.depth': 18,
    'model.backbone.init_cfg': None,
    'model.neck.in_channels': [64, 128, 256, 512],
    'model.train_cfg.rpn_proposal.nms_pre': 200,
    'model.train_cfg.rpn_proposal.max_per_img': 100,
    'model.test_cfg.rpn.nms_pre': 100,
    'model.test_cfg.rpn.max_per_img': 50,
    'model.test_cfg.rcnn.max_per_img': 20,
}

def train_batch(root: str, with_mask: bool = True) -> dict:
    """The first two training images of the tiny dataset, collated."""
    return synthetic_train_batch(root, with_mask=with_mask, scale=(96, 96))


def reduced_model(config: str):
    """The config's detector, reduced in size (REDUCED), initialised."""
    cfg = Config.fromfile(str(CONFIG_DIR / config))
    import_modules_from_strings(**cfg.custom_imports)
    cfg.merge_from_dict(REDUCED)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def train_loss(model, batch: dict):
    """The summed loss and the logged values of one training forward."""
    model.train()
    outputs = model(**model.data_preprocessor(batch, True), mode='loss')
    return model.parse_losses(outputs)


def predict(model, batch: dict):
    """The first image's predicted instances."""
    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(batch, False), mode='predict')
    return preds[0].pred_instances


@pytest.mark.parametrize('config, with_mask, num_stages', [
    ('droploss_r50_lvis.py', True, 1),
    ('cascade_rcnn/droploss_cascade-mask-rcnn_r50_lvis.py', True, 3),
    ('faster_rcnn/droploss_faster-rcnn_r50_lvis.py', False, 1),
    ('droploss_r50_normed_lvis.py', True, 1),
])
def test_train_iteration_and_prediction(tiny_lvis, config, with_mask,
                                        num_stages):
    model = reduced_model(config)
    freq = frequencies_from_annotations(tiny_lvis['train'])
    losses = [m for m in model.modules() if isinstance(m, DropLoss)]
    assert len(losses) == num_stages
    for loss in losses:
        loss.set_category_freq(freq)

    batch = train_batch(tiny_lvis['root'], with_mask)

    total, log_vars = train_loss(model, batch)
    ratios = [k for k in log_vars if k.endswith('drop_keep_ratio')]
    assert len(ratios) == num_stages
    assert torch.isfinite(total)
    total.backward()
    assert all(torch.isfinite(head.fc_cls.weight.grad).all()
               for head in model.modules() if hasattr(head, 'fc_cls'))

    instances = predict(model, batch)
    assert 0 < len(instances) <= 20
    assert instances.labels.max() < 1203
    assert ('masks' in instances) == with_mask


@pytest.mark.parametrize('config, loss_type', [
    ('droploss_r50-caffe_rfs_90k_lvis.py', 'DropLoss'),  # the authors'
    ('baselines/seesaw_r50_lvis.py', 'SeesawLoss'),
    ('baselines/eqlv2_r50_lvis.py', 'EQLv2Loss'),
    ('baselines/federated_r50_lvis.py', 'FederatedLoss'),
    ('baselines/gumbel_r50_lvis.py', 'GumbelLoss'),
])
def test_recipe_and_peer_losses_train_and_predict(tiny_lvis, config,
                                                  loss_type):
    """The authors' recipe (caffe backbone, its input) and each peer loss
    in the same detector: a finite loss whose gradient reaches the
    classifier, and LVIS-style predictions."""
    model = reduced_model(config)
    head = model.roi_head.bbox_head
    assert type(head.loss_cls).__name__ == loss_type
    if getattr(head.loss_cls, 'uses_category_freq', False):
        head.loss_cls.set_category_freq(
            frequencies_from_annotations(tiny_lvis['train']))

    batch = train_batch(tiny_lvis['root'])
    total, log_vars = train_loss(model, batch)
    assert any(k.startswith('loss_cls') for k in log_vars)
    assert torch.isfinite(total)
    total.backward()
    grad = head.fc_cls.weight.grad
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0

    instances = predict(model, batch)
    assert 0 < len(instances) <= 20
    assert instances.labels.max() < 1203
    assert 0 < instances.scores.min() and instances.scores.max() <= 1
