import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch.nn as nn
from mmdet.registry import DATASETS, HOOKS, MODELS
from mmengine.runner.checkpoint import load_state_dict

from mmdet_droploss.datasets import frequencies_from_annotations

REPO = Path(__file__).resolve().parents[2]


def lvis_dataset(root: str, ann_file: str = 'annotations/lvis_v1_train.json'):
    return DATASETS.build(
        dict(
            type='ClassBalancedDataset',
            oversample_thr=0.1,
            lazy_init=True,
            dataset=dict(
                type='LVISV1Dataset',
                data_root=root,
                ann_file=ann_file,
                data_prefix=dict(img=''),
                pipeline=[],
                lazy_init=True)))


def model_with_losses(**loss_kwargs) -> nn.Module:
    model = nn.Module()
    model.drop = MODELS.build(
        dict(type='DropLoss', num_classes=1203, **loss_kwargs))
    model.eql = MODELS.build(dict(type='DropLoss', num_classes=1203,
                                  mode='eql'))
    model.bce = MODELS.build(dict(type='DropLoss', num_classes=1203,
                                  mode='bce'))
    return model


def run_hook(model, dataset, iteration: int = 0) -> None:
    runner = SimpleNamespace(model=model, iter=iteration,
                             train_dataloader=SimpleNamespace(dataset=dataset))
    HOOKS.build(dict(type='CategoryFrequencyHook')).before_train(runner)


def test_fills_missing_frequencies_from_the_training_set(tiny_lvis):
    model = model_with_losses()
    run_hook(model, lvis_dataset(tiny_lvis['root']))
    expected = frequencies_from_annotations(tiny_lvis['train'])
    for loss in (model.drop, model.eql):
        assert not loss.needs_category_freq
        assert np.array_equal(loss.category_freq.numpy(), expected)
    # plain BCE needs none and gets none
    assert model.bce.category_freq.isnan().all()


def test_frequencies_already_present_are_kept(tiny_lvis):
    model = model_with_losses(category_freq=[0.5] * 1203)
    model.eql.set_category_freq([0.25] * 1203)
    # a dataset that cannot be read: the hook must not need it
    run_hook(model, lvis_dataset(tiny_lvis['root'], 'missing.json'))
    assert model.drop.category_freq.eq(0.5).all()
    assert model.eql.category_freq.eq(0.25).all()


def test_unreadable_training_annotations_are_named(tiny_lvis):
    with pytest.raises(FileNotFoundError,
                       match="'.*missing.json' does not exist"):
        run_hook(model_with_losses(),
                 lvis_dataset(tiny_lvis['root'], 'missing.json'))


# Categories listed out of id order; 'b' (id 20) is not among the classes the
# dataset keeps, and image 6 holds only 'b'.
COCO_CATEGORIES = [dict(id=30, name='c'), dict(id=10, name='a'),
                   dict(id=20, name='b'), dict(id=40, name='d')]
COCO_IMAGES = {1: [30, 10], 2: [30], 3: [30, 40], 4: [10], 5: [40, 20],
               6: [20]}
CLASSES = ('d', 'a', 'c')
# images with a kept category: 1-5; c in 1, 2, 3; a in 1, 4; d in 3, 5
FREQ_BY_ID = {30: 3 / 5, 10: 2 / 5, 40: 2 / 5}


def coco_dataset(tmp_path, ann_file: str = 'train.json'):
    path = tmp_path / 'train.json'
    # written once: in the 2-process test a rank rewriting it while rank 0
    # reads it would hand rank 0 a truncated file
    if not path.exists():
        anns = [dict(id=len(ids) * 10 + j, image_id=img, category_id=c,
                     bbox=[0, 0, 10, 10], area=100, iscrowd=0)
                for img, ids in COCO_IMAGES.items()
                for j, c in enumerate(ids)]
        for i, a in enumerate(anns):
            a['id'] = i + 1
        path.write_text(json.dumps(dict(
            images=[dict(id=i, file_name=f'{i}.jpg', width=64, height=64)
                    for i in COCO_IMAGES],
            annotations=anns, categories=COCO_CATEGORIES)))
    return DATASETS.build(
        dict(type='CocoDataset', data_root=str(tmp_path), ann_file=ann_file,
             metainfo=dict(classes=CLASSES), data_prefix=dict(img=''),
             pipeline=[], lazy_init=True))


def coco_model(**kwargs) -> nn.Module:
    model = nn.Module()
    model.loss_cls = MODELS.build(
        dict(type='DropLoss', num_classes=3, lambda_=0.5, **kwargs))
    return model


def export(tmp_path, *args: str) -> str:
    out = tmp_path / 'freq.json'
    proc = subprocess.run(
        [sys.executable, 'tools/misc/export_category_freq.py',
         str(tmp_path / 'train.json'), '--out', str(out), *args],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return str(out)


def test_exported_file_and_hook_give_the_same_tail_set(tmp_path):
    """A COCO file with categories out of id order and a classes subset:
    the file route (mapped by id) and the hook route agree, label by
    label, with the counts by hand."""
    dataset = coco_dataset(tmp_path)
    dataset.full_init()
    # the label order is neither ascending ids nor the file's full list
    assert dataset.cat_ids != sorted(dataset.cat_ids)
    expected = np.array([FREQ_BY_ID[c] for c in dataset.cat_ids])
    assert sorted(expected.tolist()) == [0.4, 0.4, 0.6]

    computed = coco_model()
    run_hook(computed, dataset)
    from_file = coco_model(
        category_freq=export(tmp_path, '--classes', *CLASSES))
    run_hook(from_file, dataset)
    for model in (computed, from_file):
        assert model.loss_cls.category_freq.tolist() == pytest.approx(
            expected.tolist(), abs=1e-15)
        assert model.loss_cls.tail_mask.tolist() == (expected < 0.5).tolist()


def test_table_without_a_dataset_category_is_an_error(tmp_path):
    dataset = coco_dataset(tmp_path)
    path = tmp_path / 'other.json'
    path.write_text(json.dumps(dict(categories=[
        dict(id=10, name='a', frequency=0.1),
        dict(id=20, name='b', frequency=0.2),
        dict(id=30, name='c', frequency=0.3)])))
    model = coco_model(category_freq=str(path))
    with pytest.raises(ValueError, match=r"lacks 1 of the training dataset's "
                       r'3 categories \(ids 40\).*export_category_freq'):
        run_hook(model, dataset)


def trained_state(freq) -> dict:
    """The state dict of a DropLoss trained with ``freq``."""
    return coco_model(category_freq=freq).state_dict()


def test_config_frequencies_win_over_load_from(tmp_path, logged_warnings):
    model = coco_model(category_freq=[0.9, 0.8, 0.1])
    model.load_state_dict(trained_state([0.2, 0.3, 0.4]))
    # the checkpoint replaced the buffer; the hook applies the config's
    assert model.loss_cls.category_freq.tolist() == [0.2, 0.3, 0.4]
    run_hook(model, coco_dataset(tmp_path, 'missing.json'))
    assert model.loss_cls.category_freq.tolist() == [0.9, 0.8, 0.1]
    message = '\n'.join(r.getMessage() for r in logged_warnings)
    assert 'load_from checkpoint differ from the frequencies named in the ' \
        'config at 3 of 3' in message
    assert 'label 0: 0.2 vs 0.9' in message


def test_resume_keeps_the_checkpoint_frequencies(tmp_path, logged_warnings):
    model = coco_model(category_freq=[0.9, 0.8, 0.1])
    model.load_state_dict(trained_state([0.2, 0.3, 0.4]))
    run_hook(model, coco_dataset(tmp_path, 'missing.json'), iteration=4)
    assert model.loss_cls.category_freq.tolist() == [0.2, 0.3, 0.4]
    message = '\n'.join(r.getMessage() for r in logged_warnings)
    assert 'resumed checkpoint differ from the frequencies named in the ' \
        'config' in message and 'Using the resumed checkpoint' in message


def test_fine_tuning_on_another_dataset_gets_its_table(tmp_path,
                                                       logged_warnings):
    model = coco_model()
    model.load_state_dict(trained_state([0.2, 0.3, 0.4]))
    dataset = coco_dataset(tmp_path)
    run_hook(model, dataset)
    expected = [FREQ_BY_ID[c] for c in dataset.cat_ids]
    assert model.loss_cls.category_freq.tolist() == expected
    message = '\n'.join(r.getMessage() for r in logged_warnings)
    assert 'load_from checkpoint differ from the training set' in message

    # the same checkpoint resumed: kept, the dataset is not read
    resumed = coco_model()
    resumed.load_state_dict(trained_state([0.2, 0.3, 0.4]))
    run_hook(resumed, coco_dataset(tmp_path, 'missing.json'), iteration=4)
    assert resumed.loss_cls.category_freq.tolist() == [0.2, 0.3, 0.4]


def hook_worker(rank: int, tmp: str) -> None:
    tmp_path = Path(tmp)
    result = {}
    # rank 1's dataset names a file that does not exist: only rank 0 reads
    model = coco_model()
    run_hook(model, coco_dataset(tmp_path / 'data',
                                 'train.json' if rank == 0 else 'none.json'))
    result['freq'] = model.loss_cls.category_freq.tolist()
    # rank 0 fails: every rank gets its error instead of waiting for ever
    try:
        run_hook(coco_model(), coco_dataset(tmp_path / 'data', 'none.json'))
    except FileNotFoundError as e:
        result['error'] = str(e)
    (tmp_path / f'rank{rank}.json').write_text(json.dumps(result))


def test_rank_zero_reads_the_annotations_once_per_job(tmp_path, spawn_two):
    (tmp_path / 'data').mkdir()
    dataset = coco_dataset(tmp_path / 'data')
    dataset.full_init()
    expected = [FREQ_BY_ID[c] for c in dataset.cat_ids]
    spawn_two(hook_worker, str(tmp_path))
    for rank in (0, 1):
        result = json.loads((tmp_path / f'rank{rank}.json').read_text())
        assert result['freq'] == expected
        assert "none.json' does not exist" in result['error']


def test_checkpoint_of_another_class_count_is_ignored_cleanly(
        tmp_path, logged_warnings):
    """A fine-tune from a checkpoint of another dataset (LVIS v0.5's 1230
    classes into v1's 1203): its frequency buffer has another shape, is not
    loaded, and so is not compared with the new table: no warning about
    differences (earlier, every entry 'differed' from the unloaded NaN)."""
    other = nn.Module()
    other.loss_cls = MODELS.build(
        dict(type='DropLoss', num_classes=4, lambda_=0.5,
             category_freq=[0.2, 0.3, 0.4, 0.5]))
    model = coco_model()
    # as load_from loads: mismatched shapes are reported, not raised
    load_state_dict(model, other.state_dict(), strict=False)
    dataset = coco_dataset(tmp_path)
    run_hook(model, dataset)
    assert model.loss_cls.category_freq.tolist() == [
        FREQ_BY_ID[c] for c in dataset.cat_ids]
    assert not [r for r in logged_warnings if 'differ' in r.getMessage()]
