# Copyright (c) mmdet-droploss contributors. All rights reserved.
import random
from typing import Optional

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import Runner


def get_random_state() -> dict:
    """dict: The random generators' states of this process (Python, numpy,
    torch CPU and every CUDA device)."""
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    """Restore states saved by :func:`get_random_state`.

    Args:
        state (dict): The saved states.
    """
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        if len(state['cuda']) != torch.cuda.device_count():
            raise RuntimeError(
                f"The checkpoint's random state covers {len(state['cuda'])} "
                f'CUDA devices but this process sees '
                f'{torch.cuda.device_count()}; resume on the same devices, '
                'or remove RandomStateHook for an inexact resume.')
        torch.cuda.set_rng_state_all(state['cuda'])


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
        self._gather_every_iter = False

    def _gather(self, runner: Runner) -> None:
        # a collective: every rank comes here at the same point
        self._gathered = dict(
            iter=runner.iter,
            state=dict(
                world_size=get_world_size(),
                ranks=all_gather_object(get_random_state())))

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Gather every rank's states where checkpoints are saved by
        iteration (the checkpoint is then written by rank 0 alone).

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch.
            outputs (dict, optional): The outputs of the iteration.
        """
        if self._gather_every_iter:
            self._gather(runner)

    def after_train_epoch(self, runner: Runner) -> None:
        """Gather every rank's states before an epoch's checkpoint.

        Args:
            runner (Runner): The runner.
        """
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
                world_size=1, ranks=[get_random_state()])
        else:
            print_log(
                'RandomStateHook: this checkpoint is saved where the random '
                'states of the other ranks were not gathered; it holds none, '
                'and a run resumed from it will not repeat exactly.',
                logger='current',
                level=30)

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Keep the checkpoint's states for :meth:`before_train`.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        saved = checkpoint.get('random_state')
        if saved is not None and 'ranks' not in saved:
            # an earlier format: one process's states
            saved = dict(world_size=1, ranks=[saved])
        self._resumed_state = saved

    def before_train(self, runner: Runner) -> None:
        """Restore the states when the run resumes (not for ``load_from``,
        which starts at iteration 0).

        Args:
            runner (Runner): The runner.
        """
        self._gather_every_iter = any(
            isinstance(h, CheckpointHook) and not h.by_epoch
            for h in getattr(runner, 'hooks', []))
        if runner.iter == 0:
            return
        if self._resumed_state is None:
            print_log(
                'RandomStateHook: the resumed checkpoint holds no random '
                'state (saved without this hook); the run continues with '
                'fresh random streams and will not repeat an uninterrupted '
                'run exactly.',
                logger='current',
                level=30)
            return
        saved_size = self._resumed_state['world_size']
        if saved_size != get_world_size():
            print_log(
                f'RandomStateHook: the checkpoint holds the random states of '
                f'{saved_size} processes but this run has '
                f'{get_world_size()}; the run continues with fresh random '
                'streams and will not repeat an uninterrupted run exactly. '
                'Resume on as many processes as saved the checkpoint.',
                logger='current',
                level=30)
            return
        set_random_state(self._resumed_state['ranks'][get_rank()])

    def before_val(self, runner: Runner) -> None:
        """Set the training stream aside during validation.

        Args:
            runner (Runner): The runner.
        """
        self._train_state = get_random_state()

    def after_val(self, runner: Runner) -> None:
        """Take the training stream up again after validation.

        Args:
            runner (Runner): The runner.
        """
        if self._train_state is not None:
            set_random_state(self._train_state)
            self._train_state = None
