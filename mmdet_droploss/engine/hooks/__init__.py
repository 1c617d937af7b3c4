# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .category_frequency_hook import CategoryFrequencyHook

__all__ = ['CategoryFrequencyHook']
