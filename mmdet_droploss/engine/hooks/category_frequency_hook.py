# Copyright (c) mmdet-droploss contributors. All rights reserved.
import logging
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from mmdet.registry import HOOKS
from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmdet_droploss.datasets.category_frequency import (
    FrequencyTable,
    dataset_cat_ids,
    frequencies_from_dataset,
    table_in_label_order,
)
from mmdet_droploss.models.losses import DropLoss, drop_losses


def _on_main_process(fn, *args) -> Any:
    """``fn(*args)`` run on rank 0 only; every rank gets its result, or
    raises its error (so that no rank waits for a rank that failed)."""
    payload: List[Any] = [None]
    if is_main_process():
        try:
            payload[0] = ('ok', fn(*args))
        except Exception as e:  # noqa: BLE001 (re-raised on every rank)
            payload[0] = ('error', e)
    broadcast_object_list(payload, src=0)  # no-op without a process group
    status, value = payload[0]
    if status == 'error':
        raise value
    return value


@HOOKS.register_module()
class CategoryFrequencyHook(Hook):
    """Give every DropLoss the category frequencies of its training set.

    Before the first iteration, for each ``DropLoss`` that uses frequencies
    (mode 'drop' or 'eql'), in order of precedence:

    1. ``--resume``: the checkpoint's frequencies are kept (a warning names
       both when the config names others).
    2. Frequencies named in the config win over a ``load_from``
       checkpoint's (a warning names both when they differ): a list is in
       the dataset's label order; a file from
       ``tools/misc/export_category_freq.py`` is mapped into it by category
       id, and a category of the dataset missing from it is an error.
    3. Otherwise they are computed from the training dataset's annotation
       file(s), also over a ``load_from`` checkpoint's (fine-tuning on
       another dataset gets the new dataset's table; a warning names both
       when they differ).

    They live in the model's state, so checkpoints carry them. Rank 0 reads
    the annotation file(s), once per job, and broadcasts the table, so every
    rank has the same frequencies and only one process holds the file.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner: Runner) -> None:
        """Set the frequencies as the precedence above says.

        Args:
            runner (Runner): The runner of the training process.
        """
        losses = [(name, m) for name, m in drop_losses(runner.model)
                  if m.uses_category_freq]
        if not losses:
            return
        dataset = runner.train_dataloader.dataset
        resumed = getattr(runner, 'iter', 0) > 0
        cat_ids: Optional[List[int]] = None
        computed: Optional[Tuple[np.ndarray, Dict]] = None
        for name, loss in losses:
            named, source = None, None
            if isinstance(loss.named_freq, FrequencyTable):
                if cat_ids is None:
                    cat_ids = dataset_cat_ids(dataset)
                named = table_in_label_order(loss.named_freq, cat_ids)
                source = (f'the {loss.named_freq.source} '
                          '(mapped by category id)')
            elif loss.named_freq is not None:
                named = loss.named_freq.numpy()
                source = 'the frequencies named in the config'
            checkpoint = self._checkpoint_freq(loss, named)
            if resumed and checkpoint is not None:
                if named is not None and not np.array_equal(named,
                                                            checkpoint):
                    self._warn_differ(
                        name, checkpoint, 'the resumed checkpoint', named,
                        source, 'the resumed checkpoint',
                        'a resumed run continues with the frequencies it '
                        'was trained with; start a new run (load_from) to '
                        'use the config\'s')
                continue
            if named is None:
                if computed is None:
                    computed = _on_main_process(frequencies_from_dataset,
                                                dataset)
                named, info = computed
                source = (f'the training set {info["ann_files"]} '
                          f'({info["num_images"]} annotated images)')
                print_log(
                    f'DropLoss category frequencies from {info["ann_files"]} '
                    f'({info["num_images"]} annotated images).',
                    logger='current')
            if checkpoint is not None and not np.array_equal(
                    named, checkpoint):
                self._warn_differ(
                    name, checkpoint, 'the load_from checkpoint', named,
                    source, source,
                    'frequencies named in the config, or else those of the '
                    'training set, win over a load_from checkpoint\'s')
            loss.set_category_freq(named)
            print_log(
                f'{name}: {int(loss.tail_mask.sum())} of {loss.num_classes} '
                f'categories below lambda_={loss.lambda_} are tail.',
                logger='current')

    @staticmethod
    def _checkpoint_freq(loss: DropLoss,
                         named: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """The frequencies a checkpoint (``load_from`` or ``--resume``) put
        in the loss's buffer, None where it put none.

        The buffer holds, before training, what the config named (a list
        is set at build time), a checkpoint's values, or NaN (unset): set
        and unlike the named values, it holds a checkpoint's. A
        checkpoint's buffer of another shape (a fine-tune from another
        dataset) is not loaded at all, and so is no checkpoint's here.
        """
        if not loss.has_category_freq:
            return None
        current = loss.category_freq.cpu().numpy().copy()
        if named is not None and np.array_equal(current, named):
            return None
        return current

    @staticmethod
    def _warn_differ(name: str, first: np.ndarray, first_source: str,
                     second: np.ndarray, second_source: str, used: str,
                     why: str) -> None:
        differ = np.flatnonzero(first != second)
        shown = ', '.join(f'label {i}: {first[i]:.6g} vs {second[i]:.6g}'
                          for i in differ[:5])
        print_log(
            f'{name}: the category frequencies of {first_source} differ from '
            f'{second_source} at {differ.size} of {first.size} categories '
            f'({shown}). Using {used}: {why}.',
            logger='current',
            level=logging.WARNING)

