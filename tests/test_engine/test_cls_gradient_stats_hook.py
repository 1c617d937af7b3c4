"""ClsGradientStatsHook: per-category gradient accounting, checked by hand."""
import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmdet.registry import HOOKS, MODELS
from mmengine.optim import OptimWrapper

from mmdet_droploss.engine.cls_gradient_stats_hook import STAT_NAMES

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


class FixedScaler:
    """``GradScaler``'s interface with a scale that stays as set: the loss
    is multiplied by it on the device (``scale``); ``step`` unscales the
    parameters' gradients and skips the step when one is not finite.
    ``get_scale``, GradScaler's read of the scale back to the host (a sync
    on CUDA), fails: the hook must not call it at every iteration."""

    def __init__(self, value: float) -> None:
        self.value = value

    def is_enabled(self) -> bool:
        return True

    def get_scale(self) -> float:
        raise AssertionError('get_scale() reads the scale back to the host')

    def scale(self, outputs: torch.Tensor) -> torch.Tensor:
        # GradScaler keeps its scale as a float32 tensor
        return outputs * torch.tensor(self.value, dtype=torch.float32)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        grads = [p.grad for group in optimizer.param_groups
                 for p in group['params'] if p.grad is not None]
        if all(bool(g.isfinite().all()) for g in grads):
            for g in grads:
                g.div_(self.value)
            optimizer.step()

    def update(self, new_scale=None) -> None:
        pass


class ScaledOptimWrapper(OptimWrapper):
    """MMEngine's ``AmpOptimWrapper`` (CUDA only) without autocast, on the
    CPU: the same ``backward`` and ``step`` around ``loss_scaler``."""

    def __init__(self, scaler, **kwargs) -> None:
        super().__init__(**kwargs)
        self.loss_scaler = scaler

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()


def training_run(tmp_path, mode, freq, interval=1, scale=None):
    model = nn.Module()
    model.loss_cls = MODELS.build(
        dict(type='DropLoss', num_classes=3, lambda_=0.01, mode=mode,
             category_freq=freq, return_dict=False))
    model.logits = nn.Parameter(torch.zeros(len(LABELS), 3))
    optimizer = torch.optim.SGD([model.logits], lr=0)
    if scale is None:
        optim_wrapper = OptimWrapper(optimizer)
    else:
        if not hasattr(scale, 'scale'):
            scale = FixedScaler(scale)
        optim_wrapper = ScaledOptimWrapper(scale, optimizer=optimizer)
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=0,
                             optim_wrapper=optim_wrapper)
    hook = HOOKS.build(dict(type='ClsGradientStatsHook', interval=interval))
    hook.before_train(runner)
    return model, runner, hook


def step(model, runner, hook, labels=LABELS):
    # all logits 0 (lr 0 keeps them): the gradients of the table above
    logits = model.logits * 1
    runner.optim_wrapper.update_params(
        model.loss_cls(logits, torch.tensor(labels)))
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


@pytest.mark.parametrize('scale', [1024.0, 3.0])
def test_amp_gradients_are_unscaled_and_skipped_steps_left_out(
        tmp_path, scale):
    """The sums equal the unscaled run's; an iteration whose scaled
    gradients overflow (the scaler skips the step) adds nothing."""
    model, runner, hook = training_run(tmp_path, 'eql', CASES[1][1],
                                       interval=10, scale=scale)
    step(model, runner, hook)
    runner.optim_wrapper.loss_scaler.value = 1e39  # float32 overflow: inf
    step(model, runner, hook)
    hook.after_train(runner)
    stats = json.loads((tmp_path / 'cls_grad_stats.json').read_text())
    assert stats['iters_summed'] == 1 and stats['iters_skipped'] == 1
    loss_stats = stats['losses']['loss_cls']
    _, _, pos, neg_fg, neg_bg = CASES[1]
    assert loss_stats['pos'] == pytest.approx(pos, rel=1e-6)
    assert loss_stats['neg_fg'] == pytest.approx(neg_fg, rel=1e-6)
    assert loss_stats['neg_bg'] == pytest.approx(neg_bg, rel=1e-6)


def test_detached_after_training_and_idle_in_eval(tmp_path):
    model, runner, hook = training_run(tmp_path, 'bce', None)
    model.eval()
    logits = torch.zeros(3, 3, requires_grad=True)
    model.loss_cls(logits, torch.tensor(LABELS)).backward()
    hook.after_train(runner)
    model.train()
    runner.iter = 5
    step(model, runner, hook)
    stats = json.loads((tmp_path / 'cls_grad_stats.json').read_text())
    assert stats['losses']['loss_cls']['pos'] == [0.0, 0.0, 0.0]


def test_model_without_droploss_is_an_error(tmp_path):
    runner = SimpleNamespace(model=nn.Linear(2, 2), work_dir=str(tmp_path),
                             iter=0, optim_wrapper=None)
    hook = HOOKS.build(dict(type='ClsGradientStatsHook'))
    with pytest.raises(ValueError, match='found no DropLoss'):
        hook.before_train(runner)


def test_bad_interval():
    with pytest.raises(ValueError, match='interval must be >= 1'):
        HOOKS.build(dict(type='ClsGradientStatsHook', interval=0))




def torch_grad_scaler(init_scale: float):
    """PyTorch's own ``GradScaler`` on the CPU (torch >= 2.3)."""
    if not hasattr(torch.amp, 'GradScaler'):
        pytest.skip('torch.amp.GradScaler needs torch >= 2.3')
    return torch.amp.GradScaler('cpu', init_scale=init_scale)


@pytest.mark.parametrize('scaler', ['fixed', 'torch'])
@pytest.mark.parametrize('num_bg', [31, 63, 511])
def test_float16_gradients_are_unscaled_in_float64(tmp_path, scaler,
                                                   num_bg):
    """Under --amp on CUDA the logits are float16 and their gradient
    arrives in float16, times the loss scale (65536, GradScaler's start).
    A background RoI's gradient at a logit of -12, sigmoid(-12) / N, is
    6e-8 to 1.2e-8 for N = 32 to 512 RoIs: at or below float16's smallest
    number once divided by the scale in float16 (7% low, 24% high, 0).
    Divided in float64, the sums are the float64 quotients of the float16
    gradient the backward pass produced."""
    scale = 65536.0
    model, runner, hook = training_run(
        tmp_path, 'bce', None, interval=10,
        scale=scale if scaler == 'fixed' else torch_grad_scaler(scale))
    # float32 parameters, float16 logits: what autocast does to fc_cls
    model.logits = nn.Parameter(torch.full((num_bg + 1, 3), -12.0))
    runner.optim_wrapper.optimizer.param_groups[0]['params'] = [model.logits]
    logits = model.logits.half()
    seen = []
    logits.register_hook(seen.append)
    runner.optim_wrapper.update_params(
        model.loss_cls(logits, torch.tensor([0] + [3] * num_bg)))
    hook.after_train_iter(runner, 0)
    hook.after_train(runner)

    grad = seen[0]
    assert grad.dtype == torch.float16
    unscaled = grad.double().abs() / scale
    # the case is one where float16 division loses the background terms
    assert not torch.allclose((grad[1:].abs() / scale).double(),
                              unscaled[1:], rtol=0.05, atol=0)
    stats = json.loads((tmp_path / 'cls_grad_stats.json').read_text())
    assert stats['iters_summed'] == 1
    loss_stats = stats['losses']['loss_cls']
    expected = dict(
        pos=[unscaled[0, 0].item(), 0.0, 0.0],
        neg_fg=[0.0, *unscaled[0, 1:].tolist()],
        neg_bg=unscaled[1:].sum(0).tolist())
    for name, values in expected.items():
        assert loss_stats[name] == pytest.approx(values, rel=1e-12, abs=0)


def test_sums_stay_on_the_gradient_device_between_writes():
    """No copy to the host per iteration: the sums are kept where the
    gradient is, and the scale is a tensor there too (the meta device
    stands in for CUDA here: any read of a value would raise). The hook
    tests above use a scaler whose host read, get_scale(), raises."""
    from mmdet_droploss.engine.cls_gradient_stats_hook import (
        accumulate_cls_gradient,
    )
    stats = torch.zeros(3, 4, dtype=torch.float64, device='meta')
    grad = torch.zeros(6, 4, device='meta', dtype=torch.float16)
    labels = torch.tensor([0, 2, 4, 4, 3, 1], device='meta')
    scale = torch.full((), 65536.0, dtype=torch.float64, device='meta')
    accumulate_cls_gradient(stats, grad, labels, scale)
    assert stats.device.type == 'meta' and stats.dtype == torch.float64
