# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Federated loss (Zhou et al., "Probabilistic two-stage detection", 2021),
as detectron2's ``FastRCNNOutputLayers(use_fed_loss=True)`` computes it.

arXiv: https://arxiv.org/abs/2103.07461
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmdet.registry import MODELS
from torch import Tensor

from .drop_loss import DropLoss
from .drop_loss_ops import WeightedSigmoidBCE


def federated_classes(labels: Tensor,
                      class_weight: Tensor,
                      num_sampled_classes: int,
                      generator: Optional[torch.Generator] = None) -> Tensor:
    """The categories the federated loss covers in one batch.

    Every category of the batch's foreground RoIs, and negatives drawn
    without replacement with probabilities proportional to
    ``class_weight`` until ``num_sampled_classes`` in all (none when the
    present ones are as many). The draw is the top of the keys ``w_j /
    E_j``, ``E_j ~ Exp(1)`` (Efraimidis and Spirakis), which has the
    distribution of ``torch.multinomial(w, k, replacement=False)``, the
    draw of detectron2's ``get_fed_loss_classes``, without reading the
    number of present categories back from the device.

    Args:
        labels (Tensor): RoI labels of shape (N, ), C for background.
        class_weight (Tensor): Non-negative sampling weights of shape
            (C, ); a category of weight 0 is never drawn.
        num_sampled_classes (int): Categories per batch, present ones
            included.
        generator (torch.Generator, optional): Generator of the draw, on
            ``class_weight``'s device.

    Returns:
        Tensor: Boolean mask of shape (C, ).
    """
    num_classes = class_weight.numel()
    # background (label C) fills an appended entry that is cut off
    present = labels.new_zeros(num_classes + 1, dtype=torch.bool)
    present = present.index_fill_(0, labels, True)[:num_classes]
    candidate = (class_weight > 0) & ~present
    noise = torch.empty_like(class_weight).exponential_(generator=generator)
    keys = torch.where(candidate, class_weight / noise, -1.)
    order = keys.argsort(descending=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(num_classes, device=order.device)
    room = num_sampled_classes - present.sum()
    return present | (candidate & (rank < room))


@MODELS.register_module()
class FederatedLoss(DropLoss):
    """Sigmoid BCE over C categories, restricted per batch to the
    categories present in it and sampled negatives.

    A baseline beside DropLoss: it shares DropLoss's classifier (C sigmoid
    outputs, no background logit, the same inference), its frequencies
    (named in the config or filled by ``CategoryFrequencyHook``) and its
    per-rank generator (saved by ``RandomStateHook``). Each rank draws its
    own negatives from its own batch, as detectron2 does on each GPU. The
    sampling weights are the training-image frequencies to the power
    ``freq_weight_power`` (detectron2 uses image counts; the draw is the
    same up to scale).

    Args:
        num_classes (int): Number of foreground categories C.
            Defaults to 1203 (LVIS v1).
        category_freq (Sequence[float] | str, optional): Per-class image
            frequencies, as ``DropLoss`` takes them.
        num_sampled_classes (int): Categories per batch, present ones
            included. Defaults to 50 (detectron2's
            ``FED_LOSS_NUM_CLASSES``).
        freq_weight_power (float): Power of the frequencies in the sampling
            weights. Defaults to 0.5 (``FED_LOSS_FREQ_WEIGHT_POWER``).
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 num_classes: int = 1203,
                 category_freq: Optional[Union[Sequence[float], str]] = None,
                 num_sampled_classes: int = 50,
                 freq_weight_power: float = 0.5,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(
            num_classes=num_classes, category_freq=category_freq,
            mode='bce', reduction=reduction, loss_weight=loss_weight,
            return_dict=False)
        if not isinstance(num_sampled_classes, int) or \
                num_sampled_classes < 1:
            raise ValueError(
                'FederatedLoss num_sampled_classes must be a positive int, '
                f'got {num_sampled_classes!r}; detectron2 uses 50.')
        if not freq_weight_power >= 0:
            raise ValueError(
                'FederatedLoss freq_weight_power must be >= 0, got '
                f'{freq_weight_power!r}; detectron2 uses 0.5.')
        self.num_sampled_classes = num_sampled_classes
        self.freq_weight_power = freq_weight_power

    @property
    def uses_category_freq(self) -> bool:
        """bool: Always: the frequencies weight the negatives' draw."""
        return True

    def roi_losses(self, cls_score: Tensor,
                   labels: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The BCE of each RoI over the batch's covered categories, as
        :meth:`DropLoss.roi_losses` returns it (nothing logged)."""
        self.require_category_freq()
        class_weight = self.category_freq.to(
            cls_score.device, torch.float32).pow(self.freq_weight_power)
        covered = federated_classes(labels, class_weight,
                                    self.num_sampled_classes,
                                    self.generator(cls_score.device))
        # float32 even under autocast, as DropLoss
        return WeightedSigmoidBCE.apply(cls_score.float(), labels,
                                        covered[None].float()), {}
