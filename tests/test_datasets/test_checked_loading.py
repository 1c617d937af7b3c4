"""Missing or corrupt images are named; skipping them is explicit."""
from pathlib import Path

import pytest
from mmdet.registry import DATASETS, TRANSFORMS

from mmdet_droploss.datasets import CheckedLoadImageFromFile  # noqa: F401


def dataset(root: Path, load: dict):
    return DATASETS.build(
        dict(type='LVISV1Dataset', data_root=str(root),
             ann_file='annotations/lvis_v1_train.json',
             data_prefix=dict(img=''), pipeline=[load]))


def index_of(ds, path: str) -> int:
    return next(i for i in range(len(ds))
                if ds.get_data_info(i)['img_path'] == path)


@pytest.mark.parametrize('which,problem', [('missing', 'is missing'),
                                           ('corrupt', 'cannot be decoded')])
def test_raise_names_the_image_and_the_fix(broken_lvis, which, problem):
    ds = dataset(broken_lvis['root'], dict(type='CheckedLoadImageFromFile'))
    path = broken_lvis[which]
    with pytest.raises(RuntimeError, match='on_error=.skip.') as err:
        ds[index_of(ds, path)]
    assert f'Image {path} {problem}' in str(err.value)


@pytest.mark.parametrize('which', ['missing', 'corrupt'])
def test_skip_logs_the_image_and_draws_another(broken_lvis, which,
                                               logged_warnings):
    ds = dataset(broken_lvis['root'],
                 dict(type='CheckedLoadImageFromFile', on_error='skip'))
    path = broken_lvis[which]
    sample = ds[index_of(ds, path)]
    assert f'Skipped image {path}' in ' '.join(
        r.getMessage() for r in logged_warnings)
    assert sample['img_path'] != path and sample['img'] is not None


@pytest.mark.parametrize('kwargs,message', [
    (dict(on_error='ignore'), "on_error must be one of"),
    (dict(ignore_empty=True), "takes on_error='skip' instead"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TRANSFORMS.build(dict(type='CheckedLoadImageFromFile', **kwargs))
