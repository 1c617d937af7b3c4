# Copyright (c) mmdet-droploss contributors. All rights reserved.
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig


@MODELS.register_module()
class DropLossBBoxHead(Shared2FCBBoxHead):
    """A ``Shared2FCBBoxHead`` with a sigmoid classifier of C outputs.

    The classifier has no background logit (its loss, e.g. ``DropLoss``,
    sets the channels and the activation), and its bias starts at
    ``-log((1 - p) / p)`` so that every category begins with score ``p``.

    Args:
        cls_prior_prob (float): Prior probability ``p`` of the classifier's
            bias initialisation. Defaults to 0.001.
        init_cfg (dict | list[dict], optional): Initialisation config; None
            gives MMDetection's defaults with the prior bias on ``fc_cls``.
    """

    def __init__(self,
                 *args,
                 cls_prior_prob: float = 0.001,
                 init_cfg: OptMultiConfig = None,
                 **kwargs) -> None:
        super().__init__(*args, init_cfg=init_cfg, **kwargs)
        if not self.custom_cls_channels or not self.custom_activation:
            raise TypeError(
                f'DropLossBBoxHead needs a sigmoid loss that sets the '
                f'classifier channels and activation (e.g. DropLoss), got '
                f'{type(self.loss_cls).__name__}.')
        if not 0 < cls_prior_prob < 1:
            raise ValueError(
                f'cls_prior_prob must lie in (0, 1), got {cls_prior_prob!r}.')
        if init_cfg is None:
            for cfg in self.init_cfg:
                override = cfg.get('override')
                if isinstance(override, dict) and \
                        override.get('name') == 'fc_cls':
                    cfg['bias_prob'] = float(cls_prior_prob)
