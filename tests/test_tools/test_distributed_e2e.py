"""tools/dist_train.sh and tools/dist_test.sh with 2 CPU processes (gloo)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_train_test_e2e import (
    assert_informative,
    echo_config,
    logged_metrics,
    reduced_options,
)

REPO = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parents[1] / 'helpers'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd: list, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output


def test_two_process_train_and_test(tiny_lvis, tmp_path):
    config = tmp_path / 'dist_config.py'
    config.write_text(
        f"_base_ = '{REPO}/configs/demo/droploss_r50_synthetic.py'\n"
        "custom_imports = dict(imports=['mmdet_droploss', "
        "'param_digest_hook'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='CategoryFrequencyHook'), "
        "dict(type='ParamDigestHook')]\n")
    env = dict(os.environ, PYTHON=sys.executable,
               PYTHONPATH=f'{HELPERS}:{os.environ.get("PYTHONPATH", "")}',
               OMP_NUM_THREADS='1')
    options = reduced_options(tiny_lvis['root'])
    work = tmp_path / 'work'
    env['PORT'] = str(free_port())
    run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
         str(work), '--cfg-options', *options], env)
    checkpoint = work / 'epoch_1.pth'
    assert checkpoint.is_file()
    digests = [(work / f'params_rank{r}.txt').read_text() for r in (0, 1)]
    assert digests[0] == digests[1]

    # 1 against 2 test processes. The model trained for 2 iterations scores
    # 0 everywhere, where any two evaluations agree: detections derived from
    # the ground truth go through the same test path, its 2-process
    # sampling and gathering of results included.
    echo = echo_config(tmp_path)
    env['PORT'] = str(free_port())
    dist_log = run(['bash', 'tools/dist_test.sh', echo, str(checkpoint), '2',
                    '--work-dir', str(tmp_path / 't2'), '--cfg-options',
                    *options], env)
    single_log = run([sys.executable, 'tools/test.py', echo,
                      str(checkpoint), '--work-dir', str(tmp_path / 't1'),
                      '--cfg-options', *options], env)
    dist_metrics = logged_metrics(dist_log)
    assert len(dist_metrics) == 18
    assert_informative(dist_metrics)
    assert dist_metrics == pytest.approx(logged_metrics(single_log),
                                         abs=1e-4)
