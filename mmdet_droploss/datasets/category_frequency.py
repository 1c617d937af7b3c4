# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Per-category training-image frequencies, the input of DropLoss.

``f_j`` = (training images with at least one instance of category j) /
(training images with at least one annotation), indexed by the training
dataset's label: the position of the category id in the dataset's
``cat_ids`` (MMDetection's ``CocoDataset`` keeps the annotation file's
category order, filtered by ``classes``; it need not be ascending by id).
A table read from a file is keyed by category id and mapped into that
order wherever it meets a dataset.
"""
import json
import os.path as osp
from typing import (
    Any,
    Callable,
    Dict,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

ANNOTATION_KEYS = ('images', 'annotations', 'categories')
# the fields of an annotation file that category frequencies read
LEAN_KEYS = ANNOTATION_KEYS + ('id', 'name', 'image_id', 'category_id')
EXPORT_FIX = ('export the table of the training annotations with python '
              'tools/misc/export_category_freq.py ANN_FILE --out FILE')


class FrequencyTable(NamedTuple):
    """Category frequencies keyed by category id, as a file carries them.

    Attributes:
        source (str): Where the table comes from, for messages.
        cat_ids (List[int]): Category ids.
        names (List[str]): Category names, aligned with ``cat_ids``.
        frequencies (List[float]): Frequencies, aligned with ``cat_ids``.
    """
    source: str
    cat_ids: List[int]
    names: List[str]
    frequencies: List[float]


def read_json(path: str,
              what: str,
              fix: str,
              object_hook: Optional[Callable[[dict], Any]] = None) -> Any:
    """Parse a JSON file; a missing or unparsable file is named with ``what``
    and the error says ``fix``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} does not exist; {fix}.')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f, object_hook=object_hook)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{what} {path!r} is not valid JSON ({e}).') from e


def _lean_object(obj: dict) -> dict:
    """``json`` object hook that keeps only what frequencies need.

    Every JSON object of the file passes through here as it is parsed, so
    the polygons, boxes and URLs of each annotation and image are dropped
    at once instead of living, as Python objects, until the whole file is
    read (several times the file's size for LVIS).
    """
    return {k: obj[k] for k in LEAN_KEYS if k in obj}


def load_annotation_file(ann_file: str, lean: bool = False) -> dict:
    """Read a COCO- or LVIS-format annotation file, with clear errors.

    Args:
        ann_file (str): Path of the JSON file.
        lean (bool): Keep only the fields category frequencies need
            (``id``, ``name``, ``image_id``, ``category_id`` of each entry),
            which bounds the memory to about the file's size. Defaults to
            False.

    Returns:
        dict: The parsed annotation file.
    """
    ann = read_json(ann_file, 'Annotation file',
                    'check data_root and ann_file of the training dataset',
                    object_hook=_lean_object if lean else None)
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
            takes every category of the file in the file's order, as
            MMDetection's LVIS datasets number them (not sorted by id).

    Returns:
        Tuple[np.ndarray, int]: Image counts of shape (C, ) in label order,
        and the number of distinct images with at least one annotation of
        these categories.
    """
    if cat_ids is None:
        cat_ids = [c['id'] for c in ann['categories']]
    cat2label = {cat_id: i for i, cat_id in enumerate(cat_ids)}
    anns = ann['annotations']
    # arrays, not a set of (category, image) pairs: a tenth of the memory
    # for LVIS's 1.27 million annotations
    labels = np.fromiter((cat2label.get(a['category_id'], -1) for a in anns),
                         dtype=np.int64, count=len(anns))
    image_index: Dict[Any, int] = {}
    images = np.fromiter(
        (image_index.setdefault(a['image_id'], len(image_index))
         for a in anns),
        dtype=np.int64, count=len(anns))
    keep = labels >= 0
    labels, images = labels[keep], images[keep]
    pairs = np.unique(labels * max(len(image_index), 1) + images)
    counts = np.bincount(
        pairs // max(len(image_index), 1), minlength=len(cat_ids))
    num_images = int(np.unique(images).size)
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


def dataset_cat_ids(dataset) -> List[int]:
    """The category ids of a training dataset, in its label order.

    Args:
        dataset: A built COCO-style dataset, possibly wrapped; the parts of
            a ``ConcatDataset`` must share one label space.

    Returns:
        List[int]: ``cat_ids``: label ``i`` is category ``cat_ids[i]``.
    """
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


def frequencies_from_dataset(dataset) -> Tuple[np.ndarray, Dict]:
    """Category frequencies of an MMDetection training dataset.

    Wrappers such as ``ClassBalancedDataset`` are looked through: the
    frequencies are those of the annotation file(s), not of the resampled
    stream. Counts of a ``ConcatDataset`` are summed over its parts. Each
    file is parsed keeping only ids (:func:`load_annotation_file` with
    ``lean=True``), one file at a time.

    Args:
        dataset: A built COCO-style dataset (``ann_file`` and ``cat_ids``),
            possibly wrapped.

    Returns:
        Tuple[np.ndarray, Dict]: Frequencies of shape (C, ) in the
        dataset's label order and a summary (``ann_files``, ``num_images``).
    """
    cat_ids = dataset_cat_ids(dataset)
    total_counts, total_images, ann_files = None, 0, []
    for leaf in _leaf_datasets(dataset):
        ann_file = getattr(leaf, 'ann_file', None)
        if not ann_file:
            raise ValueError(
                f'{type(leaf).__name__} has no ann_file to compute category '
                'frequencies from; give loss_cls.category_freq explicitly.')
        counts, num_images = count_category_images(
            load_annotation_file(ann_file, lean=True), cat_ids)
        total_counts = (counts if total_counts is None else
                        total_counts + counts)
        total_images += num_images
        ann_files.append(ann_file)
    if total_images == 0:
        raise ValueError(f'No annotated image in {ann_files}; category '
                         'frequencies are undefined.')
    return total_counts / total_images, dict(
        ann_files=ann_files, num_images=total_images)


def _check_frequencies(freq: Sequence[Any], source: str) -> List[float]:
    for i, value in enumerate(freq):
        if isinstance(value, bool) or not isinstance(
                value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(
                f'Entry {i} of the {source} is {value!r}; frequencies must '
                'be numbers in [0, 1].')
    return [float(v) for v in freq]


def read_frequency_table(path: str) -> FrequencyTable:
    """Read a frequency file written by ``export_category_freq.py``.

    The file lists ``categories``, each with its ``id``, ``name`` and
    ``frequency``. A file that holds a bare list is refused: it does not
    say which category each number belongs to.

    Args:
        path (str): The JSON file.

    Returns:
        FrequencyTable: The table, keyed by category id.
    """
    source = f'category frequency file {path!r}'
    data = read_json(path, 'The category frequency file',
                     f'{EXPORT_FIX}')
    cats = data.get('categories') if isinstance(data, dict) else None
    if not isinstance(cats, list) or not all(
            isinstance(c, dict) and 'id' in c for c in cats):
        raise ValueError(
            f'The {source} does not say which category each frequency '
            f'belongs to (no "categories" with ids); {EXPORT_FIX}, or give '
            'the frequencies as a list in the config, in the label order of '
            'the training dataset.')
    if not all('frequency' in c for c in cats):
        raise ValueError(
            f'The {source} has categories without a "frequency"; '
            f'{EXPORT_FIX}.')
    freq = [c['frequency'] for c in cats]
    cat_ids = [c['id'] for c in cats]
    if len(set(cat_ids)) != len(cat_ids):
        raise ValueError(f'The {source} lists a category id twice; '
                         f'{EXPORT_FIX}.')
    return FrequencyTable(
        source=source,
        cat_ids=cat_ids,
        names=[str(c.get('name', c['id'])) for c in cats],
        frequencies=_check_frequencies(freq, source))


def table_in_label_order(table: FrequencyTable,
                         cat_ids: Sequence[int]) -> np.ndarray:
    """Map a table keyed by category id into a dataset's label order.

    Args:
        table (FrequencyTable): The table.
        cat_ids (Sequence[int]): The dataset's category ids in label order.

    Returns:
        np.ndarray: float64 frequencies of shape (len(cat_ids), ).
    """
    by_id = dict(zip(table.cat_ids, table.frequencies))
    missing = [c for c in cat_ids if c not in by_id]
    if missing:
        shown = ', '.join(str(c) for c in missing[:20])
        more = f' and {len(missing) - 20} more' if len(missing) > 20 else ''
        raise ValueError(
            f'The {table.source} lacks {len(missing)} of the training '
            f"dataset's {len(cat_ids)} categories (ids {shown}{more}); it "
            f'belongs to other annotations. {EXPORT_FIX[0].upper()}'
            f'{EXPORT_FIX[1:]}, from the training annotation file.')
    return np.array([by_id[c] for c in cat_ids], dtype=np.float64)


def load_category_freq(
        category_freq: Union[Sequence[float], str],
        num_classes: int) -> Union[List[float], FrequencyTable]:
    """Read frequencies given in a config: a list or a JSON file.

    A list is in the label order of the training dataset, by definition,
    and must have ``num_classes`` entries. A file (the output of
    ``tools/misc/export_category_freq.py``) is keyed by category id; it is
    returned as a :class:`FrequencyTable` to be mapped into the dataset's
    label order (:func:`table_in_label_order`).

    Args:
        category_freq (Sequence[float] | str): The list or the path.
        num_classes (int): Expected length of a list; a table must hold at
            least as many categories.

    Returns:
        List[float] | FrequencyTable: The list, or the file's table.
    """
    if isinstance(category_freq, str):
        table = read_frequency_table(category_freq)
        if len(table.cat_ids) < num_classes:
            raise ValueError(
                f'The {table.source} has {len(table.cat_ids)} categories '
                f'but num_classes is {num_classes}; {EXPORT_FIX}, from the '
                'training annotation file.')
        return table
    source = 'the category_freq list'
    freq = list(category_freq)
    if len(freq) != num_classes:
        raise ValueError(
            f'The {source} has {len(freq)} entries but num_classes is '
            f'{num_classes}; use the table of the training dataset.')
    return _check_frequencies(freq, source)
