# Copyright (c) mmdet-droploss contributors. All rights reserved.
import argparse
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .config_checks import check_amp_dtype, check_sync_stats


def load_config(path: str,
                launcher: str = 'none',
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Read a config as MMDetection's tools do.

    ``--cfg-options`` are merged in, and the work dir is the one given, else
    the config's, else ``./work_dirs/<config name>``. A DropLoss with
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
    check_sync_stats(cfg)
    check_amp_dtype(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the arguments ``tools/train.py`` and ``tools/test.py`` share
    (MMDetection's, and ``--no-data-check``), then parse.

    Args:
        parser (ArgumentParser): The tool's parser, with its own arguments.

    Returns:
        Namespace: The arguments; ``LOCAL_RANK`` is set from ``--local-rank``
        where the launcher passed that instead (torch.distributed.launch).
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value, e.g. '
        'model.roi_head.bbox_head.loss_cls.lambda_=0.0010062')
    parser.add_argument(
        '--no-data-check',
        action='store_true',
        help='do not check that the dataset files exist before building '
        '(files read through backend_args are asked of that file backend; '
        'docs/troubleshooting.md)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_runner(cfg: Config) -> Runner:
    """The runner, as MMDetection's tools build it. Without CUDA the CPU
    wrappers are registered and a torchrun launch is set up over gloo
    first (``mmdet_droploss.cpu``).

    Args:
        cfg (Config): The config.

    Returns:
        Runner: The runner.
    """
    if not torch.cuda.is_available():
        from mmdet_droploss.cpu import setup_cpu_distributed
        setup_cpu_distributed(cfg)
    return (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
            RUNNERS.build(cfg))


def leave_process_group() -> None:
    """End a distributed run's process group before the interpreter exits.

    Left to the exit, the group's threads are torn down while still
    joinable now and then ("terminate called without an active exception",
    a rank aborted after its run finished); the barrier first lets every
    rank finish its last collective.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
