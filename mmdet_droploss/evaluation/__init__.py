# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .fast_lvis_metric import FastLVISMetric
from .packed_masks import PackedMasks

__all__ = ['FastLVISMetric', 'PackedMasks']
