# Copyright (c) mmdet-droploss contributors. All rights reserved.
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Stop a run whose model and data disagree on the number of classes,
    before training, validation and testing (MMDetection's
    ``NumClassCheckHook`` skips testing, which then reports AP 0), with an
    error that names the modules, the dataset and the fix."""

    # first: CategoryFrequencyHook (VERY_HIGH) sizes frequencies by the model
    priority = 'HIGHEST'

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')

    @staticmethod
    def _check(runner, mode: str) -> None:
        dataset = getattr(runner, f'{mode}_dataloader').dataset
        classes = dataset.metainfo.get('classes')
        if classes is None:
            return  # nothing to compare with: MMDetection names no classes
        # every num_classes of the model but the RPN's one class
        wrong = {
            name: module.num_classes
            for name, module in runner.model.named_modules()
            if isinstance(getattr(module, 'num_classes', None), int)
            and 'rpn_head' not in name and module.num_classes != len(classes)
        }
        if wrong:
            raise ValueError(
                f'The model and the {mode} data disagree on the classes: '
                f'{type(dataset).__name__} '
                f'({getattr(dataset, "ann_file", "")}) has '
                f'{len(classes)}, the model has num_classes {wrong}. Fix: '
                'set num_classes (box head, its loss, mask head) to the '
                "data's number of classes, or test with the data the model "
                'was trained on.')
