# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .losses import *  # noqa: F401,F403
from .roi_heads import *  # noqa: F401,F403
