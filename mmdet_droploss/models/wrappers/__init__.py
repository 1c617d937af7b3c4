# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .cpu_distributed import CPUDistributedDataParallel

__all__ = ['CPUDistributedDataParallel']
