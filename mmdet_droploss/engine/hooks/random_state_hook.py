# Copyright (c) mmdet-droploss contributors. All rights reserved.
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmdet.registry import HOOKS


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

    Exact repetition also needs ``randomness=dict(seed=..., deterministic=
    True)`` and data workers that are not persistent (MMEngine seeds workers
    without the epoch, and persistent workers keep their streams across
    epochs); every rank keeps its own state.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._resumed_state: Optional[dict] = None
        self._train_state: Optional[dict] = None

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Add the random states to the checkpoint.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The checkpoint being saved.
        """
        checkpoint['random_state'] = get_random_state()

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
            print_log(
                'RandomStateHook: the resumed checkpoint holds no random '
                'state (saved without this hook); the run continues with '
                'fresh random streams and will not repeat an uninterrupted '
                'run exactly.',
                logger='current',
                level=30)
            return
        set_random_state(self._resumed_state)

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
