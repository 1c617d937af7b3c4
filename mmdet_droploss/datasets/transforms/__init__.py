# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .checked_loading import CheckedLoadImageFromFile

__all__ = ['CheckedLoadImageFromFile']
