# Copyright (c) mmdet-droploss contributors. All rights reserved.
import logging
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.logging import print_log

# Where the docs describe the dataset layouts the configs expect.
DATA_DOC = 'docs/data.md'

# LVIS v1 names no file per image: MMDetection's LVISV1Dataset (and every
# subclass) turns each image's coco_url into '<split>2017/<name>.jpg' under
# the image folder, and the v1 validation set draws on both COCO folders.
LVIS_V1_SUBFOLDERS = ('train2017', 'val2017')


def _image_subfolders(dataset_cfg: dict) -> Tuple[str, ...]:
    """The folders a dataset of this type reads below its image folder."""
    from mmdet.datasets import LVISV1Dataset
    from mmdet.registry import DATASETS
    obj_type = dataset_cfg.get('type', '')
    cls = DATASETS.get(obj_type) if isinstance(obj_type, str) else obj_type
    if isinstance(cls, type) and issubclass(cls, LVISV1Dataset):
        return LVIS_V1_SUBFOLDERS
    return ()


def _type_name(cfg: dict) -> str:
    obj_type = cfg.get('type', '')
    return getattr(obj_type, '__name__', obj_type)


def _is_local(path: str) -> bool:
    return '://' not in path


def _remote_backend(backend_args: Optional[dict]) -> Optional[str]:
    """The name of the non-local file backend ``backend_args`` selects, or
    None for local files (MMDetection's petrel/S3 recipe keeps local-looking
    paths such as ``data/lvis_v1/`` and maps them with ``path_mapping``)."""
    backend = (backend_args or {}).get('backend', 'local')
    return None if backend in ('local', 'disk') else str(backend)


def _image_backend_args(dataset_cfg: dict) -> Optional[dict]:
    """The ``backend_args`` the images are read with: those of the
    pipeline's image-loading transform (the dataset's own reach only the
    annotation file, as in MMDetection)."""
    for transform in dataset_cfg.get('pipeline') or []:
        # LoadImageFromFile, LoadMultiChannelImageFromFiles...
        if isinstance(transform, dict) and \
                _type_name(transform).startswith('Load') and \
                'Image' in _type_name(transform):
            return transform.get('backend_args')
    return None


def _skipped(key: str, path: str, backend: str, why: str) -> None:
    print_log(
        f'Data check: {key} ({path}) is read through the {backend!r} file '
        f'backend, which {why}; not checked here (--no-data-check skips '
        'the whole check).',
        logger='current',
        level=logging.WARNING)


def _exists(key: str, path: str, backend_args: Optional[dict],
            is_dir: bool) -> Optional[bool]:
    """Whether ``path`` is a file (folder), asked of the backend that reads
    it; None when that backend cannot answer here (logged).

    Local paths are checked with ``os.path``. Others through MMEngine's
    fileio, as the dataset reads them: ``backend_args`` (path_mapping
    included) or the URI's prefix select the backend, whose ``isfile`` or
    ``isdir`` answers. A backend whose client is not installed here
    (petrel_client, boto3), or one that cannot tell (HTTP), is skipped with
    a warning rather than reported missing: its files may well be there.
    """
    if _is_local(path) and _remote_backend(backend_args) is None:
        return osp.isdir(path) if is_dir else osp.isfile(path)
    name = _remote_backend(backend_args) or path.split('://')[0]
    try:
        backend = get_file_backend(path, backend_args=backend_args)
    except Exception as error:  # an uninstalled client, an unknown name
        _skipped(key, path, name,
                 f'cannot be built here ({type(error).__name__}: {error})')
        return None
    method = getattr(backend, 'isdir' if is_dir else 'isfile', None)
    if method is None:
        _skipped(key, path, name, f'{type(backend).__name__} has no '
                 f'{"isdir" if is_dir else "isfile"} to ask')
        return None
    try:
        return bool(method(path))
    except Exception as error:  # unreachable storage, no listing rights
        _skipped(key, path, name,
                 f'could not answer ({type(error).__name__}: {error})')
        return None


def _through(backend_args: Optional[dict], path: str) -> str:
    name = _remote_backend(backend_args) or (
        None if _is_local(path) else path.split('://')[0])
    return f', through the {name!r} file backend' if name else ''


def _join(data_root: str, path: str) -> str:
    if data_root and not osp.isabs(path):
        return osp.join(data_root, path)
    return path


def _leaf_datasets(dataset_cfg: dict,
                   key: str) -> Iterator[Tuple[str, dict]]:
    """The datasets that read files, through dataset wrappers.

    ``ClassBalancedDataset``, ``RepeatDataset``, ``MultiImageMixDataset``
    wrap one ``dataset``; ``ConcatDataset`` lists ``datasets``.
    """
    if dataset_cfg.get('dataset') is not None:
        yield from _leaf_datasets(dataset_cfg['dataset'], f'{key}.dataset')
    elif dataset_cfg.get('datasets') is not None:
        for i, sub in enumerate(dataset_cfg['datasets']):
            yield from _leaf_datasets(sub, f'{key}.datasets.{i}')
    else:
        yield key, dataset_cfg


def _placeholder(path: str, is_dir: bool) -> str:
    name = osp.basename(osp.normpath(path)) or 'data'
    return f'/path/to/{name}' + ('/' if is_dir else '')


def _evaluator_placeholder(ann_file: str, data_roots: List[str]) -> str:
    # under a dataset's data_root: keep the path inside it
    for root in data_roots:
        if root and ann_file.startswith(osp.join(root, '')):
            return (_placeholder(root, True) +
                    ann_file[len(osp.join(root, '')):])
    return _placeholder(ann_file, False)


def _dataset_problems(key: str,
                      dataset_cfg: dict) -> Tuple[List[str], List[str]]:
    """Missing files of one dataset, and the overrides that would move it.
    """
    missing, overrides = [], []
    data_root = dataset_cfg.get('data_root') or ''
    ann_file = dataset_cfg.get('ann_file') or ''
    prefixes = dataset_cfg.get('data_prefix') or {}
    # the dataset's backend_args read the annotation file, the image
    # loader's the images
    ann_args = dataset_cfg.get('backend_args')
    image_args = _image_backend_args(dataset_cfg)

    ann_path = _join(data_root, ann_file)
    if ann_file and _exists(f'{key}.ann_file', ann_path, ann_args,
                            is_dir=False) is False:
        missing.append(f'{key}.ann_file: {ann_path} (annotation file'
                       f'{_through(ann_args, ann_path)})')
        if osp.isabs(ann_file) or not data_root:
            overrides.append(
                f'{key}.ann_file={_placeholder(ann_file, False)}')

    for name, prefix in prefixes.items():
        if not isinstance(prefix, str):
            continue
        folder = _join(data_root, prefix) or '.'
        item = f'{key}.data_prefix.{name}'
        found = _exists(item, folder, image_args, is_dir=True)
        if found is None:
            continue
        subfolders = _image_subfolders(dataset_cfg)
        if not found:
            gone = [folder]
            inside = (f', with {"/ and ".join(subfolders)}/ in it'
                      if subfolders else '')
        else:
            gone = [path for path in (osp.join(folder, sub)
                                      for sub in subfolders)
                    if _exists(item, path, image_args, is_dir=True) is False]
            inside = ''
        for path in gone:
            missing.append(f'{item}: {osp.join(path, "")} (image folder'
                           f'{inside}{_through(image_args, path)})')
        if gone and (osp.isabs(prefix) or not data_root):
            overrides.append(f'{item}={_placeholder(folder, True)}')

    if missing and data_root and not any(
            o.startswith(f'{key}.') for o in overrides):
        overrides.append(f'{key}.data_root={_placeholder(data_root, True)}')
    return missing, overrides


def _evaluator_ann_files(
        evaluator_cfg, key: str) -> Iterator[Tuple[str, str, Optional[dict]]]:
    """Each metric's key, ``ann_file`` and ``backend_args``."""
    if isinstance(evaluator_cfg, (list, tuple)):
        for i, metric in enumerate(evaluator_cfg):
            yield from _evaluator_ann_files(metric, f'{key}.{i}')
    elif isinstance(evaluator_cfg, dict):
        if evaluator_cfg.get('metrics') is not None:  # an Evaluator
            yield from _evaluator_ann_files(evaluator_cfg['metrics'],
                                            f'{key}.metrics')
        elif evaluator_cfg.get('ann_file'):
            yield (f'{key}.ann_file', evaluator_cfg['ann_file'],
                   evaluator_cfg.get('backend_args'))


def missing_data_files(
    cfg: Config,
    dataloaders: Sequence[str] = ('train_dataloader', 'val_dataloader',
                                  'test_dataloader'),
    evaluators: Sequence[str] = ('val_evaluator', 'test_evaluator')
) -> Tuple[List[str], List[str]]:
    """The dataset files a config names that do not exist.

    Looks at each named dataloader's dataset (through dataset wrappers):
    its annotation file and its ``data_prefix`` folders, both joined to
    ``data_root`` as MMEngine's ``BaseDataset`` joins them, relative to the
    working directory; for ``LVISV1Dataset`` the image folder must hold
    ``train2017/`` and ``val2017/``, where its ``coco_url`` paths lead. Also
    the ``ann_file`` of each named evaluator. A file is looked for where
    it is read from: remote URIs (``s3://``...) and paths read through a
    non-local file backend (the ``backend_args`` of the dataset for its
    annotation file, of its image-loading transform for the images, of the
    evaluator for its file; MMDetection's petrel recipe keeps
    ``data/lvis_v1/`` and maps it with ``path_mapping``) are asked of that
    backend through MMEngine's fileio (``isfile``/``isdir``). Where that
    backend cannot be built here (its client is not installed) or cannot
    tell (HTTP), the file is not checked and a warning names it.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged in.
        dataloaders (Sequence[str]): Dataloader keys to check; absent or
            None ones are skipped.
        evaluators (Sequence[str]): Evaluator keys to check; absent or None
            ones are skipped.

    Returns:
        Tuple[List[str], List[str]]: One line per missing file or folder
        (``key: path (what)``), and the ``--cfg-options`` overrides
        (``key=/path/to/...``) that would point the config elsewhere.
    """
    missing, overrides, data_roots = [], [], []
    for loader_key in dataloaders:
        loader = cfg.get(loader_key)
        if not loader or loader.get('dataset') is None:
            continue
        for key, dataset_cfg in _leaf_datasets(loader['dataset'],
                                               f'{loader_key}.dataset'):
            data_roots.append(dataset_cfg.get('data_root') or '')
            lines, keys = _dataset_problems(key, dataset_cfg)
            missing += [line for line in lines if line not in missing]
            overrides += [k for k in keys if k not in overrides]
    for evaluator_key in evaluators:
        for key, ann_file, backend_args in _evaluator_ann_files(
                cfg.get(evaluator_key), evaluator_key):
            if _exists(key, ann_file, backend_args, is_dir=False) is False:
                missing.append(f'{key}: {ann_file} (annotation file'
                               f'{_through(backend_args, ann_file)})')
                overrides.append(
                    f'{key}={_evaluator_placeholder(ann_file, data_roots)}')
    return missing, overrides


def check_data_files(
    cfg: Config,
    dataloaders: Sequence[str] = ('train_dataloader', 'val_dataloader',
                                  'test_dataloader'),
    evaluators: Sequence[str] = ('val_evaluator', 'test_evaluator'),
    config_path: Optional[str] = None
) -> None:
    """Fail before anything is built when the config's data is not there.

    Without this check a missing LVIS copy surfaces as a long traceback from
    inside the annotation reader, after the model was built.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged in.
        dataloaders (Sequence[str]): Dataloader keys the run uses.
        evaluators (Sequence[str]): Evaluator keys the run uses.
        config_path (str, optional): The config file, named in the message.

    Raises:
        FileNotFoundError: Naming every missing file or folder, where the
            docs describe the layout, and the ``--cfg-options`` that point
            the config elsewhere.
    """
    missing, overrides = missing_data_files(cfg, dataloaders, evaluators)
    if not missing:
        return
    source = f' of {config_path}' if config_path else ''
    lines = '\n'.join(f'  {line}' for line in missing)
    # a config that inherits and sets only the variable `data_root`
    top = cfg.get('data_root')
    roots = {d.get('data_root') for k in dataloaders if cfg.get(k)
             for _, d in _leaf_datasets(cfg[k].get('dataset') or {}, k)}
    stale = (f"The config sets data_root='{top}', but its datasets read "
             f'{sorted(roots - {top})}: a variable set in a config that '
             "inherits does not reach the dataset dicts of its base; set "
             "data_root (and metainfo) in each dataloader's dataset and the "
             "evaluators' ann_file.\n"
             if isinstance(top, str) and roots - {top} else '')
    raise FileNotFoundError(
        f'Dataset files{source} are missing (paths relative to '
        f'{os.getcwd()}):\n{lines}\n{stale}'
        f'{DATA_DOC} describes the layout the configs expect (LVIS v1, LVIS '
        'v0.5, COCO format). For data elsewhere, point the config at it:\n'
        f'  --cfg-options {" ".join(overrides)}')
