"""Seeded runs repeat exactly, and --resume continues an interrupted run
exactly (DropLoss's random drops included)."""
import json
import os
import sys
from pathlib import Path

from test_distributed_e2e import HELPERS, REPO, free_port
from test_distributed_e2e import run as run_with_env
from test_train_test_e2e import CONFIG, reduced_options, run

LOGGED = ('loss', 'loss_cls', 'drop_keep_ratio', 'loss_mask')


def train(root: str, work_dir: Path, *extra: str) -> str:
    return run(['tools/train.py', CONFIG, '--work-dir', str(work_dir),
                *extra, '--cfg-options', *reduced_options(root),
                'train_cfg.max_epochs=2', 'randomness.deterministic=True'])


def iteration_losses(work_dir: Path) -> dict:
    """{iteration: logged losses} from the run's scalars.json (logged at
    every iteration, full precision)."""
    losses = {}
    for path in work_dir.glob('*/vis_data/scalars.json'):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record:
                losses[record['step']] = tuple(record[k] for k in LOGGED)
    return losses


def test_seeded_runs_repeat_and_resume_continues_exactly(tiny_lvis, tmp_path):
    root = tiny_lvis['root']
    first = tmp_path / 'first'
    train(root, first)
    reference = iteration_losses(first)
    assert sorted(reference) == list(range(1, 9))  # 2 epochs of 4
    # DropLoss drew random numbers: some background tail terms were dropped
    assert any(0 < r[2] < 1 for r in reference.values())

    again = tmp_path / 'again'
    train(root, again)
    assert iteration_losses(again) == reference

    # epoch_1.pth is what a run stopped after its first epoch leaves behind
    resumed = tmp_path / 'resumed'
    log = train(root, resumed, '--resume', str(first / 'epoch_1.pth'))
    assert 'Resumed' in log or 'resumed' in log
    # the frequencies came back with the weights: the dataset is not read
    assert 'DropLoss category frequencies from' not in log
    continued = iteration_losses(resumed)
    assert sorted(continued) == [5, 6, 7, 8]
    assert continued == {k: reference[k] for k in continued}


def rank_losses(work_dir: Path, rank: int) -> dict:
    """{iteration: losses} that ``rank`` computed (RankLossHook)."""
    lines = (work_dir / f'losses_rank{rank}.jsonl').read_text().splitlines()
    return {r['iter']: r['losses'] for r in map(json.loads, lines)}


def test_two_process_resume_continues_every_rank_exactly(tiny_lvis,
                                                         tmp_path):
    """Each rank restores its own random streams: the resumed run computes
    exactly the uninterrupted run's losses on both ranks."""
    config = tmp_path / 'config.py'
    config.write_text(
        f"_base_ = '{REPO / CONFIG}'\n"
        "custom_imports = dict(imports=['mmdet_droploss', 'rank_loss_hook'],"
        " allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='CategoryFrequencyHook'), "
        "dict(type='RandomStateHook'), dict(type='RankLossHook')]\n")
    env = dict(os.environ, PYTHON=sys.executable,
               PYTHONPATH=f'{HELPERS}:{os.environ.get("PYTHONPATH", "")}',
               OMP_NUM_THREADS='1')

    def train_2(work_dir: Path, *extra: str) -> None:
        env['PORT'] = str(free_port())
        run_with_env(
            ['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
             str(work_dir), *extra, '--cfg-options',
             *reduced_options(tiny_lvis['root']), 'train_cfg.max_epochs=2',
             'train_cfg.val_interval=10', 'randomness.deterministic=True'],
            env)

    first, resumed = tmp_path / 'first', tmp_path / 'resumed'
    train_2(first)
    train_2(resumed, '--resume', str(first / 'epoch_1.pth'))
    for rank in (0, 1):
        reference = rank_losses(first, rank)
        assert sorted(reference) == [1, 2, 3, 4]  # 2 epochs of 2
        # DropLoss drew random numbers on this rank
        assert any(0 < v['drop_keep_ratio'] < 1 for v in reference.values())
        continued = rank_losses(resumed, rank)
        assert sorted(continued) == [3, 4]
        assert continued == {k: reference[k] for k in continued}
    # the ranks drew differently: restoring rank 0's streams everywhere
    # would not repeat rank 1
    assert rank_losses(first, 0) != rank_losses(first, 1)
