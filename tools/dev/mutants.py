# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Mutation check: does the suite catch the bugs that matter?

Each mutant is a small semantic change of the package. It is applied to a
copy of the repository's tracked files, and the tests that should catch it
run against that copy (``PYTHONPATH`` puts it first, also for the tools
that tests start as processes). A mutant is caught when a test fails,
missed when they all pass; a mutant whose tests cannot run (an import or
collection error) is reported as an error, since it says nothing. First
the tests run once on the unchanged copy, which must pass.

    python tools/dev/mutants.py              # every mutant, a table
    python tools/dev/mutants.py --only per-roi-draws prior-10x

Exits 1 when a mutant is missed or in error.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, NamedTuple, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]
LOSSES = 'mmdet_droploss/models/'
T_LOSSES = 'tests/test_models/test_losses/'


class Mutant(NamedTuple):
    name: str
    path: str  # the mutated file
    edits: Sequence[Tuple[str, str]]  # (text, its replacement), each once
    tests: Sequence[str]


MUTANTS = [
    Mutant('per-roi-draws', LOSSES + 'drop_loss_ops.py',
           [('num_rois, tail_inds.numel(), device=labels.device,\n'
             '            generator=generator)',
             'num_rois, 1, device=labels.device,\n'
             '            generator=generator).repeat(1, tail_inds.numel())')],
           [T_LOSSES + 'test_drop_loss_draws.py',
            T_LOSSES + 'test_drop_loss.py']),
    Mutant('swapped-metric-keys',
           'mmdet_droploss/evaluation/fast_lvis_metric.py',
           [("APm='AP_medium', APl='AP_large',",
             "APm='AP_large', APl='AP_medium',"),
            ("APc='APc',", "APc='AP_large',")],
           ['tests/test_evaluation/test_fast_lvis_metric.py']),
    Mutant('tail-mask-le', LOSSES + 'drop_loss.py',
           [('mask = (freq < self.lambda_)', 'mask = (freq <= self.lambda_)')],
           [T_LOSSES + 'test_drop_loss.py',
            T_LOSSES + 'test_drop_loss_properties.py']),
    Mutant('r-over-all-rois', LOSSES + 'drop_loss_ops.py',
           [('num_tail_fg / num_fg.clamp(min=1)',
             'num_tail_fg / labels.numel()')],
           [T_LOSSES + 'test_drop_loss.py']),
    Mutant('prior-10x',
           'mmdet_droploss/models/droploss_bbox_head.py',
           [('prior_logit(self.cls_prior_prob)',
             'prior_logit(10 * self.cls_prior_prob)')],
           ['tests/test_models/test_roi_heads/test_droploss_bbox_head.py']),
    Mutant('generator-not-restored',
           'mmdet_droploss/engine/random_state_hook.py',
           [('            loss.set_rng_state(saved[name])\n',
             '            pass\n')],
           ['tests/test_engine/test_random_state_hook.py']),
    Mutant('sorted-category-order',
           'mmdet_droploss/datasets/category_frequency.py',
           [("cat_ids = [c['id'] for c in ann['categories']]",
             "cat_ids = sorted(c['id'] for c in ann['categories'])")],
           ['tests/test_datasets', 'tests/test_engine/'
            'test_category_frequency_hook.py']),
    Mutant('eql-drops-background', LOSSES + 'drop_loss_ops.py',
           [('head_row.new_ones(1, num_classes))', 'head_row[None, :])')],
           [T_LOSSES + 'test_drop_loss.py']),
    Mutant('federated-uniform-draw', LOSSES + 'federated_loss.py',
           [('class_weight / noise', '1 / noise')],
           [T_LOSSES + 'test_federated_loss.py']),
    Mutant('eqlv2-per-rank-statistics', LOSSES + 'eqlv2_loss.py',
           [('if is_distributed():', 'if False:')],
           [T_LOSSES + 'test_eqlv2_loss.py']),
]


def pytest(copy: Path, tests: Sequence[str]) -> Tuple[int, str]:
    """Runs the tests on the copy; returns pytest's exit code and the end
    of its output."""
    env = dict(os.environ, PYTHONPATH=str(copy))
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-x', '-p',
         'no:cacheprovider', *tests], cwd=copy, env=env,
        capture_output=True, text=True)
    return proc.returncode, (proc.stdout + proc.stderr)[-1500:]


def mutate(copy: Path, mutant: Mutant) -> str:
    """Applies the mutant's edits to the copy; returns the original text."""
    path = copy / mutant.path
    original = text = path.read_text()
    for old, new in mutant.edits:
        if text.count(old) != 1:
            raise SystemExit(
                f'{mutant.name}: {old!r} occurs {text.count(old)} times in '
                f'{mutant.path}, not once; update the mutant to the code.')
        text = text.replace(old, new)
    path.write_text(text)
    return original


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--only', nargs='+', metavar='NAME',
                        choices=[m.name for m in MUTANTS],
                        help='run these mutants only')
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / 'repo'
        files = subprocess.run(['git', 'ls-files'], cwd=REPO, check=True,
                               capture_output=True, text=True).stdout.split()
        for name in files:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
        tests = sorted({t for m in mutants for t in m.tests})
        code, output = pytest(copy, tests)
        if code != 0:
            raise SystemExit(f'{output}\nThe tests fail without a mutant: '
                             'fix them first.')
        rows: List[str] = []
        for mutant in mutants:
            t = time.monotonic()
            original = mutate(copy, mutant)
            try:
                code, output = pytest(copy, mutant.tests)
            finally:
                (copy / mutant.path).write_text(original)
            result = {0: 'MISSED', 1: 'caught'}.get(code, f'error ({code})')
            if code not in (0, 1):
                print(output, file=sys.stderr)
            rows.append(f'| {mutant.name} | `{mutant.path}` | {result} | '
                        f'{time.monotonic() - t:.0f} s |')
    print('| mutant | file | result | time |\n|---|---|---|---|')
    print('\n'.join(rows))
    print(f'{len(mutants)} mutants in {time.monotonic() - start:.0f} s')
    if any('caught' not in row for row in rows):
        raise SystemExit(1)


if __name__ == '__main__':
    main()
