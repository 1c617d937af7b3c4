import json
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from mmdet_droploss.models import (
    DropLoss,
    drop_keep_ratio,
    drop_loss_weight,
)

LOG2 = math.log(2)
# C = 4; with lambda 0.00177 categories 2 and 3 are tail.
FREQ = [0.5, 0.1, 0.001, 0.0001]
BG = 4


def build(**kwargs) -> DropLoss:
    cfg = dict(type='DropLoss', num_classes=4, category_freq=FREQ)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def zeros_loss(labels, **kwargs) -> torch.Tensor:
    """Loss of all-zero logits: log 2 per kept term, over N."""
    labels = torch.tensor(labels)
    out = build(**kwargs)(torch.zeros(len(labels), 4), labels)
    return out['loss_cls'], out['drop_keep_ratio']


@pytest.mark.parametrize(
    'labels, kept_terms, keep_ratio',
    [
        # every foreground RoI tail (r = 1): background rows keep all 4
        # terms, foreground rows drop the other tail column (3 + 3 + 4 + 4)
        ([2, 3, BG, BG], 14, 1.0),
        # no tail foreground RoI (r = 0): every tail term of a background
        # row goes, foreground rows keep their 2 frequent columns
        ([0, 1, BG, BG], 8, 0.0),
        # no foreground RoI: r is undefined and every term is kept
        ([BG, BG, BG], 12, 1.0),
        # foreground only, mixed: 2 (label 0) + 3 (label 2)
        ([0, 2], 5, 0.5),
    ])
def test_kept_terms_match_the_spec(labels, kept_terms, keep_ratio):
    loss, r = zeros_loss(labels)
    assert r.item() == pytest.approx(keep_ratio)
    assert loss.item() == pytest.approx(kept_terms * LOG2 / len(labels))


def test_weights_exact():
    labels = torch.tensor([0, 2, BG, BG])
    tail = torch.tensor([False, False, True, True])
    w = drop_loss_weight(labels, tail, torch.tensor(1.0))
    expected = torch.tensor([[1., 1., 0., 0.], [1., 1., 1., 0.],
                             [1., 1., 1., 1.], [1., 1., 1., 1.]])
    assert torch.equal(w, expected)
    w = drop_loss_weight(labels, tail, torch.tensor(0.0))
    expected[2:, 2:] = 0
    assert torch.equal(w, expected)


@pytest.mark.parametrize('mode', ['drop', 'eql', 'bce'])
def test_empty_tail_set_is_plain_bce(mode):
    torch.manual_seed(0)
    logits = torch.randn(6, 4) * 3
    labels = torch.tensor([0, 1, 2, 3, BG, BG])
    loss = build(mode=mode, category_freq=[0.5] * 4)(logits, labels)
    target = F.one_hot(labels, 5)[:, :4].float()
    ref = F.binary_cross_entropy_with_logits(
        logits, target, reduction='sum') / 6
    assert loss['loss_cls'].item() == pytest.approx(ref.item(), rel=1e-6)


def test_eql_mode_keeps_background_terms():
    # labels without a tail RoI: DropLoss would drop (r = 0), EQL keeps
    loss, r = zeros_loss([0, 1, BG, BG], mode='eql')
    assert r.item() == 1.0
    assert loss.item() == pytest.approx(12 * LOG2 / 4)


def test_bce_mode_needs_no_frequencies():
    loss = MODELS.build(dict(type='DropLoss', num_classes=4, mode='bce'))
    out = loss(torch.zeros(2, 4), torch.tensor([0, BG]))
    assert out['loss_cls'].item() == pytest.approx(4 * LOG2)


def test_keep_probability_is_r():
    torch.manual_seed(0)
    num_classes = 60
    tail = torch.zeros(num_classes, dtype=torch.bool)
    tail[10:] = True
    # 3 of 10 foreground RoIs are tail: r = 0.3
    labels = torch.tensor([10, 11, 12] + [0] * 7 + [num_classes] * 2000)
    r = drop_keep_ratio(labels, tail)
    assert r.item() == pytest.approx(0.3)
    w = drop_loss_weight(labels, tail, r)
    bg_tail = w[10:, 10:]
    n = bg_tail.numel()
    sigma = math.sqrt(0.3 * 0.7 / n)
    assert abs(bg_tail.mean().item() - 0.3) < 5 * sigma
    # frequent columns of background rows are never dropped
    assert torch.all(w[10:, :10] == 1)
    # a fresh draw per call
    assert not torch.equal(drop_loss_weight(labels, tail, r)[10:, 10:],
                           bg_tail)


def test_dropped_terms_get_no_gradient():
    torch.manual_seed(0)
    logits = torch.randn(4, 4, requires_grad=True)
    labels = torch.tensor([0, 1, BG, BG])  # r = 0: weights deterministic
    build()(logits, labels)['loss_cls'].backward()
    target = F.one_hot(labels, 5)[:, :4].float()
    expected = (logits.detach().sigmoid() - target) / 4
    expected[:, 2:] = 0
    assert torch.allclose(logits.grad, expected, atol=1e-7)


def test_label_weights_avg_factor_and_loss_weight():
    labels = torch.tensor([2, 3, BG, BG])  # 3 + 3 + 4 + 4 kept terms
    loss = build(loss_weight=2.0)(
        torch.zeros(4, 4), labels,
        label_weights=torch.tensor([1., 1., 1., 0.]), avg_factor=2)
    assert loss['loss_cls'].item() == pytest.approx(2 * 10 * LOG2 / 2)


@pytest.mark.parametrize('reduction, shape', [('none', (4, )), ('sum', ()),
                                              ('mean', ())])
def test_reduction_override(reduction, shape):
    loss = build(return_dict=False)(
        torch.zeros(4, 4), torch.tensor([2, 3, BG, BG]),
        reduction_override=reduction)
    assert loss.shape == shape
    if reduction == 'none':
        assert torch.allclose(loss, torch.tensor([3., 3., 4., 4.]) * LOG2)


def test_mmdet_loss_contract():
    loss = build()
    with pytest.raises(AssertionError):
        loss(torch.zeros(2, 4), torch.tensor([0, BG]), reduction_override=True)
    with pytest.raises(ValueError, match='avg_factor'):
        loss(torch.zeros(2, 4), torch.tensor([0, BG]), avg_factor=2,
             reduction_override='sum')


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_empty_batch(reduction):
    logits = torch.zeros(0, 4, requires_grad=True)
    loss = build(return_dict=False)(
        logits, torch.zeros(0, dtype=torch.long),
        reduction_override=reduction)
    if reduction == 'none':
        assert loss.shape == (0, )
    else:
        assert loss.item() == 0
        loss.backward()
        assert logits.grad.shape == (0, 4)


def test_activation_channels_accuracy():
    loss = build()
    assert loss.custom_cls_channels and loss.custom_activation \
        and loss.custom_accuracy
    assert loss.get_cls_channels(4) == 4
    logits = torch.tensor([[0., 5., -5., 0.], [9., 0., 0., 0.]])
    scores = loss.get_activation(logits)
    assert scores.shape == (2, 5)
    assert torch.allclose(scores[:, :4], logits.sigmoid())
    assert torch.equal(scores[:, 4], torch.zeros(2))
    acc = loss.get_accuracy(logits, torch.tensor([1, 2]))
    assert acc['acc'].item() == pytest.approx(50.0)


def test_frequencies_travel_in_the_state_dict():
    state = build().state_dict()
    fresh = MODELS.build(dict(type='DropLoss', num_classes=4))
    assert fresh.needs_category_freq
    fresh.load_state_dict(state)
    assert not fresh.needs_category_freq
    assert fresh.tail_mask.tolist() == [False, False, True, True]


def test_frequency_file_waits_for_the_dataset_label_order(tmp_path):
    """A file is keyed by category id: the loss keeps the table until
    CategoryFrequencyHook maps it into the training dataset's labels."""
    path = tmp_path / 'freq.json'
    cats = [dict(id=10 + i, name=f'c{i}', frequency=f)
            for i, f in enumerate(FREQ)]
    path.write_text(json.dumps({'categories': cats}))
    loss = build(category_freq=str(path))
    assert loss.named_freq.cat_ids == [10, 11, 12, 13]
    assert loss.named_freq.frequencies == FREQ
    assert loss.needs_category_freq
    with pytest.raises(RuntimeError, match='keyed by category id; add '
                       '.*CategoryFrequencyHook'):
        loss.tail_mask


@pytest.mark.parametrize('content', [{'frequencies': FREQ}, FREQ])
def test_frequency_file_without_category_ids_is_refused(tmp_path, content):
    """A bare list in a file does not say which category each number is
    (only a list in the config is in label order, by definition)."""
    path = tmp_path / 'freq.json'
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match='does not say which category .*'
                       'export_category_freq.py'):
        build(category_freq=str(path))


def test_lambda_is_a_config_value():
    loss = build(lambda_=0.2)
    assert loss.tail_mask.tolist() == [False, True, True, True]


@pytest.mark.parametrize(
    'kwargs, error, message',
    [
        (dict(lambda_=0), ValueError, r'lambda_ must lie in \(0, 1\)'),
        (dict(lambda_=1.5), ValueError, r'lambda_ must lie in \(0, 1\)'),
        (dict(mode='focal'), ValueError, 'mode must be one of'),
        (dict(category_freq=[0.1] * 3), ValueError,
         'has 3 entries but num_classes is 4'),
        (dict(category_freq=[0.1, 0.2, 1.5, 0.1]), ValueError,
         'Entry 2 .* is 1.5'),
        (dict(category_freq='/no/such/freq.json'), FileNotFoundError,
         'does not exist'),
        (dict(num_classes=0), ValueError, 'positive int'),
    ])
def test_bad_config_is_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        build(**kwargs)


def test_bad_json_file_is_named(tmp_path):
    path = tmp_path / 'freq.json'
    path.write_text('{not json')
    with pytest.raises(ValueError, match='freq.json.*not valid JSON'):
        build(category_freq=str(path))


def test_training_without_frequencies_stops_clearly():
    loss = MODELS.build(dict(type='DropLoss', num_classes=4))
    with pytest.raises(RuntimeError, match='CategoryFrequencyHook'):
        loss(torch.zeros(2, 4), torch.tensor([0, BG]))


def test_head_and_loss_class_count_must_agree():
    with pytest.raises(ValueError, match='num_classes=5 .* num_classes=4'):
        build().get_cls_channels(5)


def test_wrong_logit_width():
    with pytest.raises(ValueError, match='5 columns'):
        build()(torch.zeros(2, 5), torch.tensor([0, BG]))


def test_real_lvis_v1_tail_sets(lvis_stats):
    stats = lvis_stats('v1')
    cats = sorted(stats['categories'], key=lambda c: c['id'])
    freq = [c['image_count'] / stats['num_annotated_images'] for c in cats]
    loss = MODELS.build(
        dict(type='DropLoss', num_classes=1203, category_freq=freq))
    tail = loss.tail_mask
    # the spec: 876 tail categories at 0.00177, all rare and common ones
    # and 78 frequent ones; 798 (rare + common) at 0.0010062
    assert int(tail.sum()) == 876
    groups = [c['frequency'] for c in cats]
    assert all(tail[i] for i, g in enumerate(groups) if g in 'rc')
    assert sum(bool(tail[i]) for i, g in enumerate(groups) if g == 'f') == 78
    loss = MODELS.build(
        dict(type='DropLoss', num_classes=1203, lambda_=0.0010062,
             category_freq=freq))
    assert int(loss.tail_mask.sum()) == 798


def paper_weight(labels, tail, r, uniforms) -> torch.Tensor:
    """w_ij from the paper's definition, element by element: frequent
    columns 1; a foreground row's tail column 1 at its label only; a
    background row's tail column 1 when that element's uniform is below
    r (``uniforms``: one per RoI x tail column)."""
    num_classes = len(tail)
    tail_cols = tail.nonzero().flatten().tolist()
    w = torch.ones(len(labels), num_classes)
    for i, label in enumerate(labels.tolist()):
        for k, j in enumerate(tail_cols):
            w[i, j] = (label == j) if label < num_classes else (
                uniforms[i, k].item() < r)
    return w


@pytest.mark.parametrize('mode', ['drop', 'eql'])
def test_equal_to_dense_bce_with_weights(mode):
    """The fused loss equals binary_cross_entropy_with_logits with the same
    weights, loss and gradient (the draws seeded alike)."""
    torch.manual_seed(0)
    num_classes = 50
    logits = (torch.randn(300, num_classes) * 8).requires_grad_()
    labels = torch.randint(0, num_classes + 1, (300, ))
    labels[torch.rand(300) < 0.6] = num_classes
    freq = (torch.rand(num_classes) * 0.004).tolist()
    loss = DropLoss(num_classes=num_classes, category_freq=freq, mode=mode,
                    return_dict=False)
    # the loss draws from a generator of its own: the reference draws
    # from a copy of it
    draws = torch.Generator().set_state(
        loss.generator(logits.device).get_state())
    ours = loss(logits, labels, reduction_override='none')
    (grad, ) = torch.autograd.grad(ours.sum(), logits)

    tail = loss.tail_mask
    r = (tail[labels[labels < num_classes]].float().mean().item()
         if mode == 'drop' else 1.0)
    # the contract: one uniform per RoI x tail element, row by row
    uniforms = torch.rand(len(labels), int(tail.sum()), generator=draws)
    weight = paper_weight(labels, tail, r, uniforms)
    target = F.one_hot(labels, num_classes + 1)[:, :num_classes].float()
    ref = F.binary_cross_entropy_with_logits(
        logits, target, weight=weight, reduction='none').sum(dim=1)
    (ref_grad, ) = torch.autograd.grad(ref.sum(), logits)
    # equal bit for bit on torch >= 2.2; torch 2.1 rounds its BCE formula
    # differently: measured 1.9e-7 relative on these sums of ~50 terms
    torch.testing.assert_close(ours, ref, rtol=5e-7, atol=1e-6)
    assert torch.equal(grad, ref_grad)  # the same backward formula


@pytest.mark.parametrize('lambda_, num_tail', [(1e-5, 0), (0.9, 4)])
def test_lambda_with_empty_or_full_tail_warns(lambda_, num_tail):
    """Decision: a warning, not an error. A small custom dataset may have no
    category below lambda, and the loss is then plain BCE by definition."""
    with pytest.warns(UserWarning, match=f'puts {num_tail} of 4 categories '
                      'in the tail set'):
        build(lambda_=lambda_)


@pytest.mark.parametrize('labels', [[BG, BG, BG], [0, 1, 2, 3], [2, 3]])
def test_gradient_equals_the_spec(labels):
    """d loss / dz = w * (sigmoid(z) - t) / N, with w = 1 wherever the
    spec keeps a term: every term of a batch without foreground, and all
    but the other tail columns of foreground rows."""
    labels = torch.tensor(labels)
    logits = torch.zeros(len(labels), 4, requires_grad=True)
    build()(logits, labels)['loss_cls'].backward()
    fg = labels < BG
    target = F.one_hot(labels.clamp(max=3), 4).float() * fg[:, None]
    weight = torch.ones(len(labels), 4)
    tail = torch.tensor([False, False, True, True])
    weight[fg] = (~tail | (target[fg] > 0)).float()
    expected = weight * (0.5 - target) / len(labels)
    assert torch.equal(logits.grad, expected)


@pytest.mark.parametrize('mode', ['drop', 'eql', 'bce'])
def test_forward_and_backward_read_nothing_back_from_the_device(mode):
    """On the meta device tensors hold no data, so anything that reads a
    value back to the host (``.item()``, ``bool(t)``, ``nonzero()``, masked
    indexing: a host-device synchronisation on CUDA) raises there. The
    tail indices are cached when the frequencies are set."""
    loss = build(mode=mode).to('meta')
    assert loss.tail_inds.device.type == 'meta'
    logits = torch.zeros(6, 4, device='meta', requires_grad=True)
    labels = torch.tensor([0, 2, 4, 4, 3, 1], device='meta')
    out = loss(logits, labels, torch.ones(6, device='meta'), avg_factor=6.)
    out['loss_cls'].backward()
    assert logits.grad.shape == (6, 4)
    assert out['drop_keep_ratio'].device.type == 'meta'


def test_cached_tail_follows_the_frequencies():
    loss = build()
    assert loss.tail_inds.tolist() == [2, 3]
    loss.set_category_freq([0.0001, 0.5, 0.5, 0.5])
    assert loss.tail_inds.tolist() == [0]
    # a state dict (checkpoint) sets them too
    loss.load_state_dict(build().state_dict())
    assert loss.tail_inds.tolist() == [2, 3]
    assert loss.tail_mask.tolist() == [False, False, True, True]


def test_frequency_at_lambda_is_not_tail():
    # the tail set is f_j < lambda, strictly (lambda 0.00177 here)
    loss = build(category_freq=[0.5, 0.01, 0.00177, 0.0017699])
    assert loss.tail_mask.tolist() == [False, False, False, True]
