# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Equalization Loss v2 (Tan et al., CVPR 2021) as MMDetection's
``BBoxHead`` calls a loss, on any number of ranks.

arXiv: https://arxiv.org/abs/2012.08548
"""
from typing import Dict, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmdet.models.losses import EQLV2Loss
from mmdet.models.losses.accuracy import accuracy
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from mmengine.dist import is_distributed
from torch import Tensor


@MODELS.register_module()
class EQLv2Loss(EQLV2Loss):
    """EQLv2: sigmoid BCE over C + 1 outputs (the last an objectness
    column, positive for background RoIs) whose negative terms of category
    j are weighted by ``sigmoid(gamma (g_j - mu))`` and positive terms by
    ``1 + alpha (1 - that)``, where ``g_j`` is j's accumulated positive
    over negative gradient.

    MMDetection's ``EQLV2Loss`` (whose buffers and weight function this
    reuses) differs from the original in ways that change results:

    - it has no ``get_cls_channels`` and no ``custom_*`` flags, so
      ``BBoxHead`` ignores its activation and tests with a softmax;
    - it accumulates the gradient statistics of its own rank unless
      ``use_distributed=True``; the original always sums them over the
      ranks, so that every rank weights alike. Here they are summed
      whenever a process group is initialised (every rank must then call
      the loss at every iteration, as ``DropLossBBoxHead`` does);
    - it ignores ``label_weights`` and ``avg_factor`` and keeps per-call
      tensors on ``self``.

    Args:
        num_classes (int): Number of foreground categories C.
            Defaults to 1203 (LVIS v1).
        mu (float): Centre of the weight function. Defaults to 0.8.
        alpha (float): Extra weight of the positive terms. Defaults to 4.
        gamma (float): Slope of the weight function. Defaults to 12.
        test_with_obj (bool): Scale the scores by ``1 - objectness`` at
            inference. Defaults to True.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 num_classes: int = 1203,
                 mu: float = 0.8,
                 alpha: float = 4.0,
                 gamma: float = 12,
                 test_with_obj: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(num_classes=num_classes, mu=mu, alpha=alpha,
                         gamma=gamma, test_with_obj=test_with_obj,
                         reduction=reduction, loss_weight=loss_weight)
        self.custom_cls_channels = True
        self.custom_activation = True
        self.custom_accuracy = True

    def get_cls_channels(self, num_classes: int) -> int:
        """Classifier channels: C categories and the objectness column.

        Args:
            num_classes (int): The head's number of classes.

        Returns:
            int: ``num_classes + 1``.
        """
        if num_classes != self.num_classes:
            raise ValueError(
                f'The bbox head has num_classes={num_classes} but its '
                f'EQLv2Loss has num_classes={self.num_classes}; set both to '
                'the number of categories of the dataset.')
        return num_classes + 1

    def get_accuracy(self, cls_score: Tensor,
                     labels: Tensor) -> Dict[str, Tensor]:
        """Top-1 accuracy of the foreground RoIs over the C categories.

        Args:
            cls_score (Tensor): Logits of shape (N, C + 1).
            labels (Tensor): Labels of shape (N, ).

        Returns:
            Dict[str, Tensor]: ``acc``, in percent.
        """
        fg = labels < self.num_classes
        return dict(acc=accuracy(cls_score[fg, :-1], labels[fg]))

    def forward(self,
                cls_score: Tensor,
                labels: Tensor,
                label_weights: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Forward function, as ``DropLoss.forward`` with logits of shape
        (N, C + 1); adds the batch's gradient statistics (of every rank) to
        the accumulated ones and returns the loss."""
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override or self.reduction
        # float32 even under autocast, as the statistics accumulate
        logits = cls_score.float()
        target = F.one_hot(labels, logits.size(1)).float()
        neg_w = torch.cat([self.map_func(self.pos_neg), logits.new_ones(1)])
        pos_w = 1 + self.alpha * (1 - neg_w)
        weight = torch.where(target > 0, pos_w, neg_w)
        loss = F.binary_cross_entropy_with_logits(
            logits, target, weight=weight, reduction='none').sum(1)
        if label_weights is not None:
            label_weights = label_weights.float()
            weight = weight * label_weights[:, None]
        self.collect_grad(logits.detach(), target, weight)
        loss = weight_reduce_loss(loss, weight=label_weights,
                                  reduction=reduction, avg_factor=avg_factor)
        return self.loss_weight * loss

    @torch.no_grad()
    def collect_grad(self, logits: Tensor, target: Tensor,
                     weight: Tensor) -> None:
        """Add the weighted gradient magnitudes ``|sigmoid(z) - t| w`` of
        the C categories, summed over the ranks, to the statistics.

        Args:
            logits (Tensor): Logits of shape (N, C + 1).
            target (Tensor): One-hot targets of shape (N, C + 1).
            weight (Tensor): Term weights of shape (N, C + 1).
        """
        grad = (logits.sigmoid() - target).abs_().mul_(weight)
        # contiguous: a collective on a strided view does not write back
        stats = torch.stack([(grad * target).sum(0)[:-1],
                             (grad * (1 - target)).sum(0)[:-1]])
        if is_distributed():
            dist.all_reduce(stats)
        self.pos_grad += stats[0]
        self.neg_grad += stats[1]
        self.pos_neg = self.pos_grad / (self.neg_grad + 1e-10)
