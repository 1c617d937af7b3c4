# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .setup_env import load_config, setup_cpu_distributed

__all__ = ['load_config', 'setup_cpu_distributed']
