"""DropLoss's randomness, specified: each background x tail term is kept
with probability r, independently of every other term (the paper's
definition: one Bernoulli(r) draw per element)."""
import math

import pytest
import torch

from mmdet_droploss.models import drop_keep_ratio, drop_loss_weight

NUM_ROIS, NUM_FREQUENT, NUM_TAIL = 2000, 10, 50
R = 0.3


@pytest.fixture(scope='module')
def keep() -> torch.Tensor:
    """The keep indicators of 2,000 background rows x 50 tail columns at
    r = 0.3 (3 of 10 foreground RoIs tail), as float 0/1."""
    num_classes = NUM_FREQUENT + NUM_TAIL
    tail = torch.arange(num_classes) >= NUM_FREQUENT
    labels = torch.tensor([10, 11, 12] + [0] * 7 + [num_classes] * NUM_ROIS)
    r = drop_keep_ratio(labels, tail)
    assert r.item() == pytest.approx(R)
    w = drop_loss_weight(labels, tail, r,
                         generator=torch.Generator().manual_seed(0))
    assert torch.all(w[10:, :NUM_FREQUENT] == 1)  # frequent terms all kept
    return w[10:, NUM_FREQUENT:]


def test_each_tail_column_is_kept_at_rate_r(keep):
    sigma = math.sqrt(R * (1 - R) / NUM_ROIS)
    rates = keep.mean(0)
    assert (rates - R).abs().max() < 5 * sigma


def test_columns_are_uncorrelated(keep):
    """One draw per RoI (a whole row kept or dropped) gives correlation 1
    between tail columns; independent draws give about 0 (at most some
    4.5 / sqrt(N) over the 1,225 pairs by chance)."""
    corr = torch.corrcoef(keep.T)
    off = corr[~torch.eye(NUM_TAIL, dtype=torch.bool)]
    assert off.abs().max() < 5 / math.sqrt(NUM_ROIS)
    assert off.mean().abs() < 0.5 / math.sqrt(NUM_ROIS)


def test_rows_spread_as_binomial(keep):
    """A row keeps Binomial(50, r) terms: variance 50 r (1 - r) = 10.5,
    never all 50 or none (chance: 0.7^50 = 1.8e-8 a row)."""
    per_row = keep.sum(1)
    assert per_row.var().item() == pytest.approx(NUM_TAIL * R * (1 - R),
                                                 rel=0.15)
    assert not ((per_row == 0) | (per_row == NUM_TAIL)).any()


def test_rows_are_uncorrelated(keep):
    """Successive rows draw afresh: the correlation of neighbouring rows'
    indicators is about 0."""
    a, b = keep[:-1].flatten(), keep[1:].flatten()
    corr = torch.corrcoef(torch.stack([a, b]))[0, 1]
    assert corr.abs() < 5 / math.sqrt(a.numel())
