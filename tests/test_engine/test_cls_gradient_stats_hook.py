"""ClsGradientStatsHook: per-category gradient accounting, checked by hand."""
import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from mmdet.registry import HOOKS, MODELS
from mmdet_droploss.engine.hooks.cls_gradient_stats_hook import STAT_NAMES

SIXTH = 1 / 6
# 3 RoIs (labels 0, 2 and background) on 3 categories, all logits 0: every
# term's gradient is (sigmoid(0) - t) / N = +-0.5 / 3 = +-1/6.
LABELS = [0, 2, 3]
CASES = [
    # mode, frequencies, pos, neg_fg, neg_bg
    ('bce', None, [SIXTH, 0, SIXTH], [SIXTH, 2 * SIXTH, SIXTH],
     [SIXTH] * 3),
    # category 2 is tail: RoI 0 (label 0) no longer discourages it
    ('eql', [0.5, 0.5, 0.001], [SIXTH, 0, SIXTH], [SIXTH, 2 * SIXTH, 0],
     [SIXTH] * 3),
]


def training_run(tmp_path, mode, freq, interval=1):
    model = nn.Module()
    model.loss_cls = MODELS.build(
        dict(type='DropLoss', num_classes=3, lambda_=0.01, mode=mode,
             category_freq=freq, return_dict=False))
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=0)
    hook = HOOKS.build(dict(type='ClsGradientStatsHook', interval=interval))
    hook.before_train(runner)
    return model, runner, hook


def step(model, runner, hook, labels=LABELS):
    logits = torch.zeros(len(labels), 3, requires_grad=True)
    model.loss_cls(logits, torch.tensor(labels)).backward()
    hook.after_train_iter(runner, runner.iter)
    runner.iter += 1


@pytest.mark.parametrize('mode,freq,pos,neg_fg,neg_bg', CASES)
def test_hand_computed_sums(tmp_path, mode, freq, pos, neg_fg, neg_bg):
    model, runner, hook = training_run(tmp_path, mode, freq)
    step(model, runner, hook)
    stats = json.loads((tmp_path / 'cls_grad_stats.json').read_text())
    assert stats['iter'] == 1
    loss_stats = stats['losses']['loss_cls']
    assert loss_stats['pos'] == pytest.approx(pos, rel=1e-6)
    assert loss_stats['neg_fg'] == pytest.approx(neg_fg, rel=1e-6)
    assert loss_stats['neg_bg'] == pytest.approx(neg_bg, rel=1e-6)
    assert loss_stats['mode'] == mode
    assert set(STAT_NAMES) <= set(loss_stats)


def test_sums_accumulate_and_are_written_every_interval(tmp_path):
    model, runner, hook = training_run(tmp_path, 'bce', None, interval=2)
    out = tmp_path / 'cls_grad_stats.json'
    step(model, runner, hook)
    assert not out.exists()
    step(model, runner, hook)
    step(model, runner, hook, labels=[3, 3, 3])  # background only
    hook.after_train(runner)
    stats = json.loads(out.read_text())
    assert stats['iter'] == 3 and stats['iters_summed'] == 3
    loss_stats = stats['losses']['loss_cls']
    assert loss_stats['pos'] == pytest.approx([2 * SIXTH, 0, 2 * SIXTH])
    assert loss_stats['neg_bg'] == pytest.approx([2 * SIXTH + 0.5] * 3)
    # unset frequencies (plain BCE needs none) are written as null
    assert loss_stats['category_freq'] == [None] * 3


def test_detached_after_training_and_idle_in_eval(tmp_path):
    model, runner, hook = training_run(tmp_path, 'bce', None)
    model.eval()
    logits = torch.zeros(3, 3, requires_grad=True)
    model.loss_cls(logits, torch.tensor(LABELS)).backward()
    hook.after_train(runner)
    model.train()
    step(model, SimpleNamespace(model=model, work_dir=str(tmp_path),
                                iter=5), hook)
    stats = json.loads((tmp_path / 'cls_grad_stats.json').read_text())
    assert stats['losses']['loss_cls']['pos'] == [0.0, 0.0, 0.0]


def test_model_without_droploss_is_an_error(tmp_path):
    runner = SimpleNamespace(model=nn.Linear(2, 2), work_dir=str(tmp_path),
                             iter=0)
    hook = HOOKS.build(dict(type='ClsGradientStatsHook'))
    with pytest.raises(ValueError, match='found no DropLoss'):
        hook.before_train(runner)


def test_bad_interval():
    with pytest.raises(ValueError, match='interval must be >= 1'):
        HOOKS.build(dict(type='ClsGradientStatsHook', interval=0))
