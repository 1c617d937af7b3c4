# Copyright (c) mmdet-droploss contributors. All rights reserved.
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch import Tensor, nn

from mmdet_droploss.models.losses import DropLoss, drop_losses

STAT_NAMES = ('pos', 'neg_fg', 'neg_bg')


def accumulate_cls_gradient(stats: Tensor,
                            grad: Tensor,
                            labels: Tensor,
                            loss_scale: Union[float, Tensor] = 1.0) -> None:
    """Add one iteration's classifier-logit gradient magnitudes, per
    category, to ``stats``.

    The gradient is unscaled in float64: under ``--amp`` it arrives in
    float16, multiplied by the loss scale, and the small gradients that
    background RoIs send to tail categories (about 1e-8 at a logit of -12)
    lie below float16's smallest number once divided in float16. Nothing
    is read back from the device.

    Args:
        stats (Tensor): Float64 sums of shape (3, C) on the gradient's
            device, updated in place: row 0 the positive (encouraging)
            gradient, ``|dL/dz_ij|`` where ``j`` is RoI i's label; row 1 the
            negative (discouraging) gradient from foreground RoIs of other
            categories; row 2 the negative gradient from background RoIs.
        grad (Tensor): dL/dz of shape (N, C), times ``loss_scale``.
        labels (Tensor): Labels of shape (N, ), C for background.
        loss_scale (float | Tensor): The factor the loss was multiplied
            by, a number or a tensor on the gradient's device (the AMP
            scaler's scale, not read back to the host). Defaults to 1.
    """
    num_classes = grad.size(1)
    mag = grad.detach().double().abs_().div_(loss_scale)
    fg = labels < num_classes
    # background rows (label C) add a zero at column C - 1
    col = labels.clamp(max=num_classes - 1)
    pos = mag.new_zeros(num_classes).index_add_(
        0, col, mag.gather(1, col[:, None]).squeeze(1) * fg)
    stats[0] += pos
    stats[1] += (mag * fg[:, None]).sum(0) - pos
    stats[2] += (mag * ~fg[:, None]).sum(0)


@HOOKS.register_module()
class ClsGradientStatsHook(Hook):
    """Per-category gradient statistics of the sigmoid classifier.

    The paper's first analysis: how much positive gradient each category
    receives, and how much negative gradient from foreground RoIs of other
    categories versus from background RoIs. For every ``DropLoss`` in the
    model, the gradient of the loss with respect to its logits is taken
    during backward (a tensor hook on the logits, set by a forward pre-hook
    of the loss) and summed per category. Every ``interval`` iterations and
    at the end, the sums over all ranks so far are written to
    ``<work_dir>/cls_grad_stats.json`` (with the iteration reached and the
    number of iterations summed in this run), which
    ``tools/analysis/plot_grad_stats.py`` draws.

    Under ``AmpOptimWrapper`` the gradients are divided by the loss scale
    they were scaled by, in float64 and on their device (the scale is read
    as a tensor there, the sums reach the host only when written), and an
    iteration whose optimizer step the scaler skipped (inf/NaN gradients)
    is left out: gradients are held per iteration and added to the sums
    only when the optimizer steps (with gradient accumulation, at the step
    that applies them).

    Off unless listed in ``custom_hooks``; one line turns it on::

        custom_hooks = [*_base_.custom_hooks,
                        dict(type='ClsGradientStatsHook', interval=500)]

    Args:
        interval (int): Iterations between writes. Defaults to 500.
        out_file (str): File name in the work dir. Defaults to
            'cls_grad_stats.json'.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 500,
                 out_file: str = 'cls_grad_stats.json') -> None:
        if interval < 1:
            raise ValueError(
                f'ClsGradientStatsHook interval must be >= 1, got {interval}.')
        self.interval = interval
        self.out_file = out_file
        self._losses: List[Tuple[str, DropLoss]] = []
        self._stats: Dict[str, Tensor] = {}
        self._pending: Dict[str, Tensor] = {}
        self._handles: List = []
        self._num_summed = 0
        self._num_pending = 0
        self._num_skipped = 0
        self._stepped = False
        self._optim_wrapper = None

    def before_train(self, runner: Runner) -> None:
        """Attach to every DropLoss of the model.

        Args:
            runner (Runner): The runner of the training process.
        """
        self._losses = drop_losses(runner.model)
        if not self._losses:
            raise ValueError(
                'ClsGradientStatsHook found no DropLoss in the model; it '
                "analyses DropLoss heads (use mode='bce' for plain sigmoid "
                'BCE) — remove the hook or switch the loss.')
        optim_wrapper = getattr(runner, 'optim_wrapper', None)
        if not hasattr(optim_wrapper, 'optimizer'):
            raise ValueError(
                'ClsGradientStatsHook needs the runner\'s single optim '
                f'wrapper to tell the steps taken from those skipped, got '
                f'{type(optim_wrapper).__name__}; remove the hook for this '
                'model.')
        self._optim_wrapper = optim_wrapper
        self._handles.append(
            optim_wrapper.optimizer.register_step_post_hook(
                self._on_step))
        for name, loss in self._losses:
            self._stats[name] = torch.zeros(
                len(STAT_NAMES), loss.num_classes, dtype=torch.float64)
            self._pending[name] = torch.zeros_like(self._stats[name])
            self._handles.append(
                loss.register_forward_pre_hook(
                    self._make_pre_hook(name), with_kwargs=True))

    def _on_step(self, optimizer, args, kwargs) -> None:
        self._stepped = True

    def _loss_scale(self, device: torch.device) -> Union[float, Tensor]:
        """The factor the loss was multiplied by before backward.

        Args:
            device (torch.device): The gradient's device.

        Returns:
            float | Tensor: 1 without an enabled AMP scaler, else the
            scaler's scale as a float64 scalar tensor on ``device``.
        """
        scaler = getattr(self._optim_wrapper, 'loss_scaler', None)
        if scaler is None or not scaler.is_enabled():
            return 1.0
        # GradScaler.get_scale() reads the scale back to the host, a sync
        # in the middle of every backward; scale() multiplies by it on the
        # device (the scale is a power of 2: exact in float64)
        return scaler.scale(
            torch.ones((), dtype=torch.float64, device=device))

    def _accumulate(self, name: str, grad: Tensor, labels: Tensor) -> None:
        if self._pending[name].device != grad.device:
            # the sums live on the gradient's device: no copy per iteration
            self._pending[name] = self._pending[name].to(grad.device)
            self._stats[name] = self._stats[name].to(grad.device)
        accumulate_cls_gradient(self._pending[name], grad, labels,
                                self._loss_scale(grad.device))

    def _make_pre_hook(self, name: str):

        def pre_hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            cls_score = args[0] if args else kwargs['cls_score']
            labels = args[1] if len(args) > 1 else kwargs['labels']
            if module.training and cls_score.requires_grad:
                cls_score.register_hook(
                    lambda grad: self._accumulate(name, grad, labels))

        return pre_hook

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Add the iteration's gradients if the optimizer stepped, and write
        the sums every ``interval`` iterations.

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch.
            outputs (dict, optional): The outputs of the iteration.
        """
        self._num_pending += 1
        if self._stepped:
            for name in self._stats:
                self._stats[name] += self._pending[name]
            self._num_summed += self._num_pending
        elif self._optim_wrapper.should_update():
            # an update iteration without a step: the scaler skipped it
            self._num_skipped += self._num_pending
        if self._stepped or self._optim_wrapper.should_update():
            for pending in self._pending.values():
                pending.zero_()
            self._num_pending = 0
        self._stepped = False
        if self.every_n_train_iters(runner, self.interval):
            self._write(runner, runner.iter + 1)

    def after_train(self, runner: Runner) -> None:
        """Write the final sums and detach from the losses.

        Args:
            runner (Runner): The runner of the training process.
        """
        self._write(runner, runner.iter)
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _write(self, runner: Runner, num_iters: int) -> None:
        stats = {}
        for name, loss in self._losses:
            total = self._stats[name].clone()
            all_reduce(total)  # on the group's device; a no-op on one rank
            stats[name] = dict(
                {k: total[i].tolist() for i, k in enumerate(STAT_NAMES)},
                # None where unset (mode='bce' needs no frequencies)
                category_freq=[
                    None if f != f else f
                    for f in loss.category_freq.tolist()
                ],
                tail=loss.tail_mask.cpu().tolist(),
                mode=loss.mode,
                lambda_=loss.lambda_)
        if is_main_process():
            with open(osp.join(runner.work_dir, self.out_file), 'w',
                      encoding='utf-8') as f:
                # sums start at zero in every run, a resumed one included;
                # iterations whose step the AMP scaler skipped are left out
                json.dump(
                    dict(
                        iter=num_iters,
                        iters_summed=self._num_summed,
                        iters_skipped=self._num_skipped,
                        losses=stats), f)
