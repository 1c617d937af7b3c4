"""Datasets loaded once per machine: the same items as MMDetection's own,
one process loads, every rank maps the result."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from mmdet.registry import DATASETS

from mmdet_droploss.datasets import MachineSharedLVISV1Dataset


def build(kind: str, root: str,
          ann_file: str = 'annotations/lvis_v1_train.json', **kwargs):
    return DATASETS.build(dict(
        type=kind, data_root=root, ann_file=ann_file,
        data_prefix=dict(img=''), pipeline=[],
        filter_cfg=dict(filter_empty_gt=True, min_size=4), **kwargs))


def items(dataset) -> list:
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def recorded_load(cls, log: Path):
    """``cls.load_data_list`` (the parse of the annotation file), appending
    the id of the process that runs it to ``log``."""
    load = cls.load_data_list

    def recorded(self):
        with open(log, 'a') as f:
            f.write(f'{os.getpid()}\n')
        return load(self)

    return recorded


@pytest.mark.parametrize('kind', ['LVISV1Dataset', 'CocoDataset'])
def test_same_items_as_the_dataset_it_extends(tiny_lvis, tmp_path, kind,
                                              monkeypatch):
    root, options = tiny_lvis['root'], {}
    if kind == 'CocoDataset':
        from mmdet_droploss.testing.synthetic_lvis import make_synthetic_coco
        classes = tuple(f'class_{i}' for i in range(6))
        root = str(tmp_path / 'coco')
        make_synthetic_coco(root, classes, num_train=8, num_val=2,
                            image_size=96, max_objects=4)
        options = dict(metainfo=dict(classes=classes),
                       ann_file='annotations/instances_train.json')
    share = tmp_path / 'share'
    share.mkdir()
    plain = build(kind, root, **options)
    loads = tmp_path / 'loads'
    monkeypatch.setattr(DATASETS.get(kind), 'load_data_list',
                        recorded_load(DATASETS.get(kind), loads))
    shared = build(f'MachineShared{kind}', root, share_dir=str(share),
                   **options)
    assert len(shared) == len(plain) > 3
    assert items(shared) == items(plain)
    assert sum(len(i['instances']) for i in items(shared)) > 5
    assert shared.cat_ids == plain.cat_ids
    assert shared.cat2label == plain.cat2label
    # mapped from the share folder, which is gone already
    assert isinstance(shared.data_bytes, np.memmap)
    assert not os.listdir(share)
    # parsed once, by a child process
    pids = loads.read_text().split()
    assert len(pids) == 1 and pids[0] != str(os.getpid())


def test_a_subset_and_a_wrapper_work_as_with_the_plain_dataset(tiny_lvis,
                                                               tmp_path):
    plain = build('LVISV1Dataset', tiny_lvis['root'], indices=[1, 0, 2])
    shared = build('MachineSharedLVISV1Dataset', tiny_lvis['root'],
                   indices=[1, 0, 2], share_dir=str(tmp_path))
    assert items(shared) == items(plain) and len(shared) == 3
    balanced = DATASETS.build(dict(
        type='ClassBalancedDataset', oversample_thr=0.3,
        dataset=dict(type='MachineSharedLVISV1Dataset',
                     data_root=tiny_lvis['root'],
                     ann_file='annotations/lvis_v1_train.json',
                     data_prefix=dict(img=''), pipeline=[],
                     share_dir=str(tmp_path))))
    reference = DATASETS.build(dict(
        type='ClassBalancedDataset', oversample_thr=0.3,
        dataset=dict(type='LVISV1Dataset', data_root=tiny_lvis['root'],
                     ann_file='annotations/lvis_v1_train.json',
                     data_prefix=dict(img=''), pipeline=[])))
    assert balanced.repeat_indices == reference.repeat_indices
    assert len(balanced) > len(balanced.dataset)


def test_serialize_data_false_is_refused(tiny_lvis, tmp_path):
    with pytest.raises(ValueError, match='serialize_data=True.*LVISV1Dataset'):
        build('MachineSharedLVISV1Dataset', tiny_lvis['root'],
              serialize_data=False, share_dir=str(tmp_path))


def test_a_failed_load_names_the_file_and_its_error(tiny_lvis, tmp_path):
    root = tmp_path / 'data'
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'lvis_v1_train.json').write_text('{"images": [')
    with pytest.raises(RuntimeError, match='lvis_v1_train.json failed on '
                       'rank 0') as error:
        build('MachineSharedLVISV1Dataset', str(root),
              share_dir=str(tmp_path / 'share'))
    assert 'JSONDecodeError' in str(error.value)


def test_a_share_dir_without_room_names_the_fix(tiny_lvis, tmp_path):
    blocked = tmp_path / 'file'
    blocked.write_text('not a folder')
    with pytest.raises(RuntimeError, match="share_dir='/tmp'"):
        build('MachineSharedLVISV1Dataset', tiny_lvis['root'],
              share_dir=str(blocked))


def test_without_room_in_dev_shm_the_temporary_folder_serves(
        tiny_lvis, tmp_path, monkeypatch):
    import shutil
    import tempfile
    from collections import namedtuple
    usage = shutil.disk_usage

    def no_room_in_shm(path):
        if path == '/dev/shm':
            return namedtuple('usage', 'total used free')(1, 1, 0)
        return usage(path)

    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    monkeypatch.setattr(shutil, 'disk_usage', no_room_in_shm)
    dataset = build('MachineSharedLVISV1Dataset', tiny_lvis['root'])
    assert dataset.data_bytes.filename.startswith(str(tmp_path))
    assert len(dataset) > 3 and not os.listdir(tmp_path)


def rank_builds(rank: int, root: str, share_dir: str, out_dir: str) -> None:
    from mmdet.utils import register_all_modules

    import mmdet_droploss  # noqa: F401
    register_all_modules(init_default_scope=True)
    from mmdet.datasets import LVISV1Dataset
    LVISV1Dataset.load_data_list = recorded_load(
        LVISV1Dataset, Path(out_dir, f'loads{rank}'))
    dataset = build('MachineSharedLVISV1Dataset', root, share_dir=share_dir)
    Path(out_dir, f'rank{rank}.json').write_text(json.dumps(dict(
        items=repr(items(dataset)),
        cat_ids=dataset.cat_ids, left=os.listdir(share_dir))))


def test_one_rank_of_the_machine_loads_and_both_map_it(tiny_lvis, tmp_path,
                                                      spawn_two):
    share = tmp_path / 'share'
    share.mkdir()
    spawn_two(rank_builds, tiny_lvis['root'], str(share), str(tmp_path))
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text())
             for r in (0, 1)]
    plain = build('LVISV1Dataset', tiny_lvis['root'])
    # rank 0 parsed the file, once; rank 1 did not
    assert len((tmp_path / 'loads0').read_text().split()) == 1
    assert not (tmp_path / 'loads1').exists()
    for r in ranks:
        assert r['items'] == repr(items(plain))
        assert r['cat_ids'] == plain.cat_ids
    assert not os.listdir(share)


def rank_fails(rank: int, root: str, share_dir: str, out_dir: str) -> None:
    from mmdet.utils import register_all_modules

    import mmdet_droploss  # noqa: F401
    register_all_modules(init_default_scope=True)
    try:
        build('MachineSharedLVISV1Dataset', root, share_dir=share_dir)
    except RuntimeError as error:
        Path(out_dir, f'rank{rank}.error').write_text(str(error))


def test_a_failed_load_stops_every_rank(tmp_path, spawn_two):
    root = tmp_path / 'data'
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'lvis_v1_train.json').write_text('[]')
    spawn_two(rank_fails, str(root), str(tmp_path), str(tmp_path),
              timeout=240, collective_s=60)
    for r in (0, 1):
        assert 'failed on rank 0' in (tmp_path / f'rank{r}.error').read_text()


def test_the_machine_shared_class_is_a_subclass_of_the_dataset():
    from mmdet.datasets import LVISV1Dataset
    assert issubclass(MachineSharedLVISV1Dataset, LVISV1Dataset)


def test_lvis_classes_are_the_files_names(tmp_path):
    """A file of 20 categories: label k is named as its k-th category (was:
    the k-th of LVIS's 1203 names); the full list keeps LVIS's names."""
    from mmdet.datasets import LVISV1Dataset

    from mmdet_droploss.testing.synthetic_lvis import make_synthetic_lvis
    root = tmp_path / 'twenty'
    paths = make_synthetic_lvis(str(root), seed=0, num_train=4, num_val=2,
                                image_size=96, num_active=20,
                                only_active=True)
    with open(paths['train']) as f:
        names = tuple(c['name'] for c in json.load(f)['categories'])
    dataset = build('MachineSharedLVISV1Dataset', str(root))
    assert dataset.metainfo['classes'] == names
    assert names != LVISV1Dataset.METAINFO['classes'][:20]


def test_full_lvis_names_are_unchanged(tiny_lvis):
    from mmdet.datasets import LVISV1Dataset
    dataset = build('MachineSharedLVISV1Dataset', tiny_lvis['root'])
    assert dataset.metainfo['classes'] == LVISV1Dataset.METAINFO['classes']


@pytest.mark.parametrize('kind, classes, message', [
    ('MachineSharedCocoDataset', ('class_0', 'clas_1', 'class_2'),
     "metainfo classes ['clas_1'] are not categories of the annotation "
     'file'),
    ('MachineSharedLVISV1Dataset', ('a', 'b'),
     "metainfo classes (2, starting ['a', 'b']) are not the file's"),
])
def test_classes_the_file_lacks_are_named(tiny_lvis, tmp_path, kind,
                                          classes, message):
    root, ann_file = tiny_lvis['root'], 'annotations/lvis_v1_train.json'
    if kind == 'MachineSharedCocoDataset':
        from mmdet_droploss.testing.synthetic_lvis import make_synthetic_coco
        root, ann_file = str(tmp_path / 'coco'), \
            'annotations/instances_train.json'
        make_synthetic_coco(root, [f'class_{i}' for i in range(3)],
                            num_train=4, num_val=2, image_size=96)
    with pytest.raises(RuntimeError) as error:
        build(kind, root, ann_file=ann_file,
              metainfo=dict(classes=classes))
    assert message in str(error.value)
    assert 'Fix:' in str(error.value)
