# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .drop_loss import DropLoss, drop_loss, drop_losses
from .drop_loss_ops import (
    WeightedSigmoidBCE,
    drop_keep_ratio,
    drop_loss_weight,
)
from .droploss_bbox_head import DropLossBBoxHead
from .eqlv2_loss import EQLv2Loss
from .federated_loss import FederatedLoss, federated_classes
from .gumbel_loss import GumbelLoss, gumbel_activation, gumbel_loss

__all__ = [
    'DropLoss', 'drop_loss', 'drop_losses', 'drop_loss_weight',
    'drop_keep_ratio', 'WeightedSigmoidBCE', 'DropLossBBoxHead', 'EQLv2Loss',
    'FederatedLoss', 'federated_classes', 'GumbelLoss', 'gumbel_loss',
    'gumbel_activation'
]
