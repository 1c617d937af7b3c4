import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

from mmdet_droploss.models import DropLoss

NUM_CLASSES = 5


def head_cfg(**kwargs) -> dict:
    cfg = dict(
        type='DropLossBBoxHead',
        in_channels=4,
        fc_out_channels=8,
        roi_feat_size=7,
        num_classes=NUM_CLASSES,
        loss_cls=dict(
            type='DropLoss',
            num_classes=NUM_CLASSES,
            category_freq=[0.5, 0.5, 0.001, 0.001, 0.001]))
    cfg.update(kwargs)
    return cfg


def test_classifier_has_c_outputs_and_prior_bias():
    head = MODELS.build(head_cfg())
    head.init_weights()
    assert isinstance(head.loss_cls, DropLoss)
    assert head.fc_cls.out_features == NUM_CLASSES
    assert torch.allclose(head.fc_cls.bias,
                          torch.full((NUM_CLASSES, ), -math.log(999.)))


@pytest.mark.parametrize('prior', [0.01, 0.2])
def test_prior_is_configurable(prior):
    head = MODELS.build(head_cfg(cls_prior_prob=prior))
    head.init_weights()
    assert torch.allclose(head.fc_cls.bias.sigmoid(),
                          torch.full((NUM_CLASSES, ), prior))


def test_scores_have_a_zero_background_column():
    head = MODELS.build(head_cfg())
    head.init_weights()
    # zero RoI features reach fc_cls as zeros (ReLU of zero-bias FCs): the
    # logits are the prior bias itself
    cls_score, _ = head(torch.zeros(3, 4, 7, 7))
    scores = head.loss_cls.get_activation(cls_score)
    assert scores.shape == (3, NUM_CLASSES + 1)
    assert torch.equal(scores[:, -1], torch.zeros(3))
    torch.testing.assert_close(scores[:, :-1], torch.full((3, 5), 0.001),
                               rtol=1e-5, atol=0)


def test_loss_logs_keep_ratio_and_accuracy():
    head = MODELS.build(head_cfg())
    cls_score, bbox_pred = head(torch.rand(4, 4, 7, 7))
    labels = torch.tensor([0, 2, NUM_CLASSES, NUM_CLASSES])
    losses = head.loss(
        cls_score, bbox_pred, torch.rand(4, 5), labels,
        torch.ones(4), torch.rand(4, 4), torch.ones(4, 4))
    assert {'loss_cls', 'drop_keep_ratio', 'acc', 'loss_bbox'} <= set(losses)
    assert losses['drop_keep_ratio'].item() == pytest.approx(0.5)


def test_class_count_mismatch_is_named():
    cfg = head_cfg()
    cfg['loss_cls']['num_classes'] = 4
    cfg['loss_cls']['category_freq'] = [0.5] * 4
    with pytest.raises(ValueError, match='num_classes=5 but its DropLoss'):
        MODELS.build(cfg)


def test_softmax_loss_is_refused():
    with pytest.raises(TypeError, match='sigmoid loss'):
        MODELS.build(head_cfg(loss_cls=dict(type='CrossEntropyLoss')))


def test_cosine_classifier_gets_the_prior_bias():
    head = MODELS.build(
        head_cfg(cls_predictor_cfg=dict(type='NormedLinear', tempearture=20)))
    head.init_weights()
    assert type(head.fc_cls).__name__ == 'NormedLinear'
    assert torch.allclose(head.fc_cls.bias,
                          torch.full((NUM_CLASSES, ), -math.log(999.)))
    cls_score, _ = head(torch.rand(2, 4, 7, 7))
    assert cls_score.shape == (2, NUM_CLASSES)


def softmax_head_state(num_classes: int = NUM_CLASSES) -> dict:
    softmax = MODELS.build(
        dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=8,
             roi_feat_size=7, num_classes=num_classes))
    return softmax.state_dict()


@pytest.mark.parametrize('num_classes,kind', [
    (NUM_CLASSES, f' (a softmax classifier: {NUM_CLASSES} classes and '
     'background),'),
    # said once (was '81 outputs (81 outputs)')
    (80, ','),
])
def test_softmax_checkpoint_loads_all_but_the_classifier(
        num_classes, kind, logged_warnings):
    from mmengine.runner.checkpoint import load_state_dict
    head = MODELS.build(head_cfg())
    head.init_weights()
    prior_bias = head.fc_cls.bias.detach().clone()
    state = softmax_head_state(num_classes)
    load_state_dict(head, dict(state))
    message = ' '.join(r.getMessage() for r in logged_warnings)
    assert f'fc_cls has {num_classes + 1} outputs{kind}' in message
    assert f'DropLossBBoxHead has {NUM_CLASSES} sigmoid outputs' in message
    assert torch.equal(head.fc_cls.bias, prior_bias)
    for name in ('shared_fcs.0.weight', 'shared_fcs.1.bias'):
        assert torch.equal(head.state_dict()[name], state[name]), name


@pytest.mark.parametrize('max_per_cls, max_per_img, expected', [
    # class 0 scores 0.9..0.5 on five disjoint boxes, class 1 0.4 on one
    (2, -1, [(0, 0.9), (0, 0.8), (1, 0.4)]),
    (1, -1, [(0, 0.9), (1, 0.4)]),
    (2, 2, [(0, 0.9), (0, 0.8)]),
    (None, 3, [(0, 0.9), (0, 0.8), (0, 0.7)]),
])
def test_per_class_cap_per_image(max_per_cls, max_per_img, expected):
    head = MODELS.build(head_cfg())
    probs = torch.full((5, NUM_CLASSES), 0.001)
    probs[:, 0] = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    probs[2, 1] = 0.4
    rois = torch.tensor([[0., 20. * i, 0., 20. * i + 10., 10.]
                         for i in range(5)])
    cfg = ConfigDict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                     max_per_img=max_per_img)
    if max_per_cls is not None:
        cfg.max_per_cls = max_per_cls
    results = head._predict_by_feat_single(
        rois, torch.logit(probs), torch.zeros(5, 4 * NUM_CLASSES),
        dict(img_shape=(100, 100)), rcnn_test_cfg=cfg)
    got = [(int(label), round(float(score), 4))
           for label, score in zip(results.labels, results.scores)]
    assert got == expected


@pytest.mark.parametrize('bad', [0, -1, 1.5])
def test_bad_per_class_cap_is_named(bad):
    head = MODELS.build(head_cfg())
    cfg = ConfigDict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                     max_per_img=-1, max_per_cls=bad)
    with pytest.raises(ValueError, match='max_per_cls must be a positive'):
        head._predict_by_feat_single(
            torch.tensor([[0., 0., 0., 10., 10.]]), torch.zeros(1, 5),
            torch.zeros(1, 4 * NUM_CLASSES), dict(img_shape=(100, 100)),
            rcnn_test_cfg=cfg)
