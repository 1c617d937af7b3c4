import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Callable, Iterator, List

import pytest
import torch.multiprocessing as mp
from mmdet.utils import register_all_modules
from mmengine.logging import MMLogger

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'

register_all_modules(init_default_scope=True)


@pytest.fixture
def lvis_stats() -> Callable[[str], dict]:
    """Loader of the real LVIS training-set category statistics in
    ``../shared/data``; the test skips where that folder is absent."""

    def load(version: str) -> dict:
        path = SHARED_DATA / f'lvis_{version}_train_category_stats.json'
        if not path.is_file():
            pytest.skip(f'{path} is absent (real LVIS statistics)')
        with open(path, encoding='utf-8') as f:
            return json.load(f)

    return load


@pytest.fixture(scope='session')
def tiny_lvis(tmp_path_factory) -> dict:
    """A tiny synthetic LVIS v1-format dataset, written once per session."""
    from mmdet_droploss.datasets.synthetic_lvis import make_synthetic_lvis
    root = tmp_path_factory.mktemp('synthetic_lvis')
    paths = make_synthetic_lvis(
        str(root), seed=0, num_train=8, num_val=4, image_size=96,
        num_active=12, max_objects=4)
    return dict(root=str(root), **paths)


@pytest.fixture
def broken_lvis(tiny_lvis, tmp_path):
    """A copy of the tiny dataset with one image deleted and one corrupt."""
    root = tmp_path / 'data'
    shutil.copytree(tiny_lvis['root'], root)
    images = sorted((root / 'train2017').glob('*.jpg'))
    images[0].unlink()
    images[1].write_bytes(b'not a jpeg')
    return dict(root=root, missing=str(images[0]), corrupt=str(images[1]))



@pytest.fixture
def logged_warnings() -> Iterator[List[logging.LogRecord]]:
    """Records of the warnings logged to MMEngine's current logger during
    the test (its own handlers may write to a stream captured elsewhere)."""
    records: List[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def spawn_two() -> Callable:
    """Runs ``fn(rank, *args)`` on 2 processes and fails the test when one
    exits with an error or is still running after ``timeout`` s (waiting in
    a collective). The limit is generous: each process imports MMDetection,
    which takes a while on a loaded 2-core CI machine."""

    def run(fn: Callable, *args, timeout: float = 300) -> None:
        context = mp.spawn(fn, args=args, nprocs=2, join=False)
        for process in context.processes:
            process.join(timeout)
        hung = [p for p in context.processes if p.is_alive()]
        for process in hung:
            process.terminate()
        assert not hung, f'a process was still running after {timeout} s ' \
            '(left waiting in a collective?)'
        if any(p.exitcode != 0 for p in context.processes):
            context.join()  # raises with the failing process's traceback
            raise AssertionError('exit codes '
                                 f'{[p.exitcode for p in context.processes]}')

    return run


@pytest.fixture
def tree_digest() -> Callable[[Path], str]:
    """SHA-256 over every file's relative path and bytes under a folder."""

    def digest(root: Path) -> str:
        h = hashlib.sha256()
        for path in sorted(root.rglob('*')):
            if path.is_file():
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
        return h.hexdigest()

    return digest
