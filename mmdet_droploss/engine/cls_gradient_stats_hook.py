# Copyright (c) mmdet-droploss contributors. All rights reserved.
import json
import os.path as osp
from functools import partial
from typing import Union

import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce, is_main_process
from mmengine.hooks import Hook
from torch import Tensor

from mmdet_droploss.models import drop_losses
from mmdet_droploss.models.drop_loss_ops import target_columns

STAT_NAMES = ('pos', 'neg_fg', 'neg_bg')


def accumulate_cls_gradient(stats: Tensor, grad: Tensor, labels: Tensor,
                            loss_scale: Union[float, Tensor] = 1.0) -> None:
    """Add one iteration's per-category logit gradient magnitudes to
    ``stats``, unscaled in float64 (in float16 the smallest terms vanish).

    Args:
        stats (Tensor): Float64 (3, C) sums, one row per :data:`STAT_NAMES`:
            ``|dL/dz_ij|`` with ``j`` RoI i's label, and the negative
            gradient from foreground RoIs of other categories and from
            background RoIs.
        grad (Tensor): dL/dz (N, C), times ``loss_scale``.
        labels (Tensor): Labels (N, ), C for background.
        loss_scale (float | Tensor): The AMP scale the loss was multiplied
            by. Defaults to 1.
    """
    mag = grad.detach().double().abs_().div_(loss_scale)
    # background rows (label C) add a zero at column C - 1
    col, fg = target_columns(labels, grad.size(1))
    pos = mag.new_zeros(grad.size(1)).index_add_(
        0, col[:, 0], (mag.gather(1, col) * fg)[:, 0])
    stats[0] += pos
    stats[1] += (mag * fg).sum(0) - pos
    stats[2] += (mag * ~fg).sum(0)


@HOOKS.register_module()
class ClsGradientStatsHook(Hook):
    """Sum :func:`accumulate_cls_gradient` of every DropLoss over steps and
    ranks into ``<work_dir>/<out_file>`` every ``interval`` iterations and at
    the end; gradients count at the optimizer step that applies them, those
    of steps the AMP scaler skipped count in ``iters_skipped``.

    Args:
        interval (int): Iterations between writes. Defaults to 500.
        out_file (str): File name in the work dir. Defaults to
            'cls_grad_stats.json'.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 500,
                 out_file: str = 'cls_grad_stats.json') -> None:
        if interval < 1:
            raise ValueError(f'ClsGradientStatsHook interval must be >= 1, '
                             f'got {interval}.')
        self.interval = interval
        self.out_file = out_file
        self._handles = []
        self._num_summed = self._num_pending = self._num_skipped = 0
        self._stepped = False

    def before_train(self, runner) -> None:
        self._losses = drop_losses(runner.model)
        if not self._losses:
            raise ValueError(
                'ClsGradientStatsHook found no DropLoss in the model; it '
                "analyses DropLoss heads (use mode='bce' for plain sigmoid "
                'BCE) — remove the hook or switch the loss.')
        self._optim_wrapper = getattr(runner, 'optim_wrapper', None)
        if not hasattr(self._optim_wrapper, 'optimizer'):
            raise ValueError(
                "ClsGradientStatsHook needs the runner's single optim "
                'wrapper to tell the steps taken from those skipped, got '
                f'{type(self._optim_wrapper).__name__}; remove the hook for '
                'this model.')
        self._handles.append(
            self._optim_wrapper.optimizer.register_step_post_hook(
                lambda *_: setattr(self, '_stepped', True)))
        # the sums move to the gradient's device at its first iteration
        self._stats = {
            name: torch.zeros(len(STAT_NAMES), loss.num_classes,
                              dtype=torch.float64)
            for name, loss in self._losses
        }
        self._pending = {k: v.clone() for k, v in self._stats.items()}
        for name, loss in self._losses:
            self._handles.append(loss.register_forward_pre_hook(
                partial(self._pre_hook, name), with_kwargs=True))

    def _pre_hook(self, name: str, module, args: tuple, kwargs: dict) -> None:
        cls_score = args[0] if args else kwargs['cls_score']
        labels = args[1] if len(args) > 1 else kwargs['labels']
        if not (module.training and cls_score.requires_grad):
            return

        def accumulate(grad: Tensor) -> None:
            if self._pending[name].device != grad.device:
                self._pending[name] = self._pending[name].to(grad.device)
                self._stats[name] = self._stats[name].to(grad.device)
            scale = 1.0
            scaler = getattr(self._optim_wrapper, 'loss_scaler', None)
            if scaler is not None and scaler.is_enabled():
                # on the device, as get_scale() is not (a power of 2: exact)
                scale = scaler.scale(
                    torch.ones((), dtype=torch.float64, device=grad.device))
            accumulate_cls_gradient(self._pending[name], grad, labels, scale)

        cls_score.register_hook(accumulate)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._num_pending += 1
        update = self._stepped or self._optim_wrapper.should_update()
        if self._stepped:
            for name in self._stats:
                self._stats[name] += self._pending[name]
            self._num_summed += self._num_pending
        elif update:  # an update iteration without a step: skipped
            self._num_skipped += self._num_pending
        if update:
            for pending in self._pending.values():
                pending.zero_()
            self._num_pending = 0
        self._stepped = False
        if self.every_n_train_iters(runner, self.interval):
            self._write(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        self._write(runner, runner.iter)
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _write(self, runner, num_iters: int) -> None:
        stats = {}
        for name, loss in self._losses:
            total = self._stats[name].clone()
            all_reduce(total)  # on the group's device; a no-op on one rank
            stats[name] = dict(
                {k: total[i].tolist() for i, k in enumerate(STAT_NAMES)},
                # None where unset (mode='bce' needs no frequencies)
                category_freq=[None if f != f else f
                               for f in loss.category_freq.tolist()],
                tail=loss.tail_mask.cpu().tolist(),
                mode=loss.mode,
                lambda_=loss.lambda_)
        if is_main_process():
            # sums start at zero in every run, a resumed one included
            with open(osp.join(runner.work_dir, self.out_file), 'w',
                      encoding='utf-8') as f:
                json.dump(dict(iter=num_iters, iters_summed=self._num_summed,
                               iters_skipped=self._num_skipped,
                               losses=stats), f)
