# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Category frequencies ``f_j`` = (training images holding category j) /
(training images with an annotation), in the training dataset's label
order."""
import json
import os.path as osp
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

ANNOTATION_KEYS = ('images', 'annotations', 'categories')
# the fields of an annotation file that category frequencies read
LEAN_KEYS = ANNOTATION_KEYS + ('id', 'name', 'image_id', 'category_id')
EXPORT_FIX = ('export the table of the training annotations with python '
              'tools/misc/export_category_freq.py ANN_FILE --out FILE')


class FrequencyTable(NamedTuple):
    """A frequency file's table: ``frequencies`` aligned with ``cat_ids``;
    ``source`` names the file in messages."""
    source: str
    cat_ids: List[int]
    frequencies: List[float]

    def in_label_order(self, cat_ids: Sequence[int]) -> np.ndarray:
        """Map the table to the label order ``cat_ids`` (float64, (C, ))."""
        by_id = dict(zip(self.cat_ids, self.frequencies))
        missing = [c for c in cat_ids if c not in by_id]
        if missing:
            more = f' and {len(missing) - 20} more' * (len(missing) > 20)
            raise ValueError(
                f'The {self.source} lacks {len(missing)} of the training '
                f"dataset's {len(cat_ids)} categories (ids "
                f'{", ".join(map(str, missing[:20]))}{more}); it belongs to '
                f'other annotations. {EXPORT_FIX[0].upper()}{EXPORT_FIX[1:]}, '
                'from the training annotation file.')
        return np.array([by_id[c] for c in cat_ids], dtype=np.float64)


def read_json(path: str, what: str, fix: str, object_hook=None) -> Any:
    """Parse a JSON file; a missing or unparsable file is named with ``what``
    and the error says ``fix``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} does not exist; {fix}.')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f, object_hook=object_hook)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{what} {path!r} is not valid JSON ({e}).') from e


def load_annotation_file(ann_file: str, lean: bool = False) -> dict:
    """Read a COCO/LVIS annotation file; ``lean`` keeps, as it parses, only
    the fields frequencies need (memory about the file's size)."""
    ann = read_json(
        ann_file, 'Annotation file',
        'check data_root and ann_file of the training dataset',
        (lambda o: {k: o[k] for k in LEAN_KEYS if k in o}) if lean else None)
    missing = [k for k in ANNOTATION_KEYS
               if not isinstance(ann, dict) or k not in ann]
    if missing:
        raise ValueError(f'Annotation file {ann_file!r} is not COCO/LVIS '
                         f'shaped: it lacks {missing}.')
    return ann


def count_category_images(
        ann: dict,
        cat_ids: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, int]:
    """Count, per category, the images that contain it.

    Args:
        ann (dict): A COCO/LVIS annotation dict.
        cat_ids (Sequence[int], optional): Category ids in label order. None
            takes the file's order, as MMDetection's LVIS datasets do.

    Returns:
        Tuple[np.ndarray, int]: Image counts (C, ) in label order, and the
        number of images with an annotation of these categories.
    """
    if cat_ids is None:
        cat_ids = [c['id'] for c in ann['categories']]
    cat2label = {cat_id: i for i, cat_id in enumerate(cat_ids)}
    anns = ann['annotations']
    # arrays, not a set of (category, image) pairs: a tenth of the memory
    labels = np.fromiter((cat2label.get(a['category_id'], -1) for a in anns),
                         dtype=np.int64, count=len(anns))
    image_index: dict = {}
    images = np.fromiter(
        (image_index.setdefault(a['image_id'], len(image_index))
         for a in anns),
        dtype=np.int64, count=len(anns))
    keep = labels >= 0
    labels, images = labels[keep], images[keep]
    stride = max(len(image_index), 1)
    pairs = np.unique(labels * stride + images)
    counts = np.bincount(pairs // stride, minlength=len(cat_ids))
    return counts, int(np.unique(images).size)


def frequencies_from_annotations(
        ann: Union[dict, str],
        cat_ids: Optional[Sequence[int]] = None) -> np.ndarray:
    """Frequencies (float64, (C, )) of an annotation dict or file, in the
    label order ``cat_ids`` (None: the file's)."""
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


def dataset_cat_ids(dataset) -> List[int]:
    """The category ids of a (wrapped) training dataset in label order."""
    cat_ids = None
    for leaf in _leaf_datasets(dataset):
        ann_file = getattr(leaf, 'ann_file', None)
        if ann_file and not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'Annotation file {ann_file!r} does not exist; check '
                'data_root and ann_file of the training dataset.')
        if hasattr(leaf, 'full_init'):
            leaf.full_init()  # sets cat_ids, the dataset's label order
        leaf_cat_ids = getattr(leaf, 'cat_ids', None)
        if not leaf_cat_ids:
            raise ValueError(
                f'{type(leaf).__name__} has no cat_ids, so its label order '
                'is unknown; use a COCO-style dataset (CocoDataset, '
                'LVISV1Dataset) or give loss_cls.category_freq as a list in '
                'label order.')
        if cat_ids is not None and list(leaf_cat_ids) != cat_ids:
            raise ValueError(
                'The concatenated training datasets have different category '
                'lists; frequencies need one label space.')
        cat_ids = list(leaf_cat_ids)
    return cat_ids


def frequencies_from_dataset(dataset) -> Tuple[np.ndarray, dict]:
    """Frequencies of a training dataset's annotation file(s), read lean,
    through wrappers (not of a resampled stream); a ``ConcatDataset``'s
    counts are summed.

    Returns:
        Tuple[np.ndarray, dict]: Frequencies (C, ) in label order and a
        summary (``ann_files``, ``num_images``).
    """
    cat_ids = dataset_cat_ids(dataset)
    counts, num_images, ann_files = 0, 0, []
    for leaf in _leaf_datasets(dataset):
        ann_files.append(getattr(leaf, 'ann_file', ''))
        leaf_counts, leaf_images = count_category_images(
            load_annotation_file(ann_files[-1], lean=True), cat_ids)
        counts, num_images = counts + leaf_counts, num_images + leaf_images
    if num_images == 0:
        raise ValueError(f'No annotated image in {ann_files}; category '
                         'frequencies are undefined.')
    return counts / num_images, dict(ann_files=ann_files,
                                     num_images=num_images)


def _check_frequencies(freq: Sequence[Any], source: str) -> List[float]:
    for i, v in enumerate(freq):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                not 0 <= v <= 1:
            raise ValueError(f'Entry {i} of the {source} is {v!r}; '
                             'frequencies must be numbers in [0, 1].')
    return [float(v) for v in freq]


def load_category_freq(category_freq: Union[Sequence[float], str],
                       num_classes: int) -> Union[List[float], FrequencyTable]:
    """Read a config's frequencies: ``num_classes`` numbers in label order,
    or the path of a file of ``tools/misc/export_category_freq.py`` (its
    ``categories``, each with ``id``, ``name`` and ``frequency``), returned
    as a :class:`FrequencyTable`."""
    if not isinstance(category_freq, str):
        freq = list(category_freq)
        if len(freq) != num_classes:
            raise ValueError(
                f'The category_freq list has {len(freq)} entries but '
                f'num_classes is {num_classes}; use the table of the '
                'training dataset.')
        return _check_frequencies(freq, 'category_freq list')
    source = f'category frequency file {category_freq!r}'
    data = read_json(category_freq, 'The category frequency file', EXPORT_FIX)
    cats = data.get('categories') if isinstance(data, dict) else None
    if not isinstance(cats, list) or not all(
            isinstance(c, dict) and 'id' in c for c in cats):
        raise ValueError(
            f'The {source} does not say which category each frequency '
            f'belongs to (no "categories" with ids); {EXPORT_FIX}, or give '
            'the frequencies as a list in the config, in the label order of '
            'the training dataset.')
    cat_ids = [c['id'] for c in cats]
    if len(set(cat_ids)) != len(cat_ids):
        raise ValueError(f'The {source} lists a category id twice; '
                         f'{EXPORT_FIX}.')
    return FrequencyTable(source, cat_ids, _check_frequencies(
        [c.get('frequency') for c in cats], source))
