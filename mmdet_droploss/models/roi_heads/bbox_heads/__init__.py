# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .droploss_bbox_head import DropLossBBoxHead

__all__ = ['DropLossBBoxHead']
