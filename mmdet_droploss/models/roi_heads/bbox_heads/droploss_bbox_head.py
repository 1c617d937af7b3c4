# Copyright (c) mmdet-droploss contributors. All rights reserved.
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import bias_init_with_prob

from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS


@MODELS.register_module()
class DropLossBBoxHead(Shared2FCBBoxHead):
    """A ``Shared2FCBBoxHead`` with a sigmoid classifier of C outputs.

    The classifier has no background logit (its loss, e.g. ``DropLoss``,
    sets the channels and the activation), and its bias starts at
    ``-log((1 - p) / p)`` so that every category begins with score about
    ``p``, whatever the predictor (``nn.Linear`` or ``NormedLinear``).

    Args:
        cls_prior_prob (float): Prior probability ``p`` of the classifier's
            bias initialisation. Defaults to 0.001.
    """

    def __init__(self, *args, cls_prior_prob: float = 0.001,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.custom_cls_channels or not self.custom_activation:
            raise TypeError(
                f'DropLossBBoxHead needs a sigmoid loss that sets the '
                f'classifier channels and activation (e.g. DropLoss), got '
                f'{type(self.loss_cls).__name__}.')
        if not 0 < cls_prior_prob < 1:
            raise ValueError(
                f'cls_prior_prob must lie in (0, 1), got {cls_prior_prob!r}.')
        self.cls_prior_prob = cls_prior_prob

    def init_weights(self) -> None:
        """Initialise as MMDetection does, then set the prior bias."""
        super().init_weights()
        if self.with_cls and self.fc_cls.bias is not None:
            nn.init.constant_(self.fc_cls.bias,
                              bias_init_with_prob(self.cls_prior_prob))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """Leave out a classifier of another shape, and say why.

        A softmax detector's ``fc_cls`` has C + 1 outputs (a background
        class); this head has C sigmoid outputs. Its classifier is then not
        loaded and keeps its initialisation (the prior bias), while every
        other weight loads, which is what fine-tuning from it needs.
        """
        if self.with_cls:
            key = f'{prefix}fc_cls.weight'
            rows = self.fc_cls.weight.size(0)
            if key in state_dict and state_dict[key].size(0) != rows:
                theirs = state_dict[key].size(0)
                kind = (f'a softmax classifier: {theirs - 1} classes and '
                        'background' if theirs == rows + 1 else
                        f'{theirs} outputs')
                print_log(
                    f'Checkpoint classifier {prefix}fc_cls has {theirs} '
                    f'outputs ({kind}), but {type(self).__name__} has '
                    f'{rows} sigmoid outputs: {prefix}fc_cls.weight and '
                    f'.bias are not loaded and keep their initialisation '
                    f'(prior bias); all other weights load. Fine for '
                    f'fine-tuning; to test, use a checkpoint trained with '
                    f'this head.',
                    logger='current',
                    level=30)
                for name in ('weight', 'bias'):
                    state_dict.pop(f'{prefix}fc_cls.{name}', None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
