# Copyright (c) mmdet-droploss contributors. All rights reserved.
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmengine.model import bias_init_with_prob
from mmengine.structures import InstanceData
from torch import Tensor


@MODELS.register_module()
class DropLossBBoxHead(Shared2FCBBoxHead):
    """A ``Shared2FCBBoxHead`` with a sigmoid classifier of C outputs.

    The classifier has no background logit (its loss, e.g. ``DropLoss``,
    sets the channels and the activation), and its bias starts at
    ``-log((1 - p) / p)`` (or the inverse of the loss's activation) so that
    every category begins with score about ``p``, whatever the predictor
    (``nn.Linear`` or ``NormedLinear``). Its loss is computed at every
    iteration, also when the batch has no RoI (MMDetection's ``BBoxHead``
    then skips it), so that every rank joins a loss's collective
    (DropLoss's ``sync_stats=True``, EQLv2's statistics).

    At test time, ``test_cfg.rcnn.max_per_cls`` (optional) keeps at most
    that many detections of each class per image (the highest scoring,
    after NMS), then ``max_per_img`` applies (-1: no cap): what Fixed AP
    evaluation needs (``configs/droploss_r50_lvis_apfixed.py``).

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

    def loss(self,
             cls_score: Tensor,
             bbox_pred: Tensor,
             rois: Tensor,
             labels: Tensor,
             label_weights: Tensor,
             bbox_targets: Tensor,
             bbox_weights: Tensor,
             reduction_override: Optional[str] = None) -> dict:
        """``BBoxHead.loss`` (same arguments and return), with the
        classification loss also for a batch without RoI: a rank that
        skipped it would leave the others waiting in the loss's collective
        (DropLoss's ``sync_stats``, EQLv2's statistics) for ever."""
        losses = super().loss(cls_score, bbox_pred, rois, labels,
                              label_weights, bbox_targets, bbox_weights,
                              reduction_override)
        if cls_score is not None and cls_score.numel() == 0:
            loss_cls = self.loss_cls(
                cls_score, labels, label_weights, avg_factor=1.,
                reduction_override=reduction_override)
            if isinstance(loss_cls, dict):
                losses.update(loss_cls)
            else:
                losses['loss_cls'] = loss_cls
        return losses

    def init_weights(self) -> None:
        """Initialise as MMDetection does, then set the prior bias: the
        loss's ``prior_logit`` (the inverse of its activation) where it has
        one (DropLoss and its subclasses), else the sigmoid's."""
        super().init_weights()
        if self.with_cls and self.fc_cls.bias is not None:
            prior_logit = getattr(self.loss_cls, 'prior_logit',
                                  bias_init_with_prob)
            nn.init.constant_(self.fc_cls.bias,
                              prior_logit(self.cls_prior_prob))

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
                kind = (f' (a softmax classifier: {theirs - 1} classes '
                        'and background)' if theirs == rows + 1 else '')
                print_log(
                    f'Checkpoint classifier {prefix}fc_cls has {theirs} '
                    f'outputs{kind}, but {type(self).__name__} has '
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

    def _predict_by_feat_single(
            self,
            roi: Tensor,
            cls_score: Tensor,
            bbox_pred: Tensor,
            img_meta: dict,
            rescale: bool = False,
            rcnn_test_cfg: Optional[ConfigDict] = None) -> InstanceData:
        """``BBoxHead._predict_by_feat_single`` (same arguments and
        return), with the optional per-class cap ``rcnn_test_cfg.max_per_cls``
        before ``max_per_img``."""
        max_per_cls = None if rcnn_test_cfg is None else rcnn_test_cfg.get(
            'max_per_cls')
        if max_per_cls is None:
            return super()._predict_by_feat_single(
                roi, cls_score, bbox_pred, img_meta, rescale, rcnn_test_cfg)
        if isinstance(max_per_cls, bool) or not isinstance(
                max_per_cls, int) or max_per_cls < 1:
            raise ValueError(
                'test_cfg.rcnn.max_per_cls must be a positive integer '
                f'(detections kept per class and image), got '
                f'{max_per_cls!r}; remove it for no per-class cap.')
        uncapped = copy.deepcopy(rcnn_test_cfg)
        uncapped.max_per_img = -1
        results = super()._predict_by_feat_single(
            roi, cls_score, bbox_pred, img_meta, rescale, uncapped)
        # multiclass_nms returns its detections by descending score: a
        # stable sort by label keeps that order inside each class
        labels, order = torch.sort(results.labels, stable=True)
        first = torch.searchsorted(labels, labels)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(len(order), device=order.device) - first
        results = results[rank < max_per_cls]
        max_per_img = rcnn_test_cfg.max_per_img
        if max_per_img > 0:
            results = results[:max_per_img]
        return results
