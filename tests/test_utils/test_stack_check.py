"""A stack that cannot work is named with its fix when the package starts."""
import os
import subprocess
import sys

import pytest

from mmdet_droploss.stack_check import check_stack, stack_problems

GOOD = dict(torch='2.13.0', numpy='2.4.6', mmcv='2.1.0', mmdet='3.3.0')


@pytest.mark.parametrize('versions', [
    GOOD,
    dict(GOOD, torch='2.1.2', numpy='1.26.4'),
    dict(GOOD, torch='2.3.0', numpy='2.0.0'),
    dict(GOOD, mmcv='2.0.0'),
])
def test_supported_stacks_pass(versions):
    assert stack_problems(versions) == []


@pytest.mark.parametrize('versions, ops_error, expected', [
    (dict(GOOD, torch='2.1.2', numpy='2.0.1'), None,
     ['numpy 2.0.1', 'torch 2.1.2', 'pip install "numpy<2"']),
    (dict(GOOD, torch='2.2.2', numpy='2.4.6'), None,
     ['numpy 2.4.6', 'compiled against numpy 1.x']),
    (dict(GOOD, mmcv='2.2.0'), None,
     ['mmcv 2.2.0', 'mmdet 3.3.0', '< 2.2.0', 'mim install mmcv==2.1.0']),
    (dict(GOOD, mmcv=None), None,
     ['mmcv is not installed', 'MMCV_WITH_OPS=1']),
    (GOOD, "No module named 'mmcv._ext'",
     ["No module named 'mmcv._ext'", 'without them', 'MMCV_WITH_OPS=1']),
    (GOOD, 'undefined symbol: _ZN3c10', ['undefined symbol', 'another torch']),
])
def test_mismatch_is_named_with_its_fix(versions, ops_error, expected):
    problems = stack_problems(versions, ops_error)
    assert len(problems) == 1
    for part in expected:
        assert part in problems[0]


def test_every_problem_is_reported():
    problems = stack_problems(
        dict(torch='2.1.2', numpy='2.1.0', mmcv='2.2.0', mmdet='3.3.0'))
    assert len(problems) == 2


def test_this_environment_passes():
    import mmcv
    import mmdet
    import numpy
    import torch
    assert stack_problems(dict(
        torch=torch.__version__.split('+')[0], numpy=numpy.__version__,
        mmcv=mmcv.__version__, mmdet=mmdet.__version__)) == []
    check_stack()


def test_package_import_names_a_real_mismatch(tmp_path):
    # an mmcv 2.2 without compiled ops, first on the path: importing the
    # package must stop with our message, before mmdet's assert
    fake = tmp_path / 'mmcv'
    fake.mkdir()
    (fake / '__init__.py').write_text("__version__ = '2.2.0'\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, '-c', 'import mmdet_droploss'],
                          env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'mmdet_droploss cannot run on this stack' in proc.stderr
    assert 'mmcv 2.2.0 is installed, but mmdet 3.3.0' in proc.stderr
    assert 'AssertionError' not in proc.stderr


@pytest.mark.parametrize('config, weights', [
    ('configs/droploss_r50_lvis.py', 'torchvision://resnet50'),
    ('configs/droploss_r101_lvis.py', 'torchvision://resnet101'),
])
def test_missing_torchvision_is_named_before_training(config, weights,
                                                      monkeypatch):
    from pathlib import Path

    from mmengine.config import Config

    from mmdet_droploss.utils import check_pretrained
    cfg = Config.fromfile(str(Path(__file__).parents[2] / config))
    # an import of torchvision fails, as beside the CPU torch 2.13
    monkeypatch.setitem(sys.modules, 'torchvision', None)
    with pytest.raises(ImportError) as error:
        check_pretrained(cfg.model)
    message = str(error.value)
    for part in (f"starts from ['{weights}']", 'pip install the '
                 'torchvision of this torch',
                 'model.backbone.init_cfg.checkpoint='):
        assert part in message
