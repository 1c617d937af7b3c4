# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .drop_loss import DropLoss, drop_loss
from .drop_loss_ops import (
    WeightedSigmoidBCE,
    drop_keep_ratio,
    drop_loss_weight,
)

__all__ = [
    'DropLoss', 'drop_loss', 'drop_loss_weight', 'drop_keep_ratio',
    'WeightedSigmoidBCE'
]
