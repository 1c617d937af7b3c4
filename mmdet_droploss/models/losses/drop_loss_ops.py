# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""The tensor operations of DropLoss, on torch alone.

Kept free of MMDetection imports so that the loss benchmark runs on a
machine that has nothing but PyTorch (``tools/gpu/check.sh``).
"""
from typing import Optional, Tuple

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
    authors' code then keeps every term, so this returns 1. Computed on the
    device without reading any value back to the host.

    Args:
        labels (Tensor): RoI labels of shape (N, ), background is
            ``len(tail_mask)``.
        tail_mask (Tensor): Boolean mask of shape (C, ), True for tail
            categories.
        sync_stats (bool): Sum the two counts over all replicas of an
            initialised process group before dividing; every replica must
            then call this at every iteration. Defaults to False.

    Returns:
        Tensor: A float32 scalar in [0, 1].
    """
    num_classes = tail_mask.numel()
    fg = labels < num_classes
    # background (label C) looks up an appended False: no masked indexing,
    # whose output size the host would have to read
    tail_or_bg = torch.cat([tail_mask, tail_mask.new_zeros(1)])
    is_tail_fg = tail_or_bg[labels.clamp(max=num_classes)]
    counts = torch.stack([fg.sum(), is_tail_fg.sum()]).float()
    if sync_stats and dist.is_available() and dist.is_initialized():
        dist.all_reduce(counts)
    num_fg, num_tail_fg = counts
    return torch.where(num_fg > 0, num_tail_fg / num_fg.clamp(min=1),
                       torch.ones_like(num_fg))


def drop_loss_weight(labels: Tensor,
                     tail_mask: Tensor,
                     keep_ratio: Tensor,
                     drop_background: bool = True,
                     tail_inds: Optional[Tensor] = None) -> Tensor:
    """Per-element weights ``w`` of DropLoss: float32 (N, C) in {0, 1}.

    Foreground rows drop (weight 0) tail columns other than their own label
    (Equalization Loss). Background rows keep each tail column with
    probability ``keep_ratio``, one independent draw per element. One
    number is drawn for every RoI x tail element (foreground rows ignore
    theirs), so that no count has to be read back from the device.

    Args:
        labels (Tensor): RoI labels of shape (N, ).
        tail_mask (Tensor): Boolean mask of shape (C, ).
        keep_ratio (Tensor): Scalar keep probability ``r``.
        drop_background (bool): False gives Equalization Loss: background
            rows keep every term. Defaults to True.
        tail_inds (Tensor, optional): Indices of shape (T, ) of the tail
            categories, ``tail_mask.nonzero()``; give them (``DropLoss``
            caches them) to spare that host-device synchronisation.

    Returns:
        Tensor: Weights of shape (N, C), without gradient.
    """
    num_rois, num_classes = labels.numel(), tail_mask.numel()
    fg = labels < num_classes
    head_row = (~tail_mask).float()
    if drop_background:
        if tail_inds is None:
            tail_inds = tail_mask.nonzero().squeeze(1)
        keep = torch.rand(
            num_rois, tail_inds.numel(),
            device=labels.device).lt_(keep_ratio).logical_and_(~fg[:, None])
        # whole columns are copied: faster than a 2-D scatter
        weight = head_row[None, :].expand(num_rois, num_classes).clone()
        weight.index_copy_(1, tail_inds, keep.float())
    else:
        weight = torch.where(fg[:, None], head_row[None, :],
                             head_row.new_ones(1, num_classes))
    # a foreground row keeps its own label's term, tail or not
    return weight.masked_fill_(label_columns(labels, num_classes), 1)


def label_columns(labels: Tensor, num_classes: int) -> Tensor:
    """Boolean (N, C) mask of each foreground RoI's label column.

    Element-wise, where indexing by the foreground rows would make the host
    wait for their number; background rows (label C) match no column.

    Args:
        labels (Tensor): RoI labels of shape (N, ).
        num_classes (int): Number of categories C.

    Returns:
        Tensor: The mask, shape (N, C).
    """
    return labels[:, None] == torch.arange(num_classes, device=labels.device)


def bce_terms_log_sigmoid(cls_score: Tensor, target: Tensor) -> Tensor:
    """``(1 - t) z - log sigmoid(z)``, as torch >= 2.2 computes BCE.

    Args:
        cls_score (Tensor): Logits ``z`` of shape (N, C).
        target (Tensor): Boolean targets ``t`` of shape (N, C).

    Returns:
        Tensor: The terms, shape (N, C).
    """
    neg_log_sig = F.logsigmoid(cls_score).neg_()
    # z + (-log sigmoid(z)) is z - log sigmoid(z) bit for bit
    return torch.where(target, neg_log_sig, cls_score + neg_log_sig)


def bce_terms_max_exp(cls_score: Tensor, target: Tensor) -> Tensor:
    """``(1 - t) z + m + log(exp(-m) + exp(-z - m))`` with ``m = max(-z, 0)``,
    as torch 2.1 computes BCE; the same value to rounding.

    Args:
        cls_score (Tensor): Logits ``z`` of shape (N, C).
        target (Tensor): Boolean targets ``t`` of shape (N, C).

    Returns:
        Tensor: The terms, shape (N, C).
    """
    max_val = cls_score.neg().clamp_(min=0)
    log_term = max_val.neg().exp_().add_(
        cls_score.neg().sub_(max_val).exp_()).log_()
    return cls_score.masked_fill(target, 0).add_(max_val).add_(log_term)


def _installed_torch_bce_terms():
    """The formula above that the installed torch's
    ``binary_cross_entropy_with_logits`` uses, found by comparing both with
    it once: the two round differently (up to about 1e-6 on a term), and
    matching torch keeps our loss equal to its own bit for bit."""
    logits = torch.linspace(-40, 40, 4001)
    target = torch.arange(4001) % 3 == 0
    ref = F.binary_cross_entropy_with_logits(
        logits, target.float(), reduction='none')
    for terms in (bce_terms_log_sigmoid, bce_terms_max_exp):
        if torch.equal(terms(logits, target), ref):
            return terms
    # a torch with yet another formula: the same values to rounding
    return bce_terms_log_sigmoid


bce_terms = _installed_torch_bce_terms()


class WeightedSigmoidBCE(torch.autograd.Function):
    """Per-RoI weighted sum of sigmoid BCE terms.

    Computes ``sum_j w_ij * BCEWithLogits(z_ij, t_ij)`` with ``t`` one-hot
    at the label of foreground rows, with a boolean mask of the label
    columns instead of a float target (a target term always has weight 1).
    Each term is computed with the formula of the installed torch's
    ``binary_cross_entropy_with_logits`` (``bce_terms``), and the gradient
    as its backward does, so results agree with it bit for bit.
    """

    @staticmethod
    def forward(ctx, cls_score: Tensor, labels: Tensor,
                weight: Tensor) -> Tensor:
        target = label_columns(labels, cls_score.size(1))
        terms = bce_terms(cls_score, target)
        loss = terms.mul_(weight).sum(dim=1)
        ctx.save_for_backward(cls_score, weight, target)
        # Fresh N x C memory costs more than the arithmetic on it: the
        # backward writes the gradient over the terms, used only once.
        ctx.scratch = terms
        return loss

    @staticmethod
    def backward(ctx, grad_loss: Tensor) -> Tuple[Tensor, None, None]:
        cls_score, weight, target = ctx.saved_tensors
        scratch, ctx.scratch = ctx.scratch, None
        grad = torch.sigmoid(cls_score, out=scratch)
        # x - 1 at the targets; x - 0 is x elsewhere
        grad.sub_(target.to(grad.dtype))
        grad.mul_(grad_loss[:, None]).mul_(weight)
        return grad, None, None
