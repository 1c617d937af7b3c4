# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""DropLoss for long-tail instance segmentation, for MMDetection 3.x.

Importing the package registers its loss, head, hook and metric into
MMDetection's registries.
"""
from .stack_check import check_stack

# before anything imports mmdet or mmcv's ops: a mismatch is named with its fix
check_stack()

from .datasets import *  # noqa: E402,F401,F403
from .engine import *  # noqa: E402,F401,F403
from .evaluation import *  # noqa: E402,F401,F403
from .models import *  # noqa: E402,F401,F403
from .safe_globals import register_safe_globals  # noqa: E402
from .version import __version__  # noqa: E402

# MMEngine's checkpoints load under torch's weights-only default (>= 2.6)
register_safe_globals()

__all__ = ['__version__']
