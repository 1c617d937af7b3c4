"""GumbelLoss: binary cross-entropy on the Gumbel CDF exp(-exp(-z)) (GOL)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from mmdet_droploss.models import GumbelLoss, gumbel_activation

BG = 3


def reference(logits, labels):
    """The terms as GOL computes them: BCE of the clamped Gumbel score."""
    score = torch.exp(-torch.exp(-logits.clamp(-4, 10)))
    target = F.one_hot(labels, 4)[:, :3].float()
    return F.binary_cross_entropy(score, target, reduction='none').sum(1)


def test_exact_value_of_one_term():
    # label 0 at z = 0: -log G(0) = e^0 = 1; the two negatives at z = 0:
    # -log(1 - e^-1) each
    loss = GumbelLoss(num_classes=3)(torch.zeros(1, 3), torch.tensor([0]),
                                     reduction_override='sum')
    assert loss.item() == pytest.approx(1 - 2 * math.log(1 - math.exp(-1)),
                                        rel=1e-6)


@pytest.mark.parametrize('scale', [1., 3., 8.])
def test_matches_bce_of_the_gumbel_score(scale):
    torch.manual_seed(0)
    logits = (scale * torch.randn(8, 3)).requires_grad_()
    labels = torch.tensor([0, 1, 2, BG, BG, 0, BG, 2])
    ours = GumbelLoss(num_classes=3)(logits, labels, avg_factor=8.)
    ref_logits = logits.detach().clone().requires_grad_()
    ref = reference(ref_logits, labels).sum() / 8
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5)
    ours.backward()
    ref.backward()
    # torch's BCE backward divides by max(G (1 - G), 1e-12), which shrinks
    # GOL's gradient of a positive below z = -3.32; elsewhere they agree
    score = gumbel_activation(logits.detach())
    exact = score * (1 - score) > 1e-11
    torch.testing.assert_close(logits.grad[exact], ref_logits.grad[exact],
                               rtol=1e-4, atol=1e-7)


def test_exact_gradient_where_torch_bce_clips():
    # a positive at z = -3.5: d/dz exp(-z) = -e^3.5 (GOL's BCE gives less)
    logits = torch.tensor([[-3.5, 0.0, 0.0]], requires_grad=True)
    GumbelLoss(num_classes=3)(logits, torch.tensor([0]),
                              reduction_override='sum').backward()
    assert logits.grad[0, 0].item() == pytest.approx(-math.exp(3.5),
                                                     rel=1e-5)


def test_clamp_stops_the_gradient_outside_gol_range():
    logits = torch.tensor([[-6.0, 12.0, 0.0]], requires_grad=True)
    GumbelLoss(num_classes=3)(logits, torch.tensor([0])).backward()
    assert logits.grad[0, :2].tolist() == [0.0, 0.0]
    assert logits.grad[0, 2] > 0  # a negative at z = 0 is pushed down


def test_inference_scores_and_prior():
    loss = GumbelLoss(num_classes=3)
    scores = loss.get_activation(torch.tensor([[0.0, -1.0, 2.0]]))
    expected = [math.exp(-1), math.exp(-math.e), math.exp(-math.exp(-2)), 0]
    assert scores[0].tolist() == pytest.approx(expected, rel=1e-6)
    # the prior logit gives score p under this activation (GOL sets -2)
    z = loss.prior_logit(0.001)
    assert z == pytest.approx(-1.9327, abs=1e-4)
    assert gumbel_activation(torch.tensor(z)).item() == pytest.approx(0.001)


def test_head_starts_at_the_prior_of_its_activation():
    head = MODELS.build(dict(
        type='DropLossBBoxHead', in_channels=4, fc_out_channels=8,
        roi_feat_size=7, num_classes=3, cls_prior_prob=0.001,
        loss_cls=dict(type='GumbelLoss', num_classes=3)))
    head.init_weights()
    torch.testing.assert_close(
        head.fc_cls.bias, torch.full((3, ), -math.log(-math.log(0.001))))
    scores = head.loss_cls.get_activation(head.fc_cls.bias[None])
    assert scores[0, :3].tolist() == pytest.approx([0.001] * 3, rel=1e-5)


def test_empty_batch_joins_the_graph():
    logits = torch.zeros(0, 3, requires_grad=True)
    loss = GumbelLoss(num_classes=3)(logits, torch.zeros(0,
                                                         dtype=torch.long),
                                     avg_factor=1.)
    loss.backward()
    assert loss.item() == 0


def test_class_count_is_checked_by_the_head():
    with pytest.raises(ValueError, match='num_classes=4'):
        MODELS.build(dict(
            type='DropLossBBoxHead', in_channels=4, fc_out_channels=8,
            roi_feat_size=7, num_classes=4,
            loss_cls=dict(type='GumbelLoss', num_classes=3)))
