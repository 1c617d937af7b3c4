# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""What tools/train.py and tools/test.py check and set up around a run;
``import mmdet_droploss`` does not load it."""
from .config_checks import check_amp_dtype, check_pretrained, check_sync_stats
from .data_checks import check_data_files, missing_data_files
from .setup_env import (
    build_runner,
    leave_process_group,
    load_config,
    parse_tool_args,
)

__all__ = [
    'build_runner', 'check_amp_dtype', 'check_data_files', 'check_pretrained',
    'check_sync_stats', 'leave_process_group', 'load_config',
    'missing_data_files', 'parse_tool_args'
]
