# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""The tensor operations of DropLoss, on torch alone.

Kept free of MMDetection imports so that the loss benchmark runs on a
machine that has nothing but PyTorch (``tools/benchmarks/gpu_check.sh``).
"""
from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor


def drop_keep_ratio(labels: Tensor,
                    tail_mask: Tensor,
                    sync_stats: bool = False) -> Tensor:
    """Keep probability ``r`` of the background-vs-tail terms.

    ``r`` is the share of foreground RoIs whose label is a tail category.
    When the batch has no foreground RoI the ratio is undefined; the
    authors' code then keeps every term, so this returns 1.

    Args:
        labels (Tensor): RoI labels of shape (N, ), background is
            ``len(tail_mask)``.
        tail_mask (Tensor): Boolean mask of shape (C, ), True for tail
            categories.
        sync_stats (bool): Sum the two counts over all replicas of an
            initialised process group before dividing. Defaults to False.

    Returns:
        Tensor: A float32 scalar in [0, 1].
    """
    num_classes = tail_mask.numel()
    fg = labels < num_classes
    is_tail_fg = tail_mask[labels[fg]]
    counts = torch.stack([fg.sum(), is_tail_fg.sum()]).float()
    if sync_stats and dist.is_available() and dist.is_initialized():
        dist.all_reduce(counts)
    num_fg, num_tail_fg = counts
    return torch.where(num_fg > 0, num_tail_fg / num_fg.clamp(min=1),
                       torch.ones_like(num_fg))


def drop_loss_weight(labels: Tensor,
                     tail_mask: Tensor,
                     keep_ratio: Tensor,
                     drop_background: bool = True) -> Tensor:
    """Per-element weights ``w`` of DropLoss: float32 (N, C) in {0, 1}.

    Foreground rows drop (weight 0) tail columns other than their own label
    (Equalization Loss). Background rows keep each tail column with
    probability ``keep_ratio``, one independent draw per element; random
    numbers are drawn only for those background x tail elements.

    Args:
        labels (Tensor): RoI labels of shape (N, ).
        tail_mask (Tensor): Boolean mask of shape (C, ).
        keep_ratio (Tensor): Scalar keep probability ``r``.
        drop_background (bool): False gives Equalization Loss: background
            rows keep every term. Defaults to True.

    Returns:
        Tensor: Weights of shape (N, C), without gradient.
    """
    num_rois, num_classes = labels.numel(), tail_mask.numel()
    head_row = (~tail_mask).float()
    weight = head_row[None, :].expand(num_rois, num_classes).clone()
    fg = labels < num_classes
    fg_rows = fg.nonzero().squeeze(1)
    weight[fg_rows, labels[fg_rows]] = 1
    bg_rows = (~fg).nonzero().squeeze(1)
    if not drop_background:
        return weight.index_fill_(0, bg_rows, 1)
    tail_cols = tail_mask.nonzero().squeeze(1)
    keep = torch.rand(
        bg_rows.numel(), tail_cols.numel(),
        device=labels.device).lt_(keep_ratio)
    # whole rows and columns are copied: faster than a 2-D scatter
    bg_block = head_row[None, :].expand(bg_rows.numel(), num_classes).clone()
    bg_block.index_copy_(1, tail_cols, keep)
    return weight.index_copy_(0, bg_rows, bg_block)


class WeightedSigmoidBCE(torch.autograd.Function):
    """Per-RoI weighted sum of sigmoid BCE terms.

    Computes ``sum_j w_ij * BCEWithLogits(z_ij, t_ij)`` with ``t`` one-hot
    at the label of foreground rows, without a dense target (a target term
    always has weight 1). Each term is computed as
    ``binary_cross_entropy_with_logits`` computes it,
    ``(1 - t) z - log(sigmoid(z))``, and the gradient as its backward does,
    so results agree with it bit for bit.
    """

    @staticmethod
    def forward(ctx, cls_score: Tensor, labels: Tensor,
                weight: Tensor) -> Tensor:
        num_classes = cls_score.size(1)
        fg_rows = (labels < num_classes).nonzero().squeeze(1)
        fg_labels = labels[fg_rows]
        terms = F.logsigmoid(cls_score)
        target_terms = -terms[fg_rows, fg_labels]
        torch.sub(cls_score, terms, out=terms)
        terms[fg_rows, fg_labels] = target_terms
        loss = terms.mul_(weight).sum(dim=1)
        ctx.save_for_backward(cls_score, weight, fg_rows, fg_labels)
        # Fresh N x C memory costs more than the arithmetic on it: the
        # backward writes the gradient over the terms, used only once.
        ctx.scratch = terms
        return loss

    @staticmethod
    def backward(ctx, grad_loss: Tensor) -> Tuple[Tensor, None, None]:
        cls_score, weight, fg_rows, fg_labels = ctx.saved_tensors
        scratch, ctx.scratch = ctx.scratch, None
        grad = torch.sigmoid(cls_score, out=scratch)
        grad[fg_rows, fg_labels] -= 1
        grad.mul_(grad_loss[:, None]).mul_(weight)
        return grad, None, None
