"""pyproject.toml declares what a plain ``pip install .`` needs to train
and test on LVIS, in ranges the tested stack satisfies."""
from importlib.metadata import version
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / 'pyproject.toml').read_text())['project']
RUNTIME = {Requirement(r).name: Requirement(r)
           for r in PROJECT['dependencies']}


def test_lvis_is_a_runtime_dependency():
    """LVISV1Dataset imports lvis-api to load the annotation files."""
    import mmdet.datasets.lvis as mmdet_lvis
    source = Path(mmdet_lvis.__file__).read_text()
    assert 'from lvis import LVIS' in source
    assert 'lvis' in RUNTIME
    assert all(Requirement(r).name != 'lvis'
               for r in PROJECT['optional-dependencies']['tests'])


def test_faster_coco_eval_is_bounded_at_the_tested_release():
    spec = RUNTIME['faster-coco-eval'].specifier
    assert '1.8.0' in spec and '1.8.1' not in spec and '1.9.0' not in spec


@pytest.mark.parametrize('name', sorted(RUNTIME))
def test_installed_stack_satisfies_the_declared_range(name):
    assert RUNTIME[name].specifier.contains(version(name),
                                            prereleases=True), \
        f'{name} {version(name)} is outside {RUNTIME[name]}'
