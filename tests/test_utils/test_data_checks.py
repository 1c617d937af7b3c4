"""Missing dataset files fail before anything is built, naming each one,
the docs section on the layout, and the overrides that point elsewhere."""
import os
import os.path as osp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

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


def test_remote_storage_is_not_checked():
    cfg = loaders(lvis_dataset('s3://bucket/lvis_v1/'),
                  ann_file='s3://bucket/lvis_v1/annotations/val.json')
    assert missing_data_files(cfg) == ([], [])


# MMDetection's petrel recipe: local-looking paths, mapped to the cluster's
# object store by the backend
PETREL = dict(backend='petrel', path_mapping={
    './data/': 's3://openmmlab/datasets/detection/',
    'data/': 's3://openmmlab/datasets/detection/'})


@pytest.mark.parametrize('remote, missing', [
    # dataset, image loader and evaluator read through petrel: nothing to
    # check here (each one used to be reported missing)
    (('dataset', 'pipeline', 'evaluator'), []),
    # images through petrel, annotations local: the local files are checked
    (('pipeline', ), ['train_dataloader.dataset.ann_file',
                      'val_evaluator.ann_file']),
    # the dataset's backend_args reach the images when no loader names any
    (('dataset', ), ['val_evaluator.ann_file']),
])
def test_files_read_through_a_remote_backend_are_not_checked(
        remote, missing, logged_info):
    dataset = lvis_dataset('data/lvis_v1/')
    dataset['pipeline'] = [dict(type='LoadImageFromFile'),
                           dict(type='LoadAnnotations', with_bbox=True)]
    if 'dataset' in remote:
        dataset['backend_args'] = PETREL
    if 'pipeline' in remote:
        dataset['pipeline'][0]['backend_args'] = PETREL
    cfg = loaders(dataset, ann_file='data/lvis_v1/annotations/val.json')
    if 'evaluator' in remote:
        cfg.val_evaluator.backend_args = PETREL
    lines, _ = missing_data_files(cfg)
    assert [line.split(':')[0] for line in lines] == missing
    skipped = [r.getMessage() for r in logged_info
               if r.getMessage().startswith('Data check:')]
    assert any("read through the 'petrel' file backend" in m
               for m in skipped)


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


def test_no_data_check_opts_out(tmp_path):
    """The test tool goes past the check and fails later, where the dataset
    is loaded (the annotation file is missing)."""
    root = tmp_path / 'lvis_v1'
    proc = run_tool(
        ['tools/test.py', 'configs/droploss_r50_lvis.py',
         str(tmp_path / 'epoch_12.pth'), '--no-data-check', '--work-dir',
         str(tmp_path / 'work'), '--cfg-options',
         f'test_dataloader.dataset.data_root={root}',
         f'test_evaluator.ann_file={root}/annotations/v.json'], tmp_path)
    assert proc.returncode != 0
    assert 'Dataset files of' not in proc.stderr
    assert (tmp_path / 'work').exists()  # the runner was built
