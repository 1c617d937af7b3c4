# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""DropLoss for long-tail instance segmentation (Hsieh et al., AAAI 2021).

arXiv: https://arxiv.org/abs/2104.06402
"""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmdet.models.losses.accuracy import accuracy
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from mmengine.dist import get_rank
from mmengine.model import bias_init_with_prob, is_model_wrapper
from torch import Tensor

from mmdet_droploss.datasets.category_frequency import (
    FrequencyTable,
    load_category_freq,
)

from .drop_loss_ops import (
    WeightedSigmoidBCE,
    drop_keep_ratio,
    drop_loss_weight,
    drop_seed,
)

MODES = ('drop', 'eql', 'bce')


def drop_loss(cls_score: Tensor,
              labels: Tensor,
              tail_mask: Tensor,
              drop_background: bool = True,
              sync_stats: bool = False,
              tail_inds: Optional[Tensor] = None,
              generator: Optional[torch.Generator] = None
              ) -> Tuple[Tensor, Tensor]:
    """Sigmoid BCE over C categories with DropLoss's weights, per RoI.

    Args:
        cls_score (Tensor): Logits of shape (N, C), no background column.
        labels (Tensor): RoI labels of shape (N, ), ``C`` for background.
        tail_mask (Tensor): Boolean mask of shape (C, ).
        drop_background (bool): False gives Equalization Loss.
        sync_stats (bool): Compute the keep ratio over all replicas (with
            ``drop_background`` only).
        tail_inds (Tensor, optional): Indices of shape (T, ) of the tail
            categories; given, nothing is read back from the device.
        generator (torch.Generator, optional): Generator of the drop
            draws, on the logits' device; None uses the device's default.

    Returns:
        Tuple[Tensor, Tensor]: The float32 loss of each RoI, shape (N, ),
        and the keep ratio ``r`` used (1 when nothing is dropped).
    """
    if tail_mask.numel() != cls_score.size(1):
        raise ValueError(
            f'cls_score has {cls_score.size(1)} columns but the tail mask '
            f'has {tail_mask.numel()} categories.')
    if drop_background:
        keep_ratio = drop_keep_ratio(labels, tail_mask, sync_stats)
    else:
        keep_ratio = cls_score.new_ones((), dtype=torch.float32)
    weight = drop_loss_weight(labels, tail_mask, keep_ratio, drop_background,
                              tail_inds, generator)
    # float32 even under autocast, as binary_cross_entropy_with_logits runs
    return WeightedSigmoidBCE.apply(cls_score.float(), labels,
                                    weight), keep_ratio


@MODELS.register_module()
class DropLoss(nn.Module):
    """DropLoss: sigmoid classification over C categories that drops the
    discouraging gradients background RoIs send to tail categories.

    Per element ``w_ij`` of RoI i and category j: foreground rows drop tail
    columns other than their label; background rows keep each tail column
    with probability ``r``, the share of tail categories among the
    batch's foreground RoIs. Tail categories are those whose training-image
    frequency is below ``lambda_``.

    Args:
        num_classes (int): Number of foreground categories C.
            Defaults to 1203 (LVIS v1).
        lambda_ (float): Frequency threshold of the tail set, in (0, 1).
            Defaults to 0.00177, the authors' LVIS setting.
        category_freq (Sequence[float] | str, optional): Per-class image
            frequencies in the training set's label order, or a JSON file
            keyed by category id (``tools/misc/export_category_freq.py``)
            that ``CategoryFrequencyHook`` maps; None leaves them to that
            hook, which computes them from the training set.
        mode (str): 'drop' (DropLoss), 'eql' (Equalization Loss: background
            rows keep every term) or 'bce' (plain sigmoid BCE, no
            frequencies needed). Defaults to 'drop'.
        sync_stats (bool): Compute ``r`` over the global batch of all
            replicas (mode 'drop' only). Every replica must then call the
            loss at every iteration, also with no RoI, as
            ``DropLossBBoxHead`` does. Defaults to False, as in the paper.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        return_dict (bool): Return ``dict(loss_cls=..., drop_keep_ratio=...)``
            so that the keep ratio is logged; False returns the loss tensor.
            Defaults to True.

    The drop draws come from a generator of the loss's own per process,
    seeded from the run's seed and the global rank (:meth:`generator`);
    ``RandomStateHook`` saves and restores its state.
    """

    def __init__(self,
                 num_classes: int = 1203,
                 lambda_: float = 0.00177,
                 category_freq: Optional[Union[Sequence[float], str]] = None,
                 mode: str = 'drop',
                 sync_stats: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 return_dict: bool = True) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f'DropLoss num_classes must be a positive int, got '
                f'{num_classes!r}.')
        if not 0 < lambda_ < 1:
            raise ValueError(
                f'DropLoss lambda_ must lie in (0, 1), got {lambda_!r}; it is '
                'a frequency threshold, e.g. 0.00177 for LVIS.')
        if mode not in MODES:
            raise ValueError(
                f'DropLoss mode must be one of {MODES}, got {mode!r}.')
        assert reduction in ('none', 'mean', 'sum')
        self.num_classes = num_classes
        self.lambda_ = lambda_
        self.mode = mode
        self.sync_stats = sync_stats
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.return_dict = return_dict
        # NaN marks "not set yet"; a buffer, so that checkpoints carry it
        self.register_buffer(
            'category_freq',
            torch.full((num_classes, ), float('nan'), dtype=torch.float64))
        # derived, so that the forward reads nothing back from the device
        self.register_buffer(
            '_tail_mask', torch.zeros(num_classes, dtype=torch.bool),
            persistent=False)
        self.register_buffer(
            '_tail_inds', torch.zeros(0, dtype=torch.long), persistent=False)
        self._freq_set = False
        # what the config named (label order, or a table keyed by id), for
        # CategoryFrequencyHook to choose between it and a checkpoint's
        self.named_freq: Optional[Union[Tensor, FrequencyTable]] = None
        self._generator: Optional[torch.Generator] = None
        if category_freq is not None:
            named = load_category_freq(category_freq, num_classes)
            if isinstance(named, FrequencyTable):
                self.named_freq = named
            else:
                self.set_category_freq(named)

        self.custom_cls_channels = True
        self.custom_activation = True
        self.custom_accuracy = True

    @property
    def has_category_freq(self) -> bool:
        """bool: Whether the buffer holds frequencies (named in the config,
        set, or loaded from a checkpoint)."""
        return self._freq_set

    @property
    def uses_category_freq(self) -> bool:
        """bool: Whether the loss needs the category frequencies."""
        return self.mode != 'bce'

    @property
    def needs_category_freq(self) -> bool:
        """bool: Whether the loss uses frequencies and they are unset."""
        return self.uses_category_freq and not self._freq_set

    def require_category_freq(self) -> None:
        """Raise the error that says how to give unset frequencies."""
        name = type(self).__name__
        if not self.needs_category_freq:
            return
        if isinstance(self.named_freq, FrequencyTable):
            raise RuntimeError(
                f'{name} was given the {self.named_freq.source}, which is '
                'keyed by category id; add dict(type="CategoryFrequencyHook")'
                " to custom_hooks to map it into the training dataset's "
                'label order.')
        raise RuntimeError(
            f'{name} has no category frequencies. Give them in the config '
            '(model.roi_head.bbox_head.loss_cls.category_freq = a list or a '
            'JSON file from tools/misc/export_category_freq.py), or add '
            'dict(type="CategoryFrequencyHook") to custom_hooks to compute '
            'them from the training set.')

    @property
    def tail_mask(self) -> Tensor:
        """Tensor: Boolean (C, ) mask of the tail set ``f_j < lambda_``
        (empty in mode 'bce')."""
        self.require_category_freq()
        return self._tail_mask

    @property
    def tail_inds(self) -> Tensor:
        """Tensor: Indices of shape (T, ) of the tail categories."""
        self.require_category_freq()
        return self._tail_inds

    def set_category_freq(self, category_freq: Sequence[float]) -> None:
        """Store per-class frequencies (indexed by label) in the buffer.

        They count as named (as if the config gave them), so
        ``CategoryFrequencyHook`` keeps them over a ``load_from``
        checkpoint's.

        Args:
            category_freq (Sequence[float]): C frequencies in [0, 1].
        """
        freq = torch.as_tensor(category_freq, dtype=torch.float64)
        if freq.shape != (self.num_classes, ):
            raise ValueError(
                f'DropLoss has num_classes={self.num_classes} but got '
                f'{freq.numel()} category frequencies; use the frequency '
                'table of the dataset the model is trained on.')
        bad = ((freq < 0) | (freq > 1) | freq.isnan()).nonzero()
        if bad.numel():
            i = int(bad[0, 0])
            raise ValueError(
                f'Category frequencies must lie in [0, 1]; entry {i} is '
                f'{freq[i].item()!r}.')
        num_tail = int((freq < self.lambda_).sum())
        if self.mode != 'bce' and num_tail in (0, self.num_classes):
            warnings.warn(
                f'DropLoss lambda_={self.lambda_} puts {num_tail} of '
                f'{self.num_classes} categories in the tail set, so the '
                'loss is plain sigmoid BCE (no tail) or drops every '
                'category (all tail); check lambda_ against the frequency '
                'table.')
        self.category_freq.copy_(freq.to(self.category_freq.device))
        self.named_freq = freq.clone()
        self._cache_tail()

    def _cache_tail(self) -> None:
        """Derive the tail mask and indices from the buffer (the one place
        that reads the frequencies back from the device)."""
        freq = self.category_freq
        self._freq_set = not bool(freq.isnan().any())
        mask = (freq < self.lambda_) & (self._freq_set and self.mode != 'bce')
        self._tail_mask = mask
        self._tail_inds = mask.nonzero().squeeze(1)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """Load as usual, then derive the tail set from the frequencies
        (a checkpoint's buffer of another shape is not loaded: PyTorch
        reports the mismatch and the buffer keeps its values)."""
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._cache_tail()

    def generator(self, device: torch.device) -> Optional[torch.Generator]:
        """The generator of this process's drop draws on ``device``, made
        at the first draw there and seeded by :func:`drop_seed` from the
        run's seed (``torch.initial_seed()``, which MMEngine sets) and the
        global rank: every rank drops different terms, and a rerun with the
        same seed the same ones.

        Args:
            device (torch.device): Device of the logits.

        Returns:
            torch.Generator | None: The generator; None on the meta device,
            where nothing is drawn.
        """
        if device.type == 'meta':
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(
                drop_seed(torch.initial_seed(), get_rank()))
        return self._generator

    def get_rng_state(self) -> Optional[dict]:
        """dict | None: The drop generator's device and state, None before
        the first draw."""
        if self._generator is None:
            return None
        return dict(device=self._generator.device.type,
                    state=self._generator.get_state())

    def set_rng_state(self, state: dict) -> None:
        """Continue the drop draws from a state of :meth:`get_rng_state`,
        on the device that the loss's buffers are on.

        Args:
            state (dict): The saved ``device`` type and ``state``.
        """
        device = self.category_freq.device
        if state['device'] != device.type:
            raise ValueError(
                f"The saved drop generator state is for {state['device']} "
                f'but the loss is on {device.type}.')
        self._generator = torch.Generator(device=device)
        self._generator.set_state(state['state'])

    def __getstate__(self) -> dict:
        # a copy (an EMA model, a pickle) starts its own stream
        state = self.__dict__.copy()
        state['_generator'] = None
        return state

    def get_cls_channels(self, num_classes: int) -> int:
        """Classifier channels: C sigmoid outputs, no background logit.

        Args:
            num_classes (int): The head's number of classes.

        Returns:
            int: ``num_classes``.
        """
        if num_classes != self.num_classes:
            raise ValueError(
                f'The bbox head has num_classes={num_classes} but its '
                f'DropLoss has num_classes={self.num_classes}; set both to '
                'the number of categories of the dataset.')
        return num_classes

    @staticmethod
    def activation(cls_score: Tensor) -> Tensor:
        """The scores of the logits, elementwise: the sigmoid."""
        return cls_score.sigmoid()

    @staticmethod
    def prior_logit(prob: float) -> float:
        """The logit whose score is ``prob``, for the classifier's bias."""
        return bias_init_with_prob(prob)

    def get_activation(self, cls_score: Tensor) -> Tensor:
        """Scores with a zero background column appended.

        Args:
            cls_score (Tensor): Logits of shape (N, C).

        Returns:
            Tensor: Scores of shape (N, C + 1).
        """
        scores = self.activation(cls_score)
        return torch.cat([scores, scores.new_zeros(scores.size(0), 1)],
                         dim=1)

    def get_accuracy(self, cls_score: Tensor,
                     labels: Tensor) -> Dict[str, Tensor]:
        """Top-1 accuracy of the foreground RoIs.

        Args:
            cls_score (Tensor): Logits of shape (N, C).
            labels (Tensor): Labels of shape (N, ).

        Returns:
            Dict[str, Tensor]: ``acc``, in percent.
        """
        fg = labels < self.num_classes
        return dict(acc=accuracy(cls_score[fg], labels[fg]))

    def forward(
        self,
        cls_score: Tensor,
        labels: Tensor,
        label_weights: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None
    ) -> Union[Tensor, Dict[str, Tensor]]:
        """Forward function.

        Args:
            cls_score (Tensor): Logits of shape (N, C).
            labels (Tensor): Labels of shape (N, ), C for background.
            label_weights (Tensor, optional): RoI weights of shape (N, ).
            avg_factor (float, optional): Divisor of the summed loss,
                normally the number of sampled RoIs.
            reduction_override (str, optional): 'none', 'mean' or 'sum'.

        Returns:
            Tensor | Dict[str, Tensor]: The loss, or with ``return_dict``
            ``loss_cls`` and what :meth:`roi_losses` logs beside it.
        """
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override or self.reduction
        loss, logged = self.roi_losses(cls_score, labels)
        if reduction != 'none' and loss.numel() == 0:
            loss = loss.sum()  # no RoI: 0, still in the graph for backward
        else:
            if label_weights is not None:
                label_weights = label_weights.float()
            loss = weight_reduce_loss(loss, weight=label_weights,
                                      reduction=reduction,
                                      avg_factor=avg_factor)
        loss = self.loss_weight * loss
        return dict(loss_cls=loss, **logged) if self.return_dict else loss

    def roi_losses(self, cls_score: Tensor,
                   labels: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The loss of each RoI, and what to log beside it.

        Args:
            cls_score (Tensor): Logits of shape (N, C).
            labels (Tensor): Labels of shape (N, ), C for background.

        Returns:
            Tuple[Tensor, Dict[str, Tensor]]: Float32 losses of shape
            (N, ), and the keep ratio ``drop_keep_ratio``.
        """
        loss, keep_ratio = drop_loss(
            cls_score,
            labels,
            self.tail_mask,
            drop_background=self.mode == 'drop',
            sync_stats=self.sync_stats,
            tail_inds=self.tail_inds,
            generator=(self.generator(cls_score.device)
                       if self.mode == 'drop' else None))
        return loss, dict(drop_keep_ratio=keep_ratio)


def drop_losses(model: Optional[nn.Module]) -> List[Tuple[str, DropLoss]]:
    """The ``DropLoss`` modules (and subclasses) of a model, wrapped or
    not, with their names; none for no model.

    Args:
        model (nn.Module, optional): The model.

    Returns:
        List[Tuple[str, DropLoss]]: (name, loss) pairs.
    """
    if model is None:
        return []
    if is_model_wrapper(model):
        model = model.module
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, DropLoss)]
