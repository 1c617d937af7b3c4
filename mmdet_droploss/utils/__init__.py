# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .config_checks import check_class_counts, class_counts
from .setup_env import load_config, setup_cpu_distributed

__all__ = [
    'check_class_counts', 'class_counts', 'load_config',
    'setup_cpu_distributed'
]
