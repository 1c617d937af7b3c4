# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .category_frequency_hook import CategoryFrequencyHook
from .cls_gradient_stats_hook import ClsGradientStatsHook
from .num_classes_check_hook import NumClassesCheckHook
from .random_state_hook import RandomStateHook

__all__ = [
    'CategoryFrequencyHook', 'ClsGradientStatsHook', 'NumClassesCheckHook',
    'RandomStateHook'
]
