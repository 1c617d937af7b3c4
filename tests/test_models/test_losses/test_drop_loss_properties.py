"""Invariants of DropLoss over random shapes, labels and frequency tables,
and its numerics at the edges."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mmdet_droploss.models import (
    DropLoss,
    drop_keep_ratio,
    drop_loss_weight,
)


@st.composite
def batches(draw):
    num_classes = draw(st.integers(1, 12))
    num_rois = draw(st.integers(0, 40))
    labels = draw(
        st.lists(st.integers(0, num_classes), min_size=num_rois,
                 max_size=num_rois))
    freq = draw(
        st.lists(st.floats(0, 1), min_size=num_classes,
                 max_size=num_classes))
    lambda_ = draw(st.floats(1e-4, 0.999))
    seed = draw(st.integers(0, 2**16))
    return num_classes, torch.tensor(labels, dtype=torch.long), freq, \
        lambda_, seed


@settings(max_examples=150, deadline=None)
@given(batches())
def test_weights_invariants(batch):
    num_classes, labels, freq, lambda_, seed = batch
    tail = torch.tensor(freq, dtype=torch.float64) < lambda_
    r = drop_keep_ratio(labels, tail)
    assert 0 <= r.item() <= 1
    torch.manual_seed(seed)
    w = drop_loss_weight(labels, tail, r)
    assert w.shape == (len(labels), num_classes)
    assert set(w.unique().tolist()) <= {0.0, 1.0}
    fg = labels < num_classes
    # the target term is never dropped
    assert torch.all(w[fg.nonzero().squeeze(1), labels[fg]] == 1)
    # frequent columns are never dropped
    assert torch.all(w[:, ~tail] == 1)
    # foreground rows are deterministic: only their label among tail columns
    expected_fg = (~tail).float().expand(int(fg.sum()), num_classes).clone()
    expected_fg[torch.arange(int(fg.sum())), labels[fg]] = 1
    assert torch.equal(w[fg], expected_fg)
    # no foreground RoI: everything kept
    if not fg.any():
        assert torch.all(w == 1)


@settings(max_examples=100, deadline=None)
@given(batches())
def test_empty_tail_set_is_plain_bce(batch):
    num_classes, labels, _, _, seed = batch
    torch.manual_seed(seed)
    logits = torch.randn(len(labels), num_classes) * 5
    loss = DropLoss(num_classes=num_classes, lambda_=0.5,
                    category_freq=[1.0] * num_classes, return_dict=False)
    ours = loss(logits, labels, reduction_override='sum')
    target = F.one_hot(labels, num_classes + 1)[:, :num_classes].float()
    ref = F.binary_cross_entropy_with_logits(logits, target, reduction='sum')
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize('scale', [1e4, -1e4])
def test_huge_logits_stay_finite(scale):
    logits = torch.full((4, 3), scale, requires_grad=True)
    labels = torch.tensor([1, 2, 3, 3])  # all foreground tail: r = 1
    loss = DropLoss(num_classes=3, category_freq=[0.5, 0.001, 0.001],
                    return_dict=False)
    value = loss(logits, labels)
    value.backward()
    assert math.isfinite(value.item())
    assert torch.isfinite(logits.grad).all()
    # logits of 1e4: each kept non-target term costs 1e4 (1 + 1 on the
    # foreground rows, 3 + 3 on the background rows), targets cost 0;
    # logits of -1e4: only the two target terms cost 1e4
    assert value.item() == pytest.approx(
        (8 if scale > 0 else 2) * 1e4 / 4, rel=1e-6)


def test_single_class():
    loss = DropLoss(num_classes=1, category_freq=[0.001], return_dict=False)
    # the one class is tail; all-foreground batch: nothing but targets
    value = loss(torch.zeros(3, 1), torch.tensor([0, 0, 0]))
    assert value.item() == pytest.approx(math.log(2))
    # all background: r undefined, every term kept
    value = loss(torch.zeros(3, 1), torch.tensor([1, 1, 1]))
    assert value.item() == pytest.approx(math.log(2))


def test_bfloat16_logits_are_computed_in_float32():
    torch.manual_seed(0)
    logits = torch.randn(64, 10) * 3
    labels = torch.randint(0, 11, (64, ))
    loss = DropLoss(num_classes=10, category_freq=[0.5] * 10,
                    return_dict=False)
    half = loss(logits.bfloat16(), labels)
    assert half.dtype == torch.float32
    # float32 arithmetic on the rounded logits: the same number as the
    # loss of those logits in float32 (a loss in bfloat16 differs by some
    # 1e-3)
    assert half.item() == loss(logits.bfloat16().float(), labels).item()
