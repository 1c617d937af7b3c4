"""DropLoss's BCE terms follow the installed torch's own formula."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_droploss.models.losses.drop_loss_ops import (
    bce_terms,
    bce_terms_log_sigmoid,
    bce_terms_max_exp,
)


def logits_and_targets(seed: int):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(200, 60, generator=g) * 10
    target = torch.rand(200, 60, generator=g) < 0.1
    return logits, target


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_terms_equal_torch_bit_for_bit(seed):
    logits, target = logits_and_targets(seed)
    ref = F.binary_cross_entropy_with_logits(
        logits, target.float(), reduction='none')
    assert torch.equal(bce_terms(logits, target), ref)


@pytest.mark.parametrize('seed', [0, 1])
def test_the_two_formulas_agree_to_rounding(seed):
    """torch 2.1 and torch >= 2.2 round differently, by at most ~1e-6 on
    terms up to ~40: the claim across stacks is equality to rounding."""
    logits, target = logits_and_targets(seed)
    a = bce_terms_log_sigmoid(logits, target)
    b = bce_terms_max_exp(logits, target)
    assert a.abs().max() > 10  # terms of every size are compared
    torch.testing.assert_close(a, b, rtol=1e-6, atol=2e-6)
    # and they do differ somewhere: one of them is torch's, not both
    assert not torch.equal(a, b)
