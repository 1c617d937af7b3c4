"""DropLoss's BCE terms follow the installed torch's own formula."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_droploss.models.losses.drop_loss_ops import (
    bce_terms,
    bce_terms_log_sigmoid,
    bce_terms_max_exp,
)


def logits_and_labels(seed: int):
    """Logits, labels (a third background, 60) and their one-hot target."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(200, 60, generator=g) * 10
    labels = torch.randint(0, 90, (200, ), generator=g).clamp_(max=60)
    target = F.one_hot(labels, 61)[:, :60].float()
    return logits, labels, target


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_terms_equal_torch_bit_for_bit(seed):
    logits, labels, target = logits_and_labels(seed)
    ref = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    assert torch.equal(bce_terms(logits, labels), ref)


@pytest.mark.parametrize('seed', [0, 1])
def test_the_two_formulas_agree_to_rounding(seed):
    """torch 2.1 and torch >= 2.2 round differently, by at most ~1e-6 on
    terms up to ~40: the claim across stacks is equality to rounding."""
    logits, labels, _ = logits_and_labels(seed)
    a = bce_terms_log_sigmoid(logits, labels)
    b = bce_terms_max_exp(logits, labels)
    assert a.abs().max() > 10  # terms of every size are compared
    torch.testing.assert_close(a, b, rtol=1e-6, atol=2e-6)
    # and they do differ somewhere: one of them is torch's, not both
    assert not torch.equal(a, b)
