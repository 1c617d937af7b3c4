# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""The LVIS-shaped experiment of docs/analysis.md on one GPU, sized to a
time budget.

Sigmoid, EQL and DropLoss (``configs/analysis/*_r18_lvis_like.py``) train
at once, three processes on the one GPU with their data loaded on the
machine's cores. The CPU runs trained 700 iterations (2 epochs of 350);
here a short probe of all three together measures the seconds per
iteration, and the runs train as many whole epochs as the budget holds, up
to ``--max-scale`` times the CPU runs' iterations (20: 40 epochs), with the
CPU runs' schedule stretched (warm-up 50 iterations, learning rate divided
by 10 for the last seventh). Then each is tested under LVIS's standard
protocol and Fixed AP in one pass, and the tables of
``tools/analysis/seed_table.py`` are printed: the question is whether
DropLoss overtakes the sigmoid baseline as the passes, and with them the
negatives the tail categories receive, grow.

``--dry-run`` runs every step on the CPU with tiny sizes: 2 iterations on 8
training images, 4 test images.

    python tools/gpu/lvis_like_experiment.py --work-dir work_dirs/gpu_lvis \
        --budget-s 330
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from statistics import median
from typing import Dict, List, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = ('sigmoid', 'eql', 'droploss')
CPU_ITERS = 700  # the CPU runs of docs/analysis.md: 2 epochs
ITERS_PER_EPOCH = 350  # 1,400 training images, 4 per batch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--data', default='data/lvis_like',
                        help='made here (10 s) where it is missing')
    parser.add_argument('--budget-s', type=float, default=330,
                        help='seconds for the data, the probe and '
                        'training, start-ups included')
    parser.add_argument('--max-scale', type=float, default=20,
                        help='at most this many times the CPU runs\' '
                        f'{CPU_ITERS} iterations')
    parser.add_argument('--probe-iters', type=int, default=40)
    parser.add_argument('--workers', type=int, default=4,
                        help='data loading processes per run')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dry-run', action='store_true',
                        help='tiny sizes, on whatever device there is')
    args = parser.parse_args()
    if args.budget_s <= 0 or args.max_scale <= 0 or args.probe_iters < 20:
        parser.error('--budget-s and --max-scale must be positive and '
                     '--probe-iters at least 20 (two logged windows of 10)')
    return args


def config(method: str) -> str:
    return osp.join(REPO, 'configs', 'analysis',
                    f'{method}_r18_lvis_like.py')


def run_together(cmds: Sequence[List[str]], logs: Sequence[str],
                 timeout_s: float) -> List[float]:
    """Runs the commands at once, each writing to its log; returns each
    one's seconds. A failure names the log to read."""
    procs, starts = [], []
    for cmd, log in zip(cmds, logs):
        with open(log, 'w') as f:
            procs.append(subprocess.Popen(cmd, stdout=f,
                                          stderr=subprocess.STDOUT,
                                          cwd=REPO))
        starts.append(time.monotonic())
    seconds = []
    deadline = time.monotonic() + timeout_s
    for proc, start, log in zip(procs, starts, logs):
        try:
            rc = proc.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise SystemExit(f'still running after {timeout_s:.0f} s: {log}')
        if rc != 0:
            for p in procs:
                p.kill()
            with open(log) as f:
                tail = ''.join(f.readlines()[-30:])
            raise SystemExit(f'{tail}\nexit status {rc}: see {log}')
        seconds.append(time.monotonic() - start)
    return seconds


def fresh_probe_dirs(work_dir: str) -> List[str]:
    """The probe's folders, one per method, made empty: a rerun in the same
    work dir (the GPU check rerun on a warm machine) must not read the last
    probe's logs."""
    root = osp.join(work_dir, 'probe')
    shutil.rmtree(root, ignore_errors=True)
    dirs = [osp.join(root, m) for m in METHODS]
    for d in dirs:
        os.makedirs(d)
    return dirs


def iteration_times(work_dir: str) -> List[float]:
    """The iteration times MMEngine logged (one per logger window)."""
    paths = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    if len(paths) != 1:
        raise SystemExit(f'expected one scalars.json under {work_dir}, '
                         f'found {len(paths)}')
    with open(paths[0]) as f:
        return [json.loads(line)['time'] for line in f
                if '"time"' in line]


def train_options(epochs: int, iters: int, args: argparse.Namespace,
                  logger_interval: int) -> List[str]:
    """The CPU runs' schedule stretched to ``iters`` iterations."""
    return [
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_begin={epochs + 1}',
        f'param_scheduler.1.end={iters}',
        f'param_scheduler.1.milestones=[{iters - math.ceil(iters / 7)}]',
        f'default_hooks.checkpoint.interval={epochs}',
        f'default_hooks.logger.interval={logger_interval}',
        f'randomness.seed={args.seed}',
        f'train_dataloader.num_workers={args.workers}',
        f"train_dataloader.dataset.data_root={args.data.rstrip('/')}/",
    ]


def size_runs(args: argparse.Namespace, spent_s: float,
              probe: Dict[str, float], probe_iters: int,
              per_iter: float) -> int:
    """Whole epochs that fit what ``spent_s`` (the data and the probe) left
    of the budget, at most ``max_scale`` x the CPU runs. ``probe`` holds
    each run's wall seconds for its ``probe_iters`` iterations."""
    startup = max(max(probe.values()) - probe_iters * per_iter, 0)
    left = args.budget_s - spent_s
    fit = (left - startup) / per_iter
    iters = min(args.max_scale * CPU_ITERS, fit)
    epochs = int(iters // ITERS_PER_EPOCH)
    print(f'probe: {per_iter * 1e3:.0f} ms per iteration with three runs at '
          f'once, {startup:.0f} s to start; the {left:.0f} s left of the '
          f'budget of {args.budget_s:.0f} s hold {fit:.0f} iterations')
    if epochs * ITERS_PER_EPOCH < CPU_ITERS and not args.dry_run:
        raise SystemExit(
            f'The budget holds {epochs} epochs, fewer than the CPU runs\' '
            f'{CPU_ITERS // ITERS_PER_EPOCH}: nothing to learn from; give '
            'a larger --budget-s.')
    return max(epochs, 1)


def main() -> None:
    args = parse_args()
    py = sys.executable
    t0 = time.monotonic()
    val_ann = osp.join(args.data, 'annotations', 'lvis_v1_val.json')
    if not osp.exists(val_ann):
        subprocess.run([py, 'tools/misc/make_synthetic_lvis.py', '--preset',
                        'lvis-like', '--out', args.data, '--seed', '0'],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        print(f'data: {args.data} made in {time.monotonic() - t0:.0f} s')

    # the probe: the first probe_iters iterations of each, at once
    tiny = ['train_dataloader.dataset.indices=8'] if args.dry_run else []
    probe_iters = 2 if args.dry_run else args.probe_iters
    probe_dirs = fresh_probe_dirs(args.work_dir)
    cmds = [[py, 'tools/train.py', config(m), '--work-dir', d,
             '--cfg-options', *train_options(1, probe_iters, args, 10),
             f'train_dataloader.dataset.indices={4 * probe_iters}']
            for m, d in zip(METHODS, probe_dirs)]
    wall = run_together(cmds, [osp.join(d, 'train.log') for d in probe_dirs],
                        timeout_s=max(args.budget_s, 120))
    # each run's logged windows after its first (which holds the start-up)
    windows = [iteration_times(d)[1:] for d in probe_dirs]
    per_iter = (median(t for w in windows for t in w)
                if all(windows) else max(wall) / probe_iters)
    epochs = size_runs(args, time.monotonic() - t0, dict(zip(METHODS, wall)),
                       probe_iters, per_iter)
    iters = 2 if args.dry_run else epochs * ITERS_PER_EPOCH
    print(f'training: {epochs} epochs, {iters} iterations '
          f'({iters / CPU_ITERS:.1f}x the CPU runs), three at once')

    runs = [osp.join(args.work_dir, f'seed{args.seed}', m) for m in METHODS]
    for d in runs:
        os.makedirs(d, exist_ok=True)
    cmds = [[py, 'tools/train.py', config(m), '--work-dir', d,
             '--cfg-options', *train_options(epochs, iters, args, 50), *tiny]
            for m, d in zip(METHODS, runs)]
    t = time.monotonic()
    run_together(cmds, [osp.join(d, 'train.log') for d in runs],
                 timeout_s=2 * args.budget_s + 120)
    print(f'trained in {time.monotonic() - t:.0f} s')

    # one test pass, two metrics: standard.eval.json and fixed.eval.json
    tiny_test = ['test_dataloader.dataset.indices=4'] if args.dry_run else []
    cmds = [[py, 'tools/test.py', config(m),
             osp.join(d, f'epoch_{epochs}.pth'),
             '--work-dir', d, '--cfg-options',
             f'test_evaluator.0.outfile_prefix={d}/standard',
             f'test_evaluator.1.outfile_prefix={d}/fixed',
             f'test_dataloader.num_workers={args.workers}',
             f"test_dataloader.dataset.data_root={args.data.rstrip('/')}/",
             f'test_evaluator.0.ann_file={val_ann}',
             f'test_evaluator.1.ann_file={val_ann}', *tiny_test]
            for m, d in zip(METHODS, runs)]
    t = time.monotonic()
    run_together(cmds, [osp.join(d, 'test.log') for d in runs],
                 timeout_s=600)
    print(f'tested in {time.monotonic() - t:.0f} s')

    for protocol in ('standard', 'fixed'):
        print(f'\n{protocol} protocol, {iters} iterations:')
        subprocess.run(
            [py, 'tools/analysis/seed_table.py', args.work_dir, '--protocol',
             protocol, '--baseline', 'sigmoid', '--out',
             osp.join(args.work_dir, f'table_{protocol}.md')],
            cwd=REPO, check=True)
    print(f'experiment: {time.monotonic() - t0:.0f} s in all')


if __name__ == '__main__':
    main()
