"""EQLv2Loss: MMDetection's EQLV2Loss in its BBoxHead, on N ranks."""
import json

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from mmdet_droploss.models import EQLv2Loss

BG = 3
# two ranks' batches (C = 3; column 3 is the objectness column)
LABELS = {0: [0, 1, BG, BG], 1: [2, 2, BG]}


def logits_of(rank: int) -> torch.Tensor:
    torch.manual_seed(rank)
    return torch.randn(len(LABELS[rank]), 4)


def statistics(logits, labels, weight=1.):
    """|sigmoid(z) - t| w summed per category: positive and negative."""
    target = F.one_hot(labels, 4).float()
    grad = (logits.sigmoid() - target).abs() * weight
    return (grad * target).sum(0)[:3], (grad * (1 - target)).sum(0)[:3]


def test_first_step_is_weighted_bce():
    # pos_neg starts at 100: negative weights sigmoid(12 (100 - .8)) = 1,
    # positive weights 1 + 4 (1 - 1) = 1
    logits, labels = logits_of(0), torch.tensor(LABELS[0])
    loss = EQLv2Loss(num_classes=3)(logits, labels, avg_factor=4.)
    ref = F.binary_cross_entropy_with_logits(
        logits, F.one_hot(labels, 4).float(), reduction='sum') / 4
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


def test_weights_follow_the_accumulated_ratio():
    loss = EQLv2Loss(num_classes=3)
    logits, labels = logits_of(0), torch.tensor(LABELS[0])
    loss(logits, labels)
    pos, neg = statistics(logits, labels)
    torch.testing.assert_close(loss.pos_neg, pos / (neg + 1e-10))
    # the second step weights by the ratio: category 2 had no positive
    # (ratio 0: negative weight sigmoid(-9.6), positive 1 + 4 (1 - that))
    neg_w = torch.sigmoid(12 * (pos / (neg + 1e-10) - 0.8))
    out = loss(logits, labels, reduction_override='none')
    target = F.one_hot(labels, 4).float()
    w = torch.where(target > 0, 1 + 4 * (1 - torch.cat([neg_w, torch.ones(
        1)])), torch.cat([neg_w, torch.ones(1)]))
    ref = (F.binary_cross_entropy_with_logits(logits, target,
                                              reduction='none') * w).sum(1)
    torch.testing.assert_close(out, ref)
    assert neg_w[2] < 1e-4


def test_label_weights_leave_ignored_rois_out():
    logits, labels = logits_of(0), torch.tensor(LABELS[0])
    loss = EQLv2Loss(num_classes=3)
    out = loss(logits, labels, torch.tensor([1., 0., 1., 1.]),
               reduction_override='sum')
    keep = [0, 2, 3]
    ref = EQLv2Loss(num_classes=3)(logits[keep], labels[keep],
                                   reduction_override='sum')
    assert out.item() == pytest.approx(ref.item(), rel=1e-6)
    pos, neg = statistics(logits[keep], labels[keep])
    torch.testing.assert_close(loss.pos_grad, pos)
    torch.testing.assert_close(loss.neg_grad, neg)


def test_head_uses_its_channels_and_activation():
    head = MODELS.build(dict(
        type='DropLossBBoxHead', in_channels=4, fc_out_channels=8,
        roi_feat_size=7, num_classes=3,
        loss_cls=dict(type='EQLv2Loss', num_classes=3)))
    assert head.fc_cls.out_features == 4
    logits = torch.tensor([[0.0, 1.0, -1.0, 2.0]])
    scores = head.loss_cls.get_activation(logits.clone())
    obj = torch.sigmoid(torch.tensor(2.0))
    expected = torch.sigmoid(logits[0, :3]) * (1 - obj)
    torch.testing.assert_close(scores[0, :3], expected)
    acc = head.loss_cls.get_accuracy(torch.tensor(
        [[3., 0., 0., 9.], [0., 0., 3., 9.]]), torch.tensor([0, 1]))
    assert acc['acc'].item() == pytest.approx(50.0)


def worker(rank: int, out_dir: str) -> None:
    loss = EQLv2Loss(num_classes=3)
    loss(logits_of(rank), torch.tensor(LABELS[rank]))
    with open(f'{out_dir}/rank{rank}.json', 'w') as f:
        json.dump(dict(pos=loss.pos_grad.tolist(),
                       neg=loss.neg_grad.tolist()), f)


def test_statistics_are_summed_over_the_ranks(tmp_path, spawn_two):
    spawn_two(worker, str(tmp_path))
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text())
             for r in (0, 1)]
    pos = sum(statistics(logits_of(r), torch.tensor(LABELS[r]))[0]
              for r in (0, 1))
    neg = sum(statistics(logits_of(r), torch.tensor(LABELS[r]))[1]
              for r in (0, 1))
    for result in ranks:  # every rank the statistics of both batches
        assert result['pos'] == pytest.approx(pos.tolist(), rel=1e-6)
        assert result['neg'] == pytest.approx(neg.tolist(), rel=1e-6)
    assert min(pos) > 0  # both ranks' positives: 0 and 1 on rank 0, 2 on 1
