"""Missing dataset files fail before anything is built, naming each one,
the docs section on the layout, and the overrides that point elsewhere."""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import pytest
from mmengine.config import Config
from mmengine.fileio import BaseStorageBackend, register_backend

from mmdet_droploss.utils import check_data_files, missing_data_files

REPO = Path(__file__).resolve().parents[2]
DEMO = 'configs/demo/droploss_r50_synthetic.py'


def config(path: str, **options) -> Config:
    cfg = Config.fromfile(str(REPO / path))
    cfg.merge_from_dict(options)
    return cfg


def on_data(path: str, root: str) -> Config:
    """A repository config with every dataloader and evaluator on ``root``.
    """
    train_key = ('train_dataloader.dataset.dataset.data_root'
                 if 'rfs' in path else 'train_dataloader.dataset.data_root')
    val_ann = osp.join(root, 'annotations', 'lvis_v1_val.json')
    return config(
        path, **{
            train_key: root,
            'val_dataloader.dataset.data_root': root,
            'test_dataloader.dataset.data_root': root,
            'val_evaluator.ann_file': val_ann,
            'test_evaluator.ann_file': val_ann,
        })


def lvis_dataset(root: str, ann_file: str = 'annotations/a.json') -> dict:
    return dict(type='LVISV1Dataset', data_root=root, ann_file=ann_file,
                data_prefix=dict(img=''))


def loaders(dataset: dict, ann_file: str = '') -> Config:
    return Config(
        dict(train_dataloader=dict(dataset=dataset),
             val_evaluator=dict(type='FastLVISMetric', ann_file=ann_file)))


@pytest.mark.parametrize('path', [DEMO, 'configs/droploss_r50_lvis.py',
                                  'configs/droploss_r50_rfs_lvis.py',
                                  'configs/droploss_r50_rfs_90k_lvis.py'])
def test_config_whose_data_exists_passes(tiny_lvis, path):
    cfg = on_data(path, tiny_lvis['root'])
    assert missing_data_files(cfg) == ([], [])
    check_data_files(cfg)


def test_missing_lvis_copy_is_named_with_docs_and_overrides(tmp_path):
    root = str(tmp_path / 'lvis_v1')
    cfg = on_data('configs/droploss_r50_rfs_lvis.py', root)
    with pytest.raises(FileNotFoundError) as error:
        check_data_files(cfg, config_path='configs/droploss_r50_rfs_lvis.py')
    message = str(error.value)
    ann = osp.join(root, 'annotations')
    for line in [
            'Dataset files of configs/droploss_r50_rfs_lvis.py are missing',
            'train_dataloader.dataset.dataset.ann_file: '
            f'{ann}/lvis_v1_train.json (annotation file)',
            'train_dataloader.dataset.dataset.data_prefix.img: '
            f'{root}/ (image folder, with train2017/ and val2017/ in it)',
            f'val_dataloader.dataset.ann_file: {ann}/lvis_v1_val.json',
            f'test_dataloader.dataset.ann_file: {ann}/lvis_v1_val.json',
            f'val_evaluator.ann_file: {ann}/lvis_v1_val.json',
            'docs/data.md',
            '--cfg-options train_dataloader.dataset.dataset.data_root='
            '/path/to/lvis_v1/ val_dataloader.dataset.data_root='
            '/path/to/lvis_v1/ test_dataloader.dataset.data_root='
            '/path/to/lvis_v1/ val_evaluator.ann_file='
            '/path/to/lvis_v1/annotations/lvis_v1_val.json '
            'test_evaluator.ann_file='
            '/path/to/lvis_v1/annotations/lvis_v1_val.json',
    ]:
        assert line in message
    assert (REPO / 'docs' / 'data.md').is_file()


def test_only_the_named_dataloaders_are_checked(tiny_lvis, tmp_path):
    cfg = on_data(DEMO, tiny_lvis['root'])
    cfg.merge_from_dict({
        'test_dataloader.dataset.data_root': str(tmp_path / 'gone'),
        'test_evaluator.ann_file': str(tmp_path / 'gone.json')
    })
    # tools/train.py: the test set plays no part
    check_data_files(cfg, ['train_dataloader', 'val_dataloader'],
                     ['val_evaluator'])
    missing, _ = missing_data_files(cfg, ['test_dataloader'],
                                    ['test_evaluator'])
    assert [line.split(':')[0] for line in missing] == [
        'test_dataloader.dataset.ann_file',
        'test_dataloader.dataset.data_prefix.img', 'test_evaluator.ann_file'
    ]


@pytest.mark.parametrize('gone', ['train2017', 'val2017'])
def test_lvis_v1_needs_both_coco_folders(tiny_lvis, tmp_path, gone):
    root = tmp_path / 'data'
    shutil.copytree(tiny_lvis['root'], root)
    shutil.rmtree(root / gone)
    missing, overrides = missing_data_files(on_data(DEMO, str(root)),
                                            ['train_dataloader'], [])
    assert missing == [
        'train_dataloader.dataset.data_prefix.img: '
        f'{root}/{gone}/ (image folder)'
    ]
    assert overrides == ['train_dataloader.dataset.data_root=/path/to/data/']


@pytest.mark.parametrize('wrap, key', [
    (lambda d: dict(type='ClassBalancedDataset', oversample_thr=1e-3,
                    dataset=d), 'train_dataloader.dataset.dataset'),
    (lambda d: dict(type='RepeatDataset', times=2, dataset=d),
     'train_dataloader.dataset.dataset'),
    (lambda d: dict(type='ConcatDataset', datasets=[d]),
     'train_dataloader.dataset.datasets.0'),
    (lambda d: dict(type='RepeatDataset', times=2,
                    dataset=dict(type='ClassBalancedDataset',
                                 oversample_thr=1e-3, dataset=d)),
     'train_dataloader.dataset.dataset.dataset'),
])
def test_dataset_wrappers_are_looked_through(tmp_path, wrap, key):
    root = str(tmp_path / 'coco')
    cfg = loaders(wrap(lvis_dataset(root)))
    missing, overrides = missing_data_files(cfg, ['train_dataloader'], [])
    assert missing == [
        f'{key}.ann_file: {root}/annotations/a.json (annotation file)',
        f'{key}.data_prefix.img: {root}/ (image folder, with train2017/ '
        'and val2017/ in it)'
    ]
    assert overrides == [f'{key}.data_root=/path/to/coco/']


def test_absolute_paths_without_data_root_get_their_own_overrides(
        tmp_path):
    dataset = dict(type='CocoDataset', data_root='',
                   ann_file=str(tmp_path / 'train.json'),
                   data_prefix=dict(img=str(tmp_path / 'images/')))
    cfg = loaders(dataset, ann_file=str(tmp_path / 'val.json'))
    missing, overrides = missing_data_files(cfg, ['train_dataloader'],
                                            ['val_evaluator'])
    assert missing == [
        f'train_dataloader.dataset.ann_file: {tmp_path}/train.json '
        '(annotation file)',
        f'train_dataloader.dataset.data_prefix.img: {tmp_path}/images/ '
        '(image folder)',
        f'val_evaluator.ann_file: {tmp_path}/val.json (annotation file)',
    ]
    assert overrides == [
        'train_dataloader.dataset.ann_file=/path/to/train.json',
        'train_dataloader.dataset.data_prefix.img=/path/to/images/',
        'val_evaluator.ann_file=/path/to/val.json',
    ]


class StoreBackend(BaseStorageBackend):
    """An object store for the tests: ``memtest://<key>`` is the file
    ``<root>/<key>``, and ``path_mapping`` maps local-looking paths onto it
    as PetrelBackend's does (MMDetection's petrel recipe)."""
    root: Path

    def __init__(self, path_mapping: Optional[dict] = None) -> None:
        self.path_mapping = path_mapping or {}

    def _file(self, filepath) -> Path:
        filepath = str(filepath)
        for local, remote in self.path_mapping.items():
            filepath = filepath.replace(local, remote, 1)
        if not filepath.startswith('memtest://'):
            raise ValueError(f'{filepath} is not in the memtest store')
        return self.root / filepath[len('memtest://'):]

    def get(self, filepath) -> bytes:
        return self._file(filepath).read_bytes()

    def get_text(self, filepath, encoding: str = 'utf-8') -> str:
        return self._file(filepath).read_text(encoding=encoding)

    def exists(self, filepath) -> bool:
        return self._file(filepath).exists()

    def isfile(self, filepath) -> bool:
        return self._file(filepath).is_file()

    def isdir(self, filepath) -> bool:
        return self._file(filepath).is_dir()

    @contextmanager
    def get_local_path(self, filepath) -> Iterator[str]:
        yield str(self._file(filepath))


# MMDetection's petrel recipe, on the test store
STORE = dict(backend='memtest', path_mapping={
    './data/': 'memtest://bucket/', 'data/': 'memtest://bucket/'})


@pytest.fixture
def store(tiny_lvis, tmp_path, monkeypatch) -> Path:
    """The tiny LVIS copy in the store as ``memtest://bucket/lvis_v1/``,
    and nothing under ``data/`` of the working directory."""
    root = tmp_path / 'store'
    shutil.copytree(tiny_lvis['root'], root / 'bucket' / 'lvis_v1')
    backend = type('TmpStoreBackend', (StoreBackend, ), dict(root=root))
    register_backend('memtest', backend, force=True, prefixes='memtest')
    monkeypatch.chdir(tmp_path)
    assert not osp.exists('data')
    return root / 'bucket' / 'lvis_v1'


def recipe(args: Optional[dict], image_args: Optional[dict],
           evaluator_args: Optional[dict],
           data_root: str = 'data/lvis_v1/') -> Config:
    """Dataset, image loader and evaluator on ``data_root``, each read
    with its own ``backend_args``."""
    dataset = dict(
        type='LVISV1Dataset', data_root=data_root,
        ann_file='annotations/lvis_v1_train.json', data_prefix=dict(img=''),
        backend_args=args,
        pipeline=[dict(type='LoadImageFromFile', backend_args=image_args),
                  dict(type='LoadAnnotations', with_bbox=True)])
    return Config(dict(
        train_dataloader=dict(dataset=dataset),
        val_evaluator=dict(
            type='FastLVISMetric', backend_args=evaluator_args,
            ann_file=data_root + 'annotations/lvis_v1_val.json')))


def test_the_store_is_what_the_dataset_reads(store):
    """The check asks the backend LVISV1Dataset loads through."""
    from mmdet.datasets import LVISV1Dataset
    dataset = LVISV1Dataset(data_root='data/lvis_v1/',
                            ann_file='annotations/lvis_v1_train.json',
                            data_prefix=dict(img=''), backend_args=STORE,
                            pipeline=[])
    assert len(dataset) > 0
    assert missing_data_files(recipe(STORE, STORE, STORE)) == ([], [])


THROUGH = "through the 'memtest' file backend"


@pytest.mark.parametrize('gone, missing', [
    ('annotations/lvis_v1_train.json', [
        'train_dataloader.dataset.ann_file: '
        f'data/lvis_v1/annotations/lvis_v1_train.json (annotation file, '
        f'{THROUGH})']),
    ('val2017', [
        'train_dataloader.dataset.data_prefix.img: data/lvis_v1/val2017/ '
        f'(image folder, {THROUGH})']),
    ('annotations/lvis_v1_val.json', [
        'val_evaluator.ann_file: data/lvis_v1/annotations/lvis_v1_val.json '
        f'(annotation file, {THROUGH})']),
])
def test_missing_remote_files_are_named(store, gone, missing):
    path = store / gone
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    lines, overrides = missing_data_files(recipe(STORE, STORE, STORE))
    assert lines == missing
    assert overrides == ([] if gone.endswith('val.json') else
                         ['train_dataloader.dataset.data_root='
                          '/path/to/lvis_v1/']) + (
        ['val_evaluator.ann_file=/path/to/lvis_v1/annotations/'
         'lvis_v1_val.json'] if gone.endswith('val.json') else [])


def test_each_file_is_checked_where_its_reader_reads_it(store):
    """The dataset's backend_args read the annotation file, not the
    images: an image loader without any reads them from the local disk."""
    lines, _ = missing_data_files(recipe(STORE, None, None))
    assert lines == [
        'train_dataloader.dataset.data_prefix.img: data/lvis_v1/ (image '
        'folder, with train2017/ and val2017/ in it)',
        'val_evaluator.ann_file: data/lvis_v1/annotations/lvis_v1_val.json '
        '(annotation file)',
    ]


def test_a_store_uri_is_checked_by_its_prefix(store):
    (store / 'annotations' / 'lvis_v1_val.json').unlink()
    lines, _ = missing_data_files(
        recipe(None, None, None, data_root='memtest://bucket/lvis_v1/'))
    assert lines == [
        'val_evaluator.ann_file: memtest://bucket/lvis_v1/annotations/'
        f'lvis_v1_val.json (annotation file, {THROUGH})']


PETREL = dict(backend='petrel', path_mapping={
    './data/': 's3://openmmlab/datasets/detection/',
    'data/': 's3://openmmlab/datasets/detection/'})


@pytest.mark.parametrize('args, data_root, backend, why', [
    # MMDetection's recipe where petrel_client is not installed
    (PETREL, 'data/lvis_v1/', 'petrel',
     'cannot be built here (ImportError: Please install petrel_client to '
     'enable PetrelBackend.)'),
    (None, 's3://bucket/lvis_v1/', 's3',
     'cannot be built here (ImportError: Please install petrel_client to '
     'enable PetrelBackend.)'),
    (None, 'https://example.com/lvis_v1/', 'https',
     'HTTPBackend has no isfile to ask'),
])
def test_a_backend_that_cannot_answer_is_skipped_with_a_warning(
        tmp_path, monkeypatch, logged_warnings, args, data_root, backend,
        why):
    if importlib.util.find_spec('petrel_client') is not None:
        pytest.skip('petrel_client is installed: petrel would be asked')
    monkeypatch.chdir(tmp_path)
    assert missing_data_files(recipe(args, args, args, data_root)) == ([],
                                                                        [])
    messages = [r.getMessage() for r in logged_warnings]
    ann = f'{data_root}annotations/lvis_v1_train.json'
    assert (f'Data check: train_dataloader.dataset.ann_file ({ann}) is read '
            f'through the {backend!r} file backend, which {why}; not checked '
            'here (--no-data-check skips the whole check).') in messages
    assert [m.split(' (')[0] for m in messages] == [
        'Data check: train_dataloader.dataset.ann_file',
        'Data check: train_dataloader.dataset.data_prefix.img',
        'Data check: val_evaluator.ann_file']


def run_tool(args: list, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True,
        timeout=120, env=dict(os.environ, PYTHONWARNINGS='ignore'))


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_tools_stop_before_building_anything(tmp_path, tool):
    root = tmp_path / 'lvis_v1'
    work_dir = tmp_path / 'work'
    path = 'configs/droploss_r50_rfs_lvis.py'
    train_key = 'train_dataloader.dataset.dataset.data_root'
    args = [f'tools/{tool}.py', path]
    if tool == 'test':
        args.append(str(tmp_path / 'epoch_12.pth'))
    proc = run_tool(
        args + ['--work-dir', str(work_dir), '--cfg-options',
                f'{train_key}={root}',
                f'val_dataloader.dataset.data_root={root}',
                f'test_dataloader.dataset.data_root={root}',
                f'val_evaluator.ann_file={root}/annotations/v.json',
                f'test_evaluator.ann_file={root}/annotations/v.json'],
        tmp_path)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.startswith(
        f'tools/{tool}.py: Dataset files of {path} are missing')
    used = ['train_dataloader.dataset.dataset', 'val_dataloader.dataset',
            'val_evaluator'] if tool == 'train' else [
                'test_dataloader.dataset', 'test_evaluator']
    unused = ['test_dataloader', 'test_evaluator'] if tool == 'train' else [
        'train_dataloader', 'val_dataloader', 'val_evaluator']
    for key in used:
        assert f'\n  {key}.' in proc.stderr
    for key in unused:
        assert f'\n  {key}.' not in proc.stderr
    assert 'docs/data.md' in proc.stderr
    assert '--cfg-options ' in proc.stderr
    # the runner makes the work dir first thing: it was never built
    assert not work_dir.exists()


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_no_data_check_opts_out(tmp_path, tool):
    """The tool goes past the check, builds the runner, and fails later,
    where the dataset loads its (missing) annotation file."""
    root = tmp_path / 'lvis_v1'
    args = [f'tools/{tool}.py', 'configs/droploss_r50_lvis.py']
    if tool == 'test':
        args.append(str(tmp_path / 'epoch_12.pth'))
    proc = run_tool(
        args + ['--no-data-check', '--work-dir', str(tmp_path / 'work'),
                # random weights: no torchvision:// ImageNet weights offline
                '--cfg-options', 'model.backbone.init_cfg=None',
                f'train_dataloader.dataset.data_root={root}',
                f'val_dataloader.dataset.data_root={root}',
                f'test_dataloader.dataset.data_root={root}',
                f'val_evaluator.ann_file={root}/annotations/v.json',
                f'test_evaluator.ann_file={root}/annotations/v.json'],
        tmp_path)
    assert proc.returncode != 0
    assert 'Dataset files of' not in proc.stderr
    assert (tmp_path / 'work').exists()  # the runner was built
    split = 'train' if tool == 'train' else 'val'
    assert 'FileNotFoundError' in proc.stderr
    assert f'{root}/annotations/lvis_v1_{split}.json' in proc.stderr


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_no_data_check_is_in_the_help(tmp_path, tool):
    proc = run_tool([f'tools/{tool}.py', '--help'], tmp_path)
    assert proc.returncode == 0
    assert '--no-data-check' in proc.stdout


@pytest.mark.parametrize('kind, expected', [
    ('LVISV1Dataset', ('train2017', 'val2017')),
    ('MachineSharedLVISV1Dataset', ('train2017', 'val2017')),
    ('LVISV05Dataset', ()),
    ('CocoDataset', ()),
    ('NoSuchDataset', ()),
])
def test_lvis_v1_and_its_subclasses_read_both_coco_folders(kind, expected):
    from mmdet_droploss.utils.data_checks import _image_subfolders
    assert _image_subfolders(dict(type=kind)) == expected
