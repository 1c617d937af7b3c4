# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Per-category training-image frequencies, the input of DropLoss.

``f_j`` = (training images with at least one instance of category j) /
(training images with at least one annotation), indexed by MMDetection's
label (category ids sorted, as the dataset's ``cat2label`` maps them).
"""
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

ANNOTATION_KEYS = ('images', 'annotations', 'categories')


def read_json(path: str, what: str, fix: str) -> Any:
    """Parse a JSON file; a missing or unparsable file is named with ``what``
    and the error says ``fix``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} does not exist; {fix}.')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{what} {path!r} is not valid JSON ({e}).') from e


def load_annotation_file(ann_file: str) -> dict:
    """Read a COCO- or LVIS-format annotation file, with clear errors.

    Args:
        ann_file (str): Path of the JSON file.

    Returns:
        dict: The parsed annotation file.
    """
    ann = read_json(ann_file, 'Annotation file',
                    'check data_root and ann_file of the training dataset')
    missing = [k for k in ANNOTATION_KEYS
               if not isinstance(ann, dict) or k not in ann]
    if missing:
        raise ValueError(
            f'Annotation file {ann_file!r} is not COCO/LVIS shaped: it lacks '
            f'{missing}.')
    return ann


def count_category_images(
        ann: dict,
        cat_ids: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, int]:
    """Count, per category, the images that contain it.

    Args:
        ann (dict): A COCO/LVIS annotation dict.
        cat_ids (Sequence[int], optional): Category ids in label order. None
            takes every category of the file, sorted by id, as MMDetection's
            LVIS and COCO datasets do.

    Returns:
        Tuple[np.ndarray, int]: Image counts of shape (C, ) in label order,
        and the number of distinct images with at least one annotation of
        these categories.
    """
    if cat_ids is None:
        cat_ids = sorted(c['id'] for c in ann['categories'])
    cat2label = {cat_id: i for i, cat_id in enumerate(cat_ids)}
    pairs = {(a['category_id'], a['image_id'])
             for a in ann['annotations'] if a['category_id'] in cat2label}
    counts = np.zeros(len(cat_ids), dtype=np.int64)
    for cat_id, _ in pairs:
        counts[cat2label[cat_id]] += 1
    num_images = len({img_id for _, img_id in pairs})
    return counts, num_images


def frequencies_from_annotations(
        ann: Union[dict, str],
        cat_ids: Optional[Sequence[int]] = None) -> np.ndarray:
    """Category frequencies of one annotation file.

    Args:
        ann (dict | str): Annotation dict or path of the JSON file.
        cat_ids (Sequence[int], optional): Category ids in label order.

    Returns:
        np.ndarray: float64 frequencies of shape (C, ).
    """
    if isinstance(ann, str):
        ann = load_annotation_file(ann)
    counts, num_images = count_category_images(ann, cat_ids)
    if num_images == 0:
        raise ValueError('The annotation file has no annotation of the '
                         'selected categories; frequencies are undefined.')
    return counts / num_images


def _leaf_datasets(dataset) -> List:
    """Unwrap dataset wrappers (repeat, class-balanced, concat)."""
    if hasattr(dataset, 'datasets'):
        return [d for sub in dataset.datasets for d in _leaf_datasets(sub)]
    if hasattr(dataset, 'dataset'):
        return _leaf_datasets(dataset.dataset)
    return [dataset]


def frequencies_from_dataset(dataset) -> Tuple[np.ndarray, Dict]:
    """Category frequencies of an MMDetection training dataset.

    Wrappers such as ``ClassBalancedDataset`` are looked through: the
    frequencies are those of the annotation file(s), not of the resampled
    stream. Counts of a ``ConcatDataset`` are summed over its parts.

    Args:
        dataset: A built COCO-style dataset (``ann_file`` and ``cat_ids``),
            possibly wrapped.

    Returns:
        Tuple[np.ndarray, Dict]: Frequencies of shape (C, ) and a summary
        (``ann_files``, ``num_images``).
    """
    total_counts, total_images, ann_files, cat_ids = None, 0, [], None
    for leaf in _leaf_datasets(dataset):
        ann_file = getattr(leaf, 'ann_file', None)
        if not ann_file:
            raise ValueError(
                f'{type(leaf).__name__} has no ann_file to compute category '
                'frequencies from; give loss_cls.category_freq explicitly.')
        ann = load_annotation_file(ann_file)
        if hasattr(leaf, 'full_init'):
            leaf.full_init()  # sets cat_ids, the dataset's label order
        leaf_cat_ids = list(getattr(leaf, 'cat_ids', None) or [])
        if cat_ids is not None and leaf_cat_ids != cat_ids:
            raise ValueError(
                'The concatenated training datasets have different category '
                'lists; frequencies need one label space.')
        cat_ids = leaf_cat_ids
        counts, num_images = count_category_images(ann, cat_ids or None)
        total_counts = counts if total_counts is None else total_counts + counts
        total_images += num_images
        ann_files.append(ann_file)
    if total_images == 0:
        raise ValueError(f'No annotated image in {ann_files}; category '
                         'frequencies are undefined.')
    return total_counts / total_images, dict(
        ann_files=ann_files, num_images=total_images)


def load_category_freq(category_freq: Union[Sequence[float], str],
                       num_classes: int) -> List[float]:
    """Read frequencies given in a config: a list or a JSON file.

    The file holds a list, or a dict with a ``frequencies`` list (the
    output of ``tools/misc/export_category_freq.py``).

    Args:
        category_freq (Sequence[float] | str): The list or the path.
        num_classes (int): Expected length.

    Returns:
        List[float]: The frequencies.
    """
    source = 'the category_freq list'
    if isinstance(category_freq, str):
        source = f'category frequency file {category_freq!r}'
        data = read_json(category_freq, 'The category frequency file',
                         'write one with tools/misc/export_category_freq.py')
        category_freq = (
            data.get('frequencies') if isinstance(data, dict) else data)
        if not isinstance(category_freq, list):
            raise ValueError(
                f'The {source} must hold a list of frequencies or a dict '
                'with a "frequencies" list.')
    freq = list(category_freq)
    if len(freq) != num_classes:
        raise ValueError(
            f'The {source} has {len(freq)} entries but num_classes is '
            f'{num_classes}; use the table of the training dataset.')
    for i, value in enumerate(freq):
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(
                f'Entry {i} of the {source} is {value!r}; frequencies must '
                'be numbers in [0, 1].')
    return [float(v) for v in freq]
