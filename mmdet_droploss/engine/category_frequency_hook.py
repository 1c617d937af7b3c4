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


@HOOKS.register_module()
class CategoryFrequencyHook(Hook):
    """Set every DropLoss's category frequencies before training: on
    ``--resume`` the checkpoint's, else the config's (a list in label order
    or a file mapped by category id), else the training set's, read by rank
    0 and broadcast; a warning names both where a checkpoint's differ."""

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
            # the buffer holds the config's, NaN, or a checkpoint's values
            checkpoint = loss.category_freq.cpu().numpy().copy() \
                if loss.has_category_freq else None
            keep = resumed and checkpoint is not None
            if named is None and not keep:
                if computed is None:
                    # every rank gets rank 0's result or error: none waits
                    computed = [None]
                    if is_main_process():
                        try:
                            computed = [frequencies_from_dataset(
                                runner.train_dataloader.dataset)]
                        except Exception as e:  # noqa: BLE001
                            computed = [e]
                    broadcast_object_list(computed, src=0)
                    if isinstance(computed[0], Exception):
                        raise computed[0]
                    computed = computed[0]
                named, info = computed
                source = (f'the training set {info["ann_files"]} '
                          f'({info["num_images"]} annotated images)')
                print_log(f'DropLoss category frequencies from {source}.',
                          logger='current')
            if checkpoint is not None and named is not None and \
                    not np.array_equal(checkpoint, named):
                differ = np.flatnonzero(checkpoint != named)
                shown = ', '.join(
                    f'label {i}: {checkpoint[i]:.6g} vs {named[i]:.6g}'
                    for i in differ[:5])
                why = ('the resumed checkpoint: a resumed run continues with '
                       'the frequencies it was trained with; start a new run '
                       "(load_from) to use the config's" if keep else
                       f'{source}: frequencies named in the config, or else '
                       'those of the training set, win over a load_from '
                       "checkpoint's")
                print_log(
                    f'{name}: the category frequencies of the '
                    f'{"resumed" if keep else "load_from"} checkpoint differ '
                    f'from {source} at {differ.size} of {checkpoint.size} '
                    f'categories ({shown}). Using {why}.', logger='current',
                    level=logging.WARNING)
            if keep:
                continue
            loss.set_category_freq(named)
            print_log(
                f'{name}: {int(loss.tail_mask.sum())} of {loss.num_classes} '
                f'categories below lambda_={loss.lambda_} are tail.',
                logger='current')
