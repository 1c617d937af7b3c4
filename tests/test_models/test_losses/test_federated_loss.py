"""FederatedLoss: BCE over the batch's categories and sampled negatives
(detectron2's ``use_fed_loss``)."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from mmdet_droploss.models import FederatedLoss, federated_classes

FREQ = [0.5, 0.25, 0.04, 0.01, 0.0]  # weights ** 0.5: .707, .5, .2, .1, 0
BG = 5


def build(**kwargs) -> FederatedLoss:
    cfg = dict(type='FederatedLoss', num_classes=5, category_freq=FREQ)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def covered(labels, num_sampled, seed=0):
    weight = torch.tensor(FREQ).sqrt()
    gen = torch.Generator().manual_seed(seed)
    return federated_classes(torch.tensor(labels), weight, num_sampled, gen)


@pytest.mark.parametrize('labels, num_sampled, expected', [
    # as many present categories as the budget: those alone
    ([0, 3, BG], 2, [True, False, False, True, False]),
    # more present than the budget: every present one is kept
    ([0, 2, 3, BG], 1, [True, False, True, True, False]),
    # a budget past every category of weight > 0: all of them, never the
    # category of frequency 0, even when it is a free slot
    ([BG, BG], 5, [True, True, True, True, False]),
    ([4], 5, [True, True, True, True, True]),  # present: covered
])
def test_covered_categories(labels, num_sampled, expected):
    assert covered(labels, num_sampled).tolist() == expected


@pytest.mark.parametrize('seed', range(5))
def test_budget_is_filled_exactly(seed):
    mask = covered([3, BG, BG], 3, seed)
    assert mask[3] and int(mask.sum()) == 3 and not mask[4]


def test_negatives_are_drawn_as_multinomial_without_replacement():
    # one present category (3) and two slots among 0, 1, 2 of weights
    # .707, .5, .2: the inclusion rates match torch.multinomial's
    weight = torch.tensor(FREQ).sqrt()
    labels = torch.tensor([3, BG])
    gen = torch.Generator().manual_seed(0)
    n = 20000
    ours = torch.stack([federated_classes(labels, weight, 3, gen)
                        for _ in range(n)]).float().mean(0)
    prob = weight.clone()
    prob[3] = 0
    ref = torch.zeros(5)
    for _ in range(n):
        ref[torch.multinomial(prob, 2, replacement=False, generator=gen)] += 1
    ref /= n
    assert ours[3] == 1 and ours[4] == 0
    # the exact inclusion probabilities differ between the three (about
    # 0.88, 0.80, 0.32): a uniform draw would give 2/3 each
    assert ours[:3].tolist() == pytest.approx(ref[:3].tolist(), abs=0.015)
    assert ours[0] > ours[1] + 0.04 and ours[1] > ours[2] + 0.3


def test_loss_exact_on_the_covered_columns():
    # present 0 and 2, budget 2: columns 0 and 2 only
    logits = torch.tensor([[1.0, -2.0, 0.5, 3.0, 0.0],
                           [-1.0, 0.0, 2.0, 1.0, -3.0],
                           [0.2, 0.4, -0.6, 0.8, 1.0]], requires_grad=True)
    labels = torch.tensor([0, 2, BG])
    loss = build(num_sampled_classes=2)(logits, labels, avg_factor=3.)
    target = F.one_hot(labels, 6)[:, :5].float()
    terms = F.binary_cross_entropy_with_logits(logits, target,
                                               reduction='none')
    assert loss.item() == pytest.approx(terms[:, [0, 2]].sum().item() / 3,
                                        rel=1e-6)
    loss.backward()
    assert logits.grad[:, [1, 3, 4]].abs().sum() == 0
    assert logits.grad[:, [0, 2]].abs().min() > 0


def test_all_categories_covered_is_plain_bce():
    torch.manual_seed(0)
    logits = torch.randn(6, 5)
    labels = torch.tensor([0, 1, 2, 3, 4, BG])
    target = F.one_hot(labels, 6)[:, :5].float()
    ref = F.binary_cross_entropy_with_logits(logits, target, reduction='sum')
    loss = build(num_sampled_classes=50, reduction='sum')(logits, labels)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


def test_same_seed_same_draws_and_resume():
    torch.manual_seed(3)
    a, b = build(num_sampled_classes=3), build(num_sampled_classes=3)
    logits, labels = torch.zeros(2, 5, requires_grad=True), torch.tensor(
        [BG, BG])

    def draws(loss, k):
        out = []
        for _ in range(k):
            logits.grad = None
            loss(logits, labels, reduction_override='sum').backward()
            out.append((logits.grad[0] != 0).tolist())
        return out

    first = draws(a, 3)
    assert first == draws(b, 3)
    assert len({tuple(d) for d in first + draws(a, 20)}) > 1  # it draws
    state = a.get_rng_state()
    after = draws(a, 3)
    a.set_rng_state(state)
    assert draws(a, 3) == after


def test_empty_batch_joins_the_graph():
    logits = torch.zeros(0, 5, requires_grad=True)
    loss = build()(logits, torch.zeros(0, dtype=torch.long), avg_factor=1.)
    loss.backward()
    assert loss.item() == 0 and logits.grad.shape == (0, 5)


def test_sampled_categories_must_be_positive():
    with pytest.raises(ValueError, match='num_sampled_classes'):
        build(num_sampled_classes=0)


def test_frequencies_are_required():
    loss = build(category_freq=None)
    assert loss.needs_category_freq
    with pytest.raises(RuntimeError, match='CategoryFrequencyHook'):
        loss(torch.zeros(2, 5), torch.tensor([0, BG]))
