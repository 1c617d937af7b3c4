# Copyright (c) mmdet-droploss contributors. All rights reserved.
import logging
import random
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmdet_droploss.models.losses import drop_losses


def get_random_state(model: Optional[nn.Module] = None) -> dict:
    """The random generators' states of this process.

    Python, numpy, torch's CPU generator, the current CUDA device's (only
    that one: a process drives one device, and a resume may see another
    number of them), and the drop generator of each ``DropLoss`` in
    ``model``.

    Args:
        model (nn.Module, optional): The model, wrapped or not.

    Returns:
        dict: The states.
    """
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state()
    drop = {name: loss.get_rng_state() for name, loss in drop_losses(model)}
    state['drop'] = {k: v for k, v in drop.items() if v is not None}
    return state


def set_random_state(state: dict, model: Optional[nn.Module] = None) -> None:
    """Restore states saved by :func:`get_random_state`.

    A state that does not fit this process (saved with CUDA and restored
    without, a drop generator saved on another kind of device) is logged
    and left fresh.

    Args:
        state (dict): The saved states.
        model (nn.Module, optional): The model, wrapped or not.
    """
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None:
        if torch.cuda.is_available():
            torch.cuda.set_rng_state(cuda)
        else:
            _warn_fresh('the checkpoint holds a CUDA random state but this '
                        'process has no CUDA device')
    saved = state.get('drop', {})
    for name, loss in drop_losses(model):
        if name not in saved:
            continue
        try:
            loss.set_rng_state(saved[name])
        except ValueError as e:
            _warn_fresh(f'{name}: {e} Its drop draws start fresh')


def _warn_fresh(what: str) -> None:
    print_log(
        f'RandomStateHook: {what}; the run will not repeat an uninterrupted '
        'run exactly.',
        logger='current',
        level=logging.WARNING)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make ``--resume`` continue the random streams where they stopped.

    MMEngine checkpoints hold the model, optimizer, scheduler and counters,
    but not the random generators, so a resumed run draws different
    DropLoss drops and augmentations than an uninterrupted one. This hook
    saves the states with every checkpoint and restores them when training
    resumes. It also keeps validation from consuming the training stream
    (its data loader draws a seed), so a run that validates between
    checkpoints continues exactly as its resumed copy does.

    Every rank's states are gathered into the checkpoint (written by rank
    0) and each rank restores its own, so a run of several processes
    resumes exactly too, when it resumes on the same number of processes
    (otherwise a warning says the streams start afresh).

    Exact repetition also needs ``randomness=dict(seed=..., deterministic=
    True)`` and data workers that are not persistent (MMEngine seeds workers
    without the epoch, and persistent workers keep their streams across
    epochs).
    """

    # before CheckpointHook (VERY_LOW): the states are gathered from every
    # rank in the same stage, just before it saves
    priority = 'LOW'

    def __init__(self) -> None:
        self._resumed_state: Optional[dict] = None
        self._train_state: Optional[dict] = None
        self._gathered: Optional[dict] = None

    def _gather(self, runner: Runner) -> None:
        # a collective: every rank comes here at the same point
        self._gathered = dict(
            iter=runner.iter,
            state=dict(
                world_size=get_world_size(),
                ranks=all_gather_object(get_random_state(runner.model))))

    @staticmethod
    def _checkpoint_hooks(runner: Runner) -> List[CheckpointHook]:
        return [h for h in getattr(runner, 'hooks', [])
                if isinstance(h, CheckpointHook)]

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Gather every rank's states at an iteration where a checkpoint
        is saved by iteration (then written by rank 0 alone), with
        CheckpointHook's own rule; the gather reads every rank's states
        back to the host, so it runs at those iterations only.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch.
            outputs (dict, optional): The outputs of the iteration.
        """
        if any(not h.by_epoch and (
                h.every_n_train_iters(runner, h.interval, h.save_begin) or
                (h.save_last and h.is_last_train_iter(runner)))
               for h in self._checkpoint_hooks(runner)):
            self._gather(runner)

    def after_train_epoch(self, runner: Runner) -> None:
        """Gather every rank's states before an epoch's checkpoint.

        Args:
            runner (Runner): The runner.
        """
        if any(h.by_epoch and (
                h.every_n_epochs(runner, h.interval, h.save_begin) or
                (h.save_last and h.is_last_train_epoch(runner)))
               for h in self._checkpoint_hooks(runner)):
            self._gather(runner)

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Add every rank's random states to the checkpoint.

        Only rank 0 saves, so the states were gathered from all ranks just
        before (:meth:`after_train_epoch`, :meth:`after_train_iter`).

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The checkpoint being saved.
        """
        if self._gathered is not None and \
                self._gathered['iter'] == runner.iter:
            checkpoint['random_state'] = self._gathered['state']
        elif get_world_size() == 1:
            checkpoint['random_state'] = dict(
                world_size=1, ranks=[get_random_state(runner.model)])
        else:
            print_log(
                'RandomStateHook: this checkpoint is saved where the random '
                'states of the other ranks were not gathered; it holds none, '
                'and a run resumed from it will not repeat exactly.',
                logger='current',
                level=logging.WARNING)

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Keep the checkpoint's states for :meth:`before_train`.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        self._resumed_state = checkpoint.get('random_state')

    def before_train(self, runner: Runner) -> None:
        """Restore the states when the run resumes (not for ``load_from``,
        which starts at iteration 0).

        Args:
            runner (Runner): The runner.
        """
        if runner.iter == 0:
            return
        if self._resumed_state is None:
            _warn_fresh('the resumed checkpoint holds no random state (saved '
                        'without this hook); the run continues with fresh '
                        'random streams')
            return
        saved_size = self._resumed_state['world_size']
        if saved_size != get_world_size():
            _warn_fresh(
                f'the checkpoint holds the random states of {saved_size} '
                f'processes but this run has {get_world_size()}; the run '
                'continues with fresh random streams (resume on as many '
                'processes as saved the checkpoint)')
            return
        set_random_state(self._resumed_state['ranks'][get_rank()],
                         runner.model)

    def before_val(self, runner: Runner) -> None:
        """Set the training stream aside during validation.

        Args:
            runner (Runner): The runner.
        """
        self._train_state = get_random_state(runner.model)

    def after_val(self, runner: Runner) -> None:
        """Take the training stream up again after validation.

        Args:
            runner (Runner): The runner.
        """
        if self._train_state is not None:
            set_random_state(self._train_state, runner.model)
            self._train_state = None
