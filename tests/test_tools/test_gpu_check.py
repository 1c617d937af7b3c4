"""The GPU check (tools/gpu/check.sh): its dry run on the CPU, and how
its experiment is sized to the time left."""
import argparse
import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
GPU = REPO / 'tools' / 'gpu'
spec = importlib.util.spec_from_file_location(
    'lvis_like_experiment', GPU / 'lvis_like_experiment.py')
experiment = importlib.util.module_from_spec(spec)
spec.loader.exec_module(experiment)

MMCV_WHEEL = 'mmcv-2.1.0-cp312-cp312-linux_x86_64.whl'
STEPS = ('install', 'bench-loss-float32', 'bench-loss-autocast',
         'cpu-vs-device', 'mmcv-ops', 'demo-data', 'demo-train-amp',
         'demo-test', 'lvis-like-experiment')


def sizing(budget_s: float, max_scale: float = 20,
           dry_run: bool = False) -> argparse.Namespace:
    return argparse.Namespace(budget_s=budget_s, max_scale=max_scale,
                              dry_run=dry_run)


@pytest.mark.parametrize(
    'budget_s, spent_s, probe_iters, per_iter, probe_wall, epochs',
    [
        # 40 probe iterations of 0.1 s in 24 s: 20 s to start; 310 s hold
        # 3,100 iterations, 8 whole epochs of 350
        (330, 0, 40, 0.1, 24, 8),
        # the slowest run's start counts
        (330, 0, 40, 0.1, 64, 7),
        # the data and the probe took 40 s of the budget: 270 s hold 2,700
        # iterations, 7 epochs
        (330, 40, 40, 0.1, 24, 7),
        # a probe of 2 iterations (the dry run's) in 24 s: 23.8 s to start,
        # 312.2 s hold 3,122 iterations, 8 epochs; counted as 40, the start
        # would shrink to 20 s and 3,160 iterations make 9
        (336, 0, 2, 0.1, 24, 8),
        # capped at 20x the CPU runs' 700 iterations: 40 epochs
        (3000, 0, 40, 0.01, 5, 40),
        # fewer than the CPU runs' 2 epochs refused, but on a dry run
        (330, 0, 40, 1.0, 60, None),
    ])
def test_the_experiment_fills_the_budget(budget_s, spent_s, probe_iters,
                                         per_iter, probe_wall, epochs,
                                         capsys):
    probe = {'sigmoid': probe_wall - 2, 'eql': probe_wall,
             'droploss': probe_wall - 1}
    if epochs is None:
        with pytest.raises(SystemExit, match='larger --budget-s'):
            experiment.size_runs(sizing(budget_s), spent_s, probe,
                                 probe_iters, per_iter)
        assert experiment.size_runs(sizing(budget_s, dry_run=True), spent_s,
                                    probe, probe_iters, per_iter) == 1
    else:
        assert experiment.size_runs(sizing(budget_s), spent_s, probe,
                                    probe_iters, per_iter) == epochs
        out = capsys.readouterr().out
        assert f'the {budget_s - spent_s} s left of the budget of ' \
            f'{budget_s} s' in out
        startup = probe_wall - probe_iters * per_iter
        assert f'{startup:.0f} s to start' in out


def test_a_rerun_probes_in_empty_folders(tmp_path):
    last = tmp_path / 'probe' / 'eql' / '20261204_144512' / 'vis_data'
    last.mkdir(parents=True)
    (last / 'scalars.json').write_text('{"time": 9.0}\n')
    dirs = experiment.fresh_probe_dirs(str(tmp_path))
    assert [Path(d).name for d in dirs] == ['sigmoid', 'eql', 'droploss']
    assert all(Path(d).is_dir() and not any(Path(d).iterdir())
               for d in dirs)
    # what iteration_times would have found beside the new probe's log
    assert not list(tmp_path.rglob('scalars.json'))


def test_the_schedule_is_the_cpu_runs_stretched():
    args = argparse.Namespace(seed=3, workers=4, data='data/lvis_like')
    options = experiment.train_options(8, 2800, args, 50)
    assert 'param_scheduler.1.end=2800' in options
    # the last seventh at a tenth of the rate, as 600 of 700
    assert 'param_scheduler.1.milestones=[2400]' in options
    assert experiment.train_options(2, 700, args, 50)[3] == \
        'param_scheduler.1.milestones=[600]'
    assert 'train_cfg.max_epochs=8' in options
    assert 'default_hooks.checkpoint.interval=8' in options
    assert 'randomness.seed=3' in options


def missing_for_the_dry_run() -> str:
    """What the dry run needs that is absent here, with how to make it."""
    if not (GPU / 'cache' / 'wheels' / MMCV_WHEEL).is_file():
        return ('tools/gpu/cache/ lacks the wheels or the prebuilt mmcv: run '
                'bash tools/gpu/build_mmcv.sh (23 minutes on 2 cores), then '
                'bash tools/gpu/prepare.sh')
    if not (GPU / 'py312' / 'bin' / 'python').exists():
        return 'no tools/gpu/py312/: run bash tools/gpu/base_env.sh'
    return ''


@pytest.mark.skipif(
    torch.__version__.startswith('2.1.'),
    reason='the dry run runs its own Python (tools/gpu/py312), whatever '
    'stack pytest runs: once, in the newest stack\'s suite')
@pytest.mark.skipif(bool(missing_for_the_dry_run()),
                    reason=missing_for_the_dry_run())
def test_the_dry_run_passes_every_step(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    proc = subprocess.run(
        ['bash', str(GPU / 'check.sh'), '--dry-run'],
        env={**env, 'OUT': str(tmp_path)}, capture_output=True, text=True,
        timeout=1800)
    log = (tmp_path / 'check.log').read_text()
    assert proc.returncode == 0, log[-5000:]
    summary = (tmp_path / 'summary.txt').read_text()
    for name in STEPS:
        assert re.search(rf'^{name}: rc=0, \d+ s$', summary, re.M), summary
    assert 'offline: namespace' in log
    # the prebuilt CUDA wheel, loaded beside the GPU machine's torch
    assert 'mmcv 2.1.0 roi_align on cpu: (1, 8, 7, 7)' in log
    assert 'DropLoss module' in log and 'CPU vs cpu: OK' in log
    for protocol in ('standard', 'fixed'):
        table = (tmp_path / 'lvis_like' / f'table_{protocol}.md').read_text()
        for method in ('sigmoid', 'eql', 'droploss'):
            assert f'| {method} | 1 |' in table
    assert not list(tmp_path.rglob('*.pth'))
