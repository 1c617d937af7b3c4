import faulthandler
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator, List

import numpy as np
import pytest
import torch.distributed as dist
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
    from mmdet_droploss.testing.synthetic_lvis import make_synthetic_lvis
    root = tmp_path_factory.mktemp('synthetic_lvis')
    paths = make_synthetic_lvis(
        str(root), seed=0, num_train=8, num_val=4, image_size=96,
        num_active=12, max_objects=4)
    return dict(root=str(root), **paths)


def informative_lvis_gt(seed: int = 0, num_images: int = 12) -> dict:
    """A small LVIS v1-format validation set (annotations only) on which
    every LVIS number can lie strictly between 0 and 1: 12 categories, 4
    of each frequency group, on images of about 300 px with small (area
    < 32^2), medium and large (> 96^2) polygons."""
    from mmdet_droploss.testing.synthetic_lvis import (
        image_record,
        object_polygon,
        polygon_annotation,
    )
    rng = np.random.default_rng(seed)
    counts = dict(r=(1, 11), c=(11, 101), f=(101, 1001))  # training images
    categories = []
    for i, freq in enumerate('rrrrccccffff'):
        name = f'shape_{i + 1}'
        image_count = int(rng.integers(*counts[freq]))
        categories.append(dict(
            id=i + 1, name=name, synset=f'{name}.n.01', synonyms=[name],
            frequency=freq, image_count=image_count,
            instance_count=image_count + int(rng.integers(0, 50))))
    cat_ids = [c['id'] for c in categories]
    # radii whose ellipses (axes ratio 0.5-0.9), squares, pentagons and
    # hexagons are small (at most 636 px), medium (1231-7069 px) or large
    # (at least 10053 px)
    radii = [(5, 15), (28, 50), (80, 105)]
    images, anns = [], []
    for img_id in range(1, num_images + 1):
        width, height = rng.integers(288, 321, size=2).tolist()
        present = set()
        for _ in range(int(rng.integers(3, 7))):
            cat = int(rng.choice(cat_ids))
            radius = rng.uniform(*radii[int(rng.integers(3))])
            cx = rng.uniform(radius + 1, width - radius - 1)
            cy = rng.uniform(radius + 1, height - radius - 1)
            poly = object_polygon(rng, (0, 4, 5, 6)[cat % 4], cx, cy, radius)
            anns.append(polygon_annotation(len(anns) + 1, img_id, cat, poly))
            present.add(cat)
        absent = [c for c in cat_ids if c not in present]
        neg = sorted(int(c) for c in rng.permutation(absent)[:4])
        not_exhaustive = ([int(rng.choice(sorted(present)))]
                          if rng.random() < 0.25 else [])
        images.append(image_record(
            img_id, (width, height), f'val2017/{img_id:012d}.jpg', neg,
            not_exhaustive))
    return dict(info=dict(description='informative synthetic LVIS v1'),
                licenses=[], images=images, annotations=anns,
                categories=categories)


@pytest.fixture(scope='session')
def informative_lvis(tmp_path_factory) -> dict:
    """``val``: the path of :func:`informative_lvis_gt`'s file, written
    once per session (no image files: metrics read only annotations)."""
    path = tmp_path_factory.mktemp('informative_lvis') / 'lvis_v1_val.json'
    path.write_text(json.dumps(informative_lvis_gt()), encoding='utf-8')
    return dict(val=str(path))


@pytest.fixture
def assert_informative() -> Callable:
    """Checks that a run lvis-api LVISEval's numbers say something: each
    of ``keys`` (default: all nine of AP, AP50, ..., APf) strictly between
    0 and 1, and at least 3 distinct per-category APs (the mean of a
    category's precision over IoUs and recalls, all areas)."""

    def check(ref, keys=('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr',
                         'APc', 'APf')) -> None:
        for key in keys:
            assert 0 < float(ref.results[key]) < 1, (key, ref.results[key])
        precision = ref.eval['precision'][:, :, :, 0]  # iou, recall, cat
        per_cat = {round(float(pr[pr > -1].mean()), 6)
                   for pr in np.moveaxis(precision, 2, 0) if (pr > -1).any()}
        assert len(per_cat) >= 3, per_cat

    return check


@pytest.fixture
def broken_lvis(tiny_lvis, tmp_path):
    """A copy of the tiny dataset with one image deleted and one corrupt."""
    root = tmp_path / 'data'
    shutil.copytree(tiny_lvis['root'], root)
    images = sorted((root / 'train2017').glob('*.jpg'))
    images[0].unlink()
    images[1].write_bytes(b'not a jpeg')
    return dict(root=root, missing=str(images[0]), corrupt=str(images[1]))



def _logged(level: int) -> Iterator[List[logging.LogRecord]]:
    """Records of the messages at ``level`` and above logged to MMEngine's
    current logger while the generator is suspended (its own handlers may
    write to a stream captured elsewhere)."""
    records: List[logging.LogRecord] = []
    handler = logging.Handler(level=level)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def logged_info() -> Iterator[List[logging.LogRecord]]:
    """Messages (info and above) logged during the test."""
    yield from _logged(logging.INFO)


@pytest.fixture
def logged_warnings() -> Iterator[List[logging.LogRecord]]:
    """Warnings logged during the test."""
    yield from _logged(logging.WARNING)


def _gloo_entry(rank: int, fn: Callable, run_dir: str, collective_s: float,
                args: tuple) -> None:
    """One rank of ``spawn_two``: joins a 2-process gloo group, runs
    ``fn(rank, *args)`` and leaves the group together with the other rank.

    The barrier before ``destroy_process_group`` keeps a rank from tearing
    down the file store while the other still reads it, and the group's
    timeout turns a rank left waiting in a collective into an error with a
    traceback. SIGUSR1 writes this rank's Python stacks, which the fixture
    asks for before it stops a rank that is still running; a rank that
    fails writes its traceback beside them. A rank exits only once both
    ranks are past the final barrier, without tearing the group down."""
    stacks = open(f'{run_dir}/rank{rank}.stacks', 'w')  # open until exit
    faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True)
    try:
        dist.init_process_group(
            'gloo', init_method=f'file://{run_dir}/store', rank=rank,
            world_size=2, timeout=timedelta(seconds=collective_s))
        fn(rank, *args)
        dist.barrier()
        # A rank leaves only once both are past the barrier, and without
        # ProcessGroupGloo's destructor: on torch 2.1 it can deadlock,
        # holding the GIL while it waits for a worker thread that needs the
        # GIL to free a finished collective's tensor (seen in the compat
        # suite, in destroy_process_group and in the 1-process group of
        # test_only_drop_mode_runs_a_collective).
        Path(f'{run_dir}/rank{rank}.left').touch()
        deadline = time.monotonic() + collective_s
        while not all(Path(f'{run_dir}/rank{r}.left').exists()
                      for r in range(2)):
            if time.monotonic() > deadline:
                raise TimeoutError('the other rank did not pass the final '
                                   f'barrier within {collective_s} s')
            time.sleep(0.05)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except BaseException:
        Path(f'{run_dir}/rank{rank}.error').write_text(traceback.format_exc())
        raise


@pytest.fixture
def spawn_two(tmp_path_factory) -> Callable:
    """Runs ``fn(rank, *args)`` on 2 processes of one gloo process group
    (the fixture starts and ends the group) and fails the test when one
    exits with an error or is still running after ``timeout`` s; the
    failure shows the stacks of the ranks still running. The limit is
    generous: each process imports MMDetection, which takes a while on a
    loaded 2-core CI machine."""

    def run(fn: Callable, *args, timeout: float = 300,
            collective_s: float = 120) -> None:
        run_dir = tmp_path_factory.mktemp('gloo')
        context = mp.spawn(_gloo_entry, nprocs=2, join=False,
                           args=(fn, str(run_dir), collective_s, args))
        deadline = time.monotonic() + timeout
        for process in context.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        hung = [r for r, p in enumerate(context.processes) if p.is_alive()]
        for rank in hung:
            os.kill(context.processes[rank].pid, signal.SIGUSR1)
        time.sleep(2 if hung else 0)
        for rank in hung:
            context.processes[rank].terminate()
        codes = [p.exitcode for p in context.processes]
        # a rank that failed (e.g. timed out in a collective) wrote its
        # traceback; a rank still running left its stacks in the run folder
        report = [f'rank {r} still running after {timeout} s:\n'
                  + (run_dir / f'rank{r}.stacks').read_text() for r in hung]
        report += [f'rank {r} failed:\n' + error.read_text()
                   for r in range(2)
                   if (error := run_dir / f'rank{r}.error').is_file()]
        assert not hung and codes == [0, 0], \
            f'exit codes {codes}\n' + '\n'.join(report)

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
