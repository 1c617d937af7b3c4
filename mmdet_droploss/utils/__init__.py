# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .config_checks import (
    check_amp_dtype,
    check_class_counts,
    check_sync_stats,
    class_counts,
)
from .data_checks import check_data_files, missing_data_files
from .setup_env import build_runner, load_config, parse_tool_args
from .stack_check import check_pretrained

__all__ = [
    'check_amp_dtype', 'check_class_counts', 'check_data_files',
    'check_pretrained', 'check_sync_stats', 'class_counts', 'load_config',
    'missing_data_files', 'build_runner', 'parse_tool_args'
]
