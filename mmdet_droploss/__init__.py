# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""DropLoss for long-tail instance segmentation, for MMDetection 3.x.

Importing the package registers its loss, head, hook and metric into
MMDetection's registries.
"""
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .version import __version__

__all__ = ['__version__']
