# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .packed_masks import PackedMasks

__all__ = ['PackedMasks']
