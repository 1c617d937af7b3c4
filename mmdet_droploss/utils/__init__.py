# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .config_checks import (
    check_amp_dtype,
    check_class_counts,
    check_sync_stats,
    class_counts,
)
from .data_checks import check_data_files, missing_data_files
from .setup_env import load_config, setup_cpu_distributed

__all__ = [
    'check_amp_dtype', 'check_class_counts', 'check_sync_stats',
    'class_counts', 'check_data_files', 'missing_data_files', 'load_config',
    'setup_cpu_distributed'
]
