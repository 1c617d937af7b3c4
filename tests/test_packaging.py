"""pyproject.toml declares what a plain ``pip install .`` needs to train
and test on LVIS, in ranges the tested stack satisfies."""
import ast
import json
import subprocess
import sys
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / 'pyproject.toml').read_text())['project']
RUNTIME = {Requirement(r).name: Requirement(r)
           for r in PROJECT['dependencies']}
EXTRAS = {Requirement(r).name: Requirement(r)
          for extra in PROJECT['optional-dependencies'].values()
          for r in extra}
STACKS = ('newest', 'gpu-users')


def pins(stack: str) -> dict:
    """The exact versions of requirements/STACK.txt, by package name."""
    lines = (REPO / 'requirements' / f'{stack}.txt').read_text().splitlines()
    return {Requirement(line).name: Version(line.split('==')[1])
            for line in lines if line and not line.startswith('#')}


def imported_modules() -> set:
    """The top-level modules the package's code imports (lazily or not),
    other than the standard library's and its own."""
    modules = set()
    for path in (REPO / 'mmdet_droploss').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split('.')[0])
    return {m for m in modules
            if m not in sys.stdlib_module_names and m != 'mmdet_droploss'}


def test_lvis_is_a_runtime_dependency():
    """LVISV1Dataset imports lvis-api to load the annotation files."""
    import mmdet.datasets.lvis as mmdet_lvis
    source = Path(mmdet_lvis.__file__).read_text()
    assert 'from lvis import LVIS' in source
    assert 'lvis' in RUNTIME
    assert all(Requirement(r).name != 'lvis'
               for r in PROJECT['optional-dependencies']['tests'])


def test_every_module_the_package_imports_is_a_runtime_dependency():
    distributions = packages_distributions()
    modules = imported_modules()
    assert {'faster_coco_eval', 'mmdet', 'pycocotools'} <= modules
    undeclared = {m: distributions.get(m) for m in modules
                  if not set(distributions.get(m, [m])) & set(RUNTIME)}
    assert undeclared == {}


def test_faster_coco_eval_is_bounded_at_the_tested_release():
    """FastLVISMetric uses its private internals: the newest release CI
    tests is the newest allowed, not even a patch or post release above."""
    spec = RUNTIME['faster-coco-eval'].specifier
    tested = pins('newest')['faster-coco-eval']
    assert tested in spec
    major, minor, micro = tested.release
    for newer in (f'{tested}.post1', f'{major}.{minor}.{micro + 1}',
                  f'{major}.{minor + 1}.0'):
        assert Version(newer) not in spec, newer


@pytest.mark.parametrize('stack', STACKS)
def test_each_stack_pins_every_runtime_dependency_in_its_range(stack):
    """tools/setup_env.sh installs the package under these pins as pip
    constraints: a pin outside pyproject.toml's range fails the install."""
    pinned = pins(stack)
    declared = {**EXTRAS, **RUNTIME}
    outside = {name: str(v) for name, v in pinned.items()
               if name in declared and
               not declared[name].specifier.contains(v, prereleases=True)}
    assert outside == {}
    # lvis and faster-coco-eval are what a plain `pip install .` must bring
    assert {'lvis', 'faster-coco-eval'} <= set(pinned) & set(RUNTIME)


@pytest.mark.parametrize('name', sorted(RUNTIME))
def test_installed_stack_satisfies_the_declared_range(name):
    assert RUNTIME[name].specifier.contains(version(name),
                                            prereleases=True), \
        f'{name} {version(name)} is outside {RUNTIME[name]}'


def test_the_import_loads_what_a_gpu_user_needs():
    """`import mmdet_droploss` registers the product, not the synthetic-data
    generators (mmdet_droploss.testing), the CPU-only wrappers
    (mmdet_droploss.cpu, which the tools import without CUDA) nor the
    tools' checks and set-up (mmdet_droploss.utils)."""
    code = (
        'import sys, json, mmdet_droploss\n'
        'from mmdet.registry import MODELS, MODEL_WRAPPERS, OPTIM_WRAPPERS\n'
        'print(json.dumps(dict(\n'
        '    modules=[n for n in sys.modules\n'
        '             if n.startswith("mmdet_droploss")],\n'
        '    loss="DropLoss" in MODELS.module_dict,\n'
        '    ddp="CPUDistributedDataParallel" in MODEL_WRAPPERS.module_dict,\n'
        '    amp="CPUAmpOptimWrapper" in OPTIM_WRAPPERS.module_dict)))\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded['loss']
    assert not loaded['ddp'] and not loaded['amp']
    assert not [m for m in loaded['modules']
                if m.startswith(('mmdet_droploss.testing',
                                 'mmdet_droploss.cpu',
                                 'mmdet_droploss.utils'))]
