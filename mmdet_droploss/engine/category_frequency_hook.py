# Copyright (c) mmdet-droploss contributors. All rights reserved.
import logging

import numpy as np
from mmdet.registry import HOOKS
from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmdet_droploss.datasets.category_frequency import (
    FrequencyTable,
    dataset_cat_ids,
    frequencies_from_dataset,
)
from mmdet_droploss.models import drop_losses


def _warn_differ(name: str, checkpoint: np.ndarray, which: str,
                 named: np.ndarray, source: str, used: str, why: str) -> None:
    differ = np.flatnonzero(checkpoint != named)
    shown = ', '.join(f'label {i}: {checkpoint[i]:.6g} vs {named[i]:.6g}'
                      for i in differ[:5])
    print_log(
        f'{name}: the category frequencies of {which} differ from {source} '
        f'at {differ.size} of {checkpoint.size} categories ({shown}). Using '
        f'{used}: {why}.', logger='current', level=logging.WARNING)


def _on_main_process(fn, *args):
    """``fn(*args)`` on rank 0 only; every rank gets its result or raises
    its error (so that no rank waits for a rank that failed)."""
    payload = [None]
    if is_main_process():
        try:
            payload = [fn(*args)]
        except Exception as e:  # noqa: BLE001 (raised on every rank)
            payload = [e]
    broadcast_object_list(payload, src=0)  # a no-op without a process group
    if isinstance(payload[0], Exception):
        raise payload[0]
    return payload[0]


@HOOKS.register_module()
class CategoryFrequencyHook(Hook):
    """Give every DropLoss that uses them the category frequencies of its
    training set, before the first iteration.

    In order of precedence: on ``--resume`` the checkpoint's; else those
    named in the config (a list in label order, or a file mapped by
    category id); else those of the training dataset's annotation file(s),
    read by rank 0 once and broadcast. Both win over a ``load_from``
    checkpoint's. A warning names both tables where a checkpoint's differ.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        resumed = getattr(runner, 'iter', 0) > 0
        cat_ids = computed = None
        for name, loss in drop_losses(runner.model):
            if not loss.uses_category_freq:
                continue
            named, source = loss.named_freq, None
            if isinstance(named, FrequencyTable):
                cat_ids = cat_ids or dataset_cat_ids(
                    runner.train_dataloader.dataset)
                source = f'the {named.source} (mapped by category id)'
                named = named.in_label_order(cat_ids)
            elif named is not None:
                named = named.numpy()
                source = 'the frequencies named in the config'
            # before training the buffer holds what the config named, NaN
            # (unset), or a checkpoint's values (a checkpoint's buffer of
            # another shape is not loaded)
            checkpoint = None
            if loss.has_category_freq:
                checkpoint = loss.category_freq.cpu().numpy().copy()
                if named is not None and np.array_equal(checkpoint, named):
                    checkpoint = None
            if resumed and checkpoint is not None:
                if named is not None:
                    _warn_differ(
                        name, checkpoint, 'the resumed checkpoint', named,
                        source, 'the resumed checkpoint',
                        'a resumed run continues with the frequencies it '
                        'was trained with; start a new run (load_from) to '
                        "use the config's")
                continue
            if named is None:
                computed = computed or _on_main_process(
                    frequencies_from_dataset, runner.train_dataloader.dataset)
                named, info = computed
                source = (f'the training set {info["ann_files"]} '
                          f'({info["num_images"]} annotated images)')
                print_log(f'DropLoss category frequencies from '
                          f'{info["ann_files"]} ({info["num_images"]} '
                          'annotated images).', logger='current')
            if checkpoint is not None and not np.array_equal(
                    named, checkpoint):
                _warn_differ(
                    name, checkpoint, 'the load_from checkpoint', named,
                    source, source,
                    'frequencies named in the config, or else those of the '
                    "training set, win over a load_from checkpoint's")
            loss.set_category_freq(named)
            print_log(
                f'{name}: {int(loss.tail_mask.sum())} of {loss.num_classes} '
                f'categories below lambda_={loss.lambda_} are tail.',
                logger='current')
