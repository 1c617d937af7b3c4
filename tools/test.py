# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Test a checkpoint; the arguments are MMDetection's ``tools/test.py``'s."""
import argparse
import os
import os.path as osp

from mmdet.evaluation import DumpDetResults
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_droploss.utils import (
    build_runner,
    check_data_files,
    leave_process_group,
    load_config,
    parse_tool_args,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the file with the metrics')
    parser.add_argument(
        '--out',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory, inside the work dir, to save painted images')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    return parse_tool_args(parser)


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Let DetVisualizationHook draw predictions, as --show/--show-dir ask."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError('--show/--show-dir need the visualization hook '
                           '(default_hooks.visualization) in the config.')
    hooks.visualization.draw = True
    if args.show:
        hooks.visualization.show = True
        hooks.visualization.wait_time = args.wait_time
    if args.show_dir:
        hooks.visualization.test_out_dir = args.show_dir


def log_show_dir(runner: Runner, show_dir: str) -> None:
    """Say where DetVisualizationHook painted the test images.

    Args:
        runner (Runner): The runner after ``test()``.
        show_dir (str): The ``--show-dir`` argument.
    """
    # the hook writes to <work_dir>/<timestamp>/<show_dir>, a folder the user
    # cannot know in advance
    folder = osp.join(runner.work_dir, runner.timestamp, show_dir)
    count = len(os.listdir(folder)) if osp.isdir(folder) else 0
    runner.logger.info(
        f'{count} images painted with the predictions: {folder}')


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    try:
        if not args.no_data_check:
            check_data_files(
                cfg,
                dataloaders=['test_dataloader'],
                evaluators=['test_evaluator'],
                config_path=args.config)
    except FileNotFoundError as error:
        # the message says all there is to say; no traceback
        raise SystemExit(f'tools/test.py: {error}') from None
    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        enable_visualization(cfg, args)

    runner = build_runner(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must name a .pkl or .pickle file.')
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()
    if args.show_dir:
        log_show_dir(runner, args.show_dir)
    leave_process_group()


if __name__ == '__main__':
    main()
