# Copyright (c) mmdet-droploss contributors. All rights reserved.
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from torch import nn

from mmdet_droploss.models import drop_losses


def get_random_state(model: Optional[nn.Module] = None) -> dict:
    """This process's random states: Python's, numpy's, torch's, the current
    CUDA device's and each DropLoss's drop generator in ``model``."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state()
    state['drop'] = {name: rng for name, loss in drop_losses(model)
                     if (rng := loss.get_rng_state()) is not None}
    return state


def set_random_state(state: dict, model: Optional[nn.Module] = None) -> None:
    """Restore :func:`get_random_state`'s states; one that does not fit this
    process is logged and left fresh."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if state.get('cuda') is not None:
        if torch.cuda.is_available():
            torch.cuda.set_rng_state(state['cuda'])
        else:
            _warn_fresh('the checkpoint holds a CUDA random state but this '
                        'process has no CUDA device')
    saved = state.get('drop', {})
    for name, loss in drop_losses(model):
        try:
            if name in saved:
                loss.set_rng_state(saved[name])
        except ValueError as e:
            _warn_fresh(f'{name}: {e} Its drop draws start fresh')


def _warn_fresh(what: str) -> None:
    print_log(f'RandomStateHook: {what}; the run will not repeat an '
              'uninterrupted run exactly.', 'current', logging.WARNING)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save every rank's random states with each checkpoint and restore
    each rank's own on a ``--resume`` on as many processes; validation runs
    aside from the training streams (see docs/training.md)."""

    # before CheckpointHook (VERY_LOW): every rank gathers in the same
    # stage, just before rank 0 saves
    priority = 'LOW'

    def __init__(self) -> None:
        self._resumed_state = self._train_state = self._gathered = None

    def _gather_if_saving(self, runner, by_epoch: bool) -> None:
        """Gather all ranks' states (a collective) where a CheckpointHook
        saves."""
        every, last = (('every_n_epochs', 'is_last_train_epoch') if by_epoch
                       else ('every_n_train_iters', 'is_last_train_iter'))
        if any(isinstance(h, CheckpointHook) and h.by_epoch == by_epoch and (
                getattr(h, every)(runner, h.interval, h.save_begin)
                or h.save_last and getattr(h, last)(runner))
               for h in runner.hooks):
            self._gathered = dict(iter=runner.iter, state=dict(
                world_size=get_world_size(),
                ranks=all_gather_object(get_random_state(runner.model))))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._gather_if_saving(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_saving(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # only rank 0 saves: the states were gathered from all just before
        if (self._gathered or {}).get('iter') == runner.iter:
            checkpoint['random_state'] = self._gathered['state']
        elif get_world_size() == 1:
            checkpoint['random_state'] = dict(
                world_size=1, ranks=[get_random_state(runner.model)])
        else:
            _warn_fresh('this checkpoint is saved where the ranks\' random '
                        'states were not gathered, so it holds none')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed_state = checkpoint.get('random_state')

    def before_train(self, runner) -> None:
        if runner.iter == 0:
            return  # not resumed (load_from starts at iteration 0)
        saved = self._resumed_state
        if saved is None or saved['world_size'] != get_world_size():
            _warn_fresh('the resumed checkpoint holds ' + (
                'no random state (saved without this hook)' if saved is None
                else f"the random states of {saved['world_size']} processes, "
                f'this run has {get_world_size()} (resume on as many)') +
                '; the random streams start fresh')
        else:
            set_random_state(saved['ranks'][get_rank()], runner.model)

    def before_val(self, runner) -> None:
        self._train_state = get_random_state(runner.model)

    def after_val(self, runner) -> None:
        if self._train_state is not None:
            set_random_state(self._train_state, runner.model)
            self._train_state = None
