# Copyright (c) mmdet-droploss contributors. All rights reserved.
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .config_checks import (
    check_amp_dtype,
    check_class_counts,
    check_sync_stats,
)


def load_config(path: str,
                launcher: str = 'none',
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Read a config as MMDetection's tools do.

    ``--cfg-options`` are merged in, and the work dir is the one given, else
    the config's, else ``./work_dirs/<config name>``. Disagreeing class
    counts (box head, loss, frequency list, mask head), a DropLoss with
    ``sync_stats=True`` in a head that may skip it and bfloat16 in the CUDA
    AMP wrapper fail here.

    Args:
        path (str): Config file.
        launcher (str): Job launcher.
        cfg_options (dict, optional): Overrides from the command line.
        work_dir (str, optional): Work dir from the command line.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    check_class_counts(cfg)
    check_sync_stats(cfg)
    check_amp_dtype(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg
