# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Stack mismatches named with their fix, before they become tracebacks.

Three mixes install without complaint and fail later, deep inside another
library: numpy 2 under a torch built against numpy 1 (``Tensor.numpy()``
fails at the first validation), mmcv without its compiled ops or with ops
built for another torch (the first RoIAlign fails), and mmcv >= 2.2 under
MMDetection 3.3 (an assert inside ``import mmdet``). ``check_stack`` runs
when the package is imported, so the tools and ``custom_imports`` see it
first. docs/installation.md lists the supported stacks.
"""
import importlib
from importlib import metadata
from typing import Dict, List, Optional

from mmengine.utils import digit_version

# torch 2.3 was the first release compiled against numpy 2
TORCH_FIRST_NUMPY2 = '2.3.0'
# MMDetection 3.3's own bounds (mmdet/__init__.py)
MMCV_MIN, MMCV_MAX = '2.0.0rc4', '2.2.0'

INSTALL_DOC = 'docs/installation.md'


def stack_problems(versions: Dict[str, Optional[str]],
                   mmcv_ops_error: Optional[str] = None) -> List[str]:
    """What is wrong with a set of installed versions.

    Args:
        versions (dict): Installed version of ``torch``, ``numpy``,
            ``mmcv`` and ``mmdet``; None where the package is missing.
        mmcv_ops_error (str, optional): Why ``mmcv._ext`` (mmcv's compiled
            ops) did not import; None where it did.

    Returns:
        list[str]: One message per problem, each naming the fix; empty for a
        working stack.
    """
    problems = []
    torch, numpy = versions.get('torch'), versions.get('numpy')
    if (torch and numpy and digit_version(numpy) >= digit_version('2.0.0')
            and digit_version(torch) < digit_version(TORCH_FIRST_NUMPY2)):
        problems.append(
            f'numpy {numpy} is installed, but torch {torch} was compiled '
            'against numpy 1.x (torch < 2.3), so every Tensor.numpy() fails. '
            'Fix: pip install "numpy<2" "opencv-python<4.11" (opencv-python '
            '>= 4.11 requires numpy 2), or use torch >= 2.3.')
    mmcv, mmdet = versions.get('mmcv'), versions.get('mmdet')
    if mmcv is None:
        problems.append(
            'mmcv is not installed (mmcv-lite does not do: MMDetection needs '
            'its compiled ops). Fix: mim install mmcv==2.1.0, or build it: '
            'MMCV_WITH_OPS=1 pip install --no-build-isolation mmcv==2.1.0.')
        return problems
    if mmdet and not (digit_version(MMCV_MIN) <= digit_version(mmcv) <
                      digit_version(MMCV_MAX)):
        problems.append(
            f'mmcv {mmcv} is installed, but mmdet {mmdet} accepts only '
            f'mmcv >= {MMCV_MIN}, < {MMCV_MAX}. Fix: pip uninstall mmcv, '
            'then mim install mmcv==2.1.0 (or build 2.1.0 from source).')
    elif mmcv_ops_error is not None:
        problems.append(
            f'mmcv {mmcv} has no working compiled ops ({mmcv_ops_error}): '
            'it was installed without them (mmcv-lite, or a source build '
            'without MMCV_WITH_OPS=1) or built against another torch than '
            f"torch {torch}. Fix: pip uninstall mmcv, then install the mmcv "
            'built for this torch: mim install mmcv==2.1.0, or '
            'MMCV_WITH_OPS=1 pip install --no-build-isolation '
            '--no-cache-dir mmcv==2.1.0.')
    return problems


def _installed(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_stack() -> None:
    """Raise where the installed stack cannot work, naming the fix.

    Raises:
        ImportError: With every problem ``stack_problems`` finds.
    """
    import numpy
    import torch
    versions = dict(
        torch=torch.__version__.split('+')[0],
        numpy=numpy.__version__,
        mmcv=None,
        mmdet=_installed('mmdet'))
    ops_error = None
    try:
        mmcv = importlib.import_module('mmcv')
        versions['mmcv'] = mmcv.__version__
    except ImportError:
        pass
    else:
        try:
            importlib.import_module('mmcv._ext')
        except ImportError as e:
            ops_error = str(e).splitlines()[0]
    problems = stack_problems(versions, ops_error)
    if problems:
        raise ImportError(
            'mmdet_droploss cannot run on this stack:\n- ' +
            '\n- '.join(problems) + f'\nSupported stacks: {INSTALL_DOC}.')
