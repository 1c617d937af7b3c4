# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Train a detector; the arguments are MMDetection's ``tools/train.py``'s."""
import argparse

import torch

from mmdet_droploss.utils import (
    build_runner,
    check_amp_dtype,
    check_data_files,
    check_pretrained,
    leave_process_group,
    load_config,
    parse_tool_args,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: float16 with loss scaling on CUDA, '
        'bfloat16 autocast on the CPU')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    return parse_tool_args(parser)


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    # the runner validates only when all three are set
    validates = all(
        cfg.get(k) for k in ('val_cfg', 'val_dataloader', 'val_evaluator'))
    try:
        if not args.no_data_check:
            check_data_files(
                cfg,
                dataloaders=['train_dataloader'] +
                (['val_dataloader'] if validates else []),
                evaluators=['val_evaluator'] if validates else [],
                config_path=args.config)
        check_pretrained(cfg.model)
    except (FileNotFoundError, ImportError) as error:
        # the message says all there is to say; no traceback
        raise SystemExit(f'tools/train.py: {error}') from None

    if args.amp and torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    elif args.amp:
        # bfloat16 autocast, float32 where mmcv's CPU ops need it
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
    check_amp_dtype(cfg)

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr = '
                               'dict(base_batch_size=...) in the config.')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    runner = build_runner(cfg)
    runner.train()
    leave_process_group()


if __name__ == '__main__':
    main()
