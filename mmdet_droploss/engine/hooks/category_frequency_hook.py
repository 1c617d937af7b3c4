# Copyright (c) mmdet-droploss contributors. All rights reserved.
from typing import List

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmdet.registry import HOOKS
from mmdet_droploss.datasets.category_frequency import frequencies_from_dataset
from mmdet_droploss.models.losses import DropLoss


@HOOKS.register_module()
class CategoryFrequencyHook(Hook):
    """Fill DropLoss's category frequencies from the training set.

    Before the first iteration, every ``DropLoss`` of the model that has no
    frequencies yet (none in the config, none restored from a checkpoint)
    gets them from the training dataset's annotation file(s), computed once.
    They then live in the model's state, so checkpoints carry them and a
    resumed or tested model never reads the dataset for them again. Every
    rank computes them from the same file, so they agree across ranks.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner: Runner) -> None:
        """Compute and store the frequencies where they are missing.

        Args:
            runner (Runner): The runner of the training process.
        """
        losses = self._losses_without_freq(runner.model)
        if not losses:
            return
        dataset = runner.train_dataloader.dataset
        freq, info = frequencies_from_dataset(dataset)
        for loss in losses:
            loss.set_category_freq(freq)
            num_tail = int(loss.tail_mask.sum())
            print_log(
                f'DropLoss category frequencies from {info["ann_files"]} '
                f'({info["num_images"]} annotated images): {num_tail} of '
                f'{loss.num_classes} categories below lambda_='
                f'{loss.lambda_} are tail.',
                logger='current')

    @staticmethod
    def _losses_without_freq(model) -> List[DropLoss]:
        if is_model_wrapper(model):
            model = model.module
        return [
            m for m in model.modules()
            if isinstance(m, DropLoss) and m.needs_category_freq
        ]
