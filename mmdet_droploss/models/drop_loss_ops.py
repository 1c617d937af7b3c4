# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""The tensor operations of DropLoss, on torch alone.

Kept free of MMDetection imports so that the loss benchmark runs on a
machine that has nothing but PyTorch (``tools/gpu/check.sh``).
"""
import hashlib
from typing import Optional, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor


def drop_keep_ratio(labels: Tensor,
                    tail_mask: Tensor,
                    sync_stats: bool = False) -> Tensor:
    """Keep probability ``r`` of the background-vs-tail terms: the share
    of foreground RoIs whose label is a tail category, 1 without foreground
    (the authors' code then keeps every term); nothing is read back.

    Args:
        labels (Tensor): RoI labels of shape (N, ), ``C`` for background.
        tail_mask (Tensor): Boolean mask of shape (C, ).
        sync_stats (bool): Sum the counts over the replicas of an
            initialised process group; every replica must then call this
            at every iteration. Defaults to False.

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


def drop_seed(base_seed: int, rank: int) -> int:
    """Seed of one process's drop draws: a stream of its own per rank.

    MMEngine seeds every rank alike (``randomness.diff_rank_seed`` is off
    by default), so the default generator would draw alike on every rank;
    hashed, so that the stream is unrelated to those ``base_seed`` (or
    ``base_seed + rank``) seeds elsewhere.

    Args:
        base_seed (int): The run's seed.
        rank (int): Global rank of the process.

    Returns:
        int: A seed in [0, 2**63).
    """
    digest = hashlib.sha256(f'droploss:{base_seed}:{rank}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little') >> 1


def drop_loss_weight(labels: Tensor,
                     tail_mask: Tensor,
                     keep_ratio: Tensor,
                     drop_background: bool = True,
                     tail_inds: Optional[Tensor] = None,
                     generator: Optional[torch.Generator] = None) -> Tensor:
    """Per-element weights ``w`` of DropLoss: float32 (N, C) in {0, 1}.

    Foreground rows drop tail columns other than their own label
    (Equalization Loss); background rows keep each tail column with
    probability ``keep_ratio``. One number is drawn for every RoI x tail
    element (foreground rows ignore theirs): no count is read back.

    Args:
        labels (Tensor): RoI labels of shape (N, ).
        tail_mask (Tensor): Boolean mask of shape (C, ).
        keep_ratio (Tensor): Scalar keep probability ``r``.
        drop_background (bool): False gives Equalization Loss: background
            rows keep every term. Defaults to True.
        tail_inds (Tensor, optional): ``tail_mask.nonzero()``, shape
            (T, ); given, no host-device synchronisation.
        generator (torch.Generator, optional): Generator of the draws on
            the labels' device; None: the device's default.

    Returns:
        Tensor: Weights of shape (N, C), without gradient.
    """
    num_rois, num_classes = labels.numel(), tail_mask.numel()
    fg = labels < num_classes
    if drop_background:
        if tail_inds is None:
            tail_inds = tail_mask.nonzero().squeeze(1)
        # float 0/1 in place: each N x C or N x T tensor made is a fresh
        # allocation, which costs more than the arithmetic on it
        keep = torch.rand(
            num_rois, tail_inds.numel(), device=labels.device,
            generator=generator).lt_(keep_ratio).mul_(~fg[:, None])
        weight = torch.ones(num_rois, num_classes, device=labels.device)
        weight.index_copy_(1, tail_inds, keep)
    else:
        head_row = (~tail_mask).float()
        weight = torch.where(fg[:, None], head_row[None, :],
                             head_row.new_ones(1, num_classes))
    # a foreground row keeps its own label's term, tail or not
    col, fg = target_columns(labels, num_classes)
    return weight.scatter_(1, col, weight.gather(1, col).masked_fill_(fg, 1))


def target_columns(labels: Tensor, num_classes: int) -> Tuple[Tensor, Tensor]:
    """Each RoI's target column and whether it is foreground, both (N, 1).

    Background rows (label C) point at column C - 1, where the callers'
    gather-and-scatter writes back the value it read, so that the host
    never learns how many rows are foreground.

    Args:
        labels (Tensor): RoI labels of shape (N, ).
        num_classes (int): Number of categories C.

    Returns:
        Tuple[Tensor, Tensor]: Columns (long) and foreground mask (bool),
        both of shape (N, 1).
    """
    return (labels.clamp(max=num_classes - 1)[:, None],
            (labels < num_classes)[:, None])


def bce_terms(cls_score: Tensor, labels: Tensor) -> Tensor:
    """``(1 - t) z - log sigmoid(z)``, as torch >= 2.2 computes BCE (torch
    2.1 rounds its formula differently, by about 1e-6 on a term), with
    ``t`` one-hot at each foreground RoI's label.

    Args:
        cls_score (Tensor): Logits ``z`` of shape (N, C).
        labels (Tensor): Labels of shape (N, ), C for background.

    Returns:
        Tensor: The terms, shape (N, C).
    """
    col, fg = target_columns(labels, cls_score.size(1))
    terms = F.logsigmoid(cls_score).neg_()
    target_terms = terms.gather(1, col)
    # z + (-log sigmoid(z)) is z - log sigmoid(z) bit for bit
    terms.add_(cls_score)
    return terms.scatter_(1, col,
                          torch.where(fg, target_terms, terms.gather(1, col)))


class WeightedSigmoidBCE(torch.autograd.Function):
    """Per-RoI weighted sum of sigmoid BCE terms.

    Computes ``sum_j w_ij * BCEWithLogits(z_ij, t_ij)`` with ``t`` one-hot
    at the label of foreground rows, from the labels instead of a dense
    target (a target term always has weight 1). The terms are
    ``bce_terms``' (torch >= 2.2's ``binary_cross_entropy_with_logits``
    formula; torch 2.1's to rounding), the gradient as torch's backward.
    """

    @staticmethod
    def forward(ctx, cls_score: Tensor, labels: Tensor,
                weight: Tensor) -> Tensor:
        terms = bce_terms(cls_score, labels)
        loss = terms.mul_(weight).sum(dim=1)
        ctx.save_for_backward(cls_score, labels, weight)
        # Fresh N x C memory costs more than the arithmetic on it: the
        # backward writes the gradient over the terms, used only once.
        ctx.scratch = terms
        return loss

    @staticmethod
    def backward(ctx, grad_loss: Tensor) -> Tuple[Tensor, None, None]:
        cls_score, labels, weight = ctx.saved_tensors
        scratch, ctx.scratch = ctx.scratch, None
        grad = torch.sigmoid(cls_score, out=scratch)
        # x - 1 at the targets; x - 0 is x elsewhere
        col, fg = target_columns(labels, grad.size(1))
        grad.scatter_(1, col, grad.gather(1, col) - fg.to(grad.dtype))
        grad.mul_(grad_loss[:, None]).mul_(weight)
        return grad, None, None
