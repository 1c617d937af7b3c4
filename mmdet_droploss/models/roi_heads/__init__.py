# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .bbox_heads import *  # noqa: F401,F403
