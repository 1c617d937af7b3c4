# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .fast_lvis_metric import FastLVISMetric

__all__ = ['FastLVISMetric']
