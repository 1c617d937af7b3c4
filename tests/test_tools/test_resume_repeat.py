"""Seeded runs repeat exactly, and --resume continues an interrupted run
exactly (DropLoss's random drops included)."""
import json
from pathlib import Path

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
