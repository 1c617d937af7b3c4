# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""LVIS v1-shaped annotation files at full size, for scale checks.

The files have LVIS v1's size and its per-category statistics, taken from
the real training set's category statistics file (LVIS's own ``id``,
``name``, ``frequency``, ``image_count`` and ``instance_count`` of each
category; the tool takes its path, the repository does not hold it), but
no images: the objects are random star-shaped polygons with LVIS-like
vertex counts, so that the training file is about as large as LVIS v1's
(1.1 GB). With ``scale`` < 1 every count is scaled down.

- Training: ``round(100170 * scale)`` images; category ``k`` is in
  ``max(1, round(image_count_k * scale))`` of them, drawn at random, with
  ``max(that, round(instance_count_k * scale))`` instances.
- Validation: ``round(19809 * scale)`` images, categories in the same share
  of images as in training (so rare ones may miss, as on LVIS v1 val),
  ``round(244707 * scale)`` instances (LVIS v1 val's 12.4 per image), and
  per image the federated fields: about 1% of the categories judged
  (present plus ``neg_category_ids``), and a few present categories in
  ``not_exhaustive_category_ids``.
- Detections for a validation file (:func:`lvis_scale_detections`): the
  records ``FastLVISMetric.process`` keeps, most of them on categories the
  image does not judge, as a detector's 300 per image are.
"""
import json
import os.path as osp
from typing import Dict, Iterator, List, Sequence, Tuple, Union

import numpy as np

from .synthetic_lvis import image_record, write_lvis_files

# LVIS v1: training images (99,388 of them annotated), validation images
# and validation annotations
LVIS_V1_TRAIN_IMAGES = 100_170
LVIS_V1_VAL_IMAGES = 19_809
LVIS_V1_VAL_ANNOTATIONS = 244_707
# ids of the first validation image and annotation: apart from training's
VAL_FIRST_IMAGE_ID = 1_000_001

# common COCO image sizes (width, height) and their rough shares
COCO_SIZES = ((640, 480), (640, 427), (480, 640), (427, 640), (640, 426),
              (640, 424), (640, 640), (500, 375), (612, 612), (375, 500),
              (640, 428), (640, 360), (640, 512))
COCO_SIZE_SHARES = (0.36, 0.19, 0.08, 0.06, 0.05, 0.05, 0.04, 0.04, 0.03,
                    0.03, 0.03, 0.02, 0.02)

# LVIS judges about 1% of its categories on a validation image
JUDGED_SHARE = 0.01
# share of present (category, image) pairs not exhaustively annotated
NOT_EXHAUSTIVE_SHARE = 0.05
# object size: sqrt of the box area, log-normal in pixels (COCO-like
# shares of small, medium and large objects: about 40 / 40 / 20%)
OBJECT_SIDE_MEDIAN = 36.0
OBJECT_SIDE_SIGMA = 1.0
# vertices: this many at OBJECT_SIDE_MEDIAN, growing with sqrt(side), as
# annotators click more points on larger objects; sets the file size
VERTICES_AT_MEDIAN = 38.0
MAX_VERTICES = 400
# images per generated chunk: bounds memory whatever the scale
CHUNK_IMAGES = 4000

STATS_KEYS = ('id', 'name', 'frequency', 'image_count', 'instance_count')


def load_category_stats(stats_file: str) -> List[Dict]:
    """The categories of an LVIS category statistics file, checked.

    Args:
        stats_file (str): JSON file with a ``categories`` list, each entry
            with at least ``id``, ``name``, ``frequency`` ('r', 'c' or
            'f'), ``image_count`` and ``instance_count`` (LVIS v1's
            training-set statistics).

    Returns:
        List[Dict]: The category entries, sorted by id.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not such a statistics file.
    """
    if not osp.isfile(stats_file):
        raise FileNotFoundError(
            f'category statistics file {stats_file!r} not found: pass the '
            'path of the LVIS v1 training-set category statistics JSON '
            '(a "categories" list with image_count and instance_count).')
    try:
        with open(stats_file, encoding='utf-8') as f:
            stats = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f'cannot read {stats_file!r} as JSON ({e}); pass '
                         'the LVIS category statistics JSON file.') from e
    cats = stats.get('categories') if isinstance(stats, dict) else None
    return check_category_stats(cats, repr(stats_file))


def check_category_stats(cats: List[Dict], source: str) -> List[Dict]:
    """Check category statistics; return them sorted by id.

    Args:
        cats (List[Dict]): Category entries with at least ``id``, ``name``,
            ``frequency``, ``image_count`` and ``instance_count``.
        source (str): Where they come from, for the messages.

    Returns:
        List[Dict]: The entries, sorted by id.

    Raises:
        ValueError: They are not such statistics.
    """
    if not isinstance(cats, list) or not cats:
        raise ValueError(f'{source} has no "categories" list; pass the LVIS '
                         'category statistics JSON file.')
    for cat in cats:
        missing = [k for k in STATS_KEYS if k not in cat]
        if missing:
            raise ValueError(f'category {cat.get("id", "?")} of {source} '
                             f'lacks {", ".join(missing)}.')
        if not 0 <= cat['image_count'] <= min(LVIS_V1_TRAIN_IMAGES,
                                              cat['instance_count']):
            raise ValueError(
                f'category {cat["id"]} of {source}: image_count '
                f'{cat["image_count"]} must be in [0, min(instance_count '
                f'{cat["instance_count"]}, {LVIS_V1_TRAIN_IMAGES} images)].')
    return sorted(cats, key=lambda c: c['id'])


def check_scale(scale: float) -> None:
    """Raise unless ``scale`` is in (0, 1] and leaves an image per split.

    Args:
        scale (float): Fraction of LVIS v1's size.

    Raises:
        ValueError: ``scale`` is out of range.
    """
    if not 0 < scale <= 1:
        raise ValueError(f'scale must be in (0, 1] (a fraction of LVIS v1\'s '
                         f'size), got {scale}; pass e.g. 0.1 for a tenth.')
    if round(LVIS_V1_VAL_IMAGES * scale) < 1:
        raise ValueError(f'scale {scale} leaves no validation image; pass at '
                         f'least {1 / LVIS_V1_VAL_IMAGES:.1e}.')


def train_counts(cats: List[Dict], scale: float) -> Tuple[np.ndarray,
                                                          np.ndarray]:
    """Training images and instances of each category at ``scale``.

    Args:
        cats (List[Dict]): Category statistics (``image_count``,
            ``instance_count``).
        scale (float): Fraction of LVIS v1's size.

    Returns:
        Tuple[np.ndarray, np.ndarray]: Images ``max(1, round(image_count *
        scale))`` and instances ``max(images, round(instance_count *
        scale))`` per category, each (C, ) int64.
    """
    image_count = np.array([c['image_count'] for c in cats], dtype=np.int64)
    instance_count = np.array([c['instance_count'] for c in cats],
                              dtype=np.int64)
    # np.rint rounds half to even, as Python's round does
    images = np.maximum(1, np.rint(image_count * scale)).astype(np.int64)
    instances = np.maximum(images, np.rint(instance_count * scale))
    return images, instances.astype(np.int64)


def draw_sizes(rng: np.random.Generator, num_images: int) -> np.ndarray:
    """COCO-like image sizes.

    Returns:
        np.ndarray: (num_images, 2) int64 (width, height).
    """
    shares = np.array(COCO_SIZE_SHARES) / sum(COCO_SIZE_SHARES)
    return np.array(COCO_SIZES)[rng.choice(len(COCO_SIZES), num_images,
                                           p=shares)]


def spread(rng: np.random.Generator, total: int, weights: np.ndarray
           ) -> np.ndarray:
    """``total`` items dealt over ``len(weights)`` bins, skewed at random.

    Each bin's share is its weight times a Gamma(0.5) draw, so that, as on
    LVIS, a few images hold many instances of a category.

    Returns:
        np.ndarray: (len(weights), ) int64 counts summing to ``total``.
    """
    shares = weights * rng.gamma(0.5, size=len(weights))
    if not shares.sum() > 0:
        shares = np.ones(len(weights))
    return rng.multinomial(total, shares / shares.sum())


def train_pairs(rng: np.random.Generator, images: np.ndarray,
                instances: np.ndarray, num_images: int) -> np.ndarray:
    """Deal each category into its images, at random.

    Args:
        rng (np.random.Generator): Random generator.
        images (np.ndarray): (C, ) images of each category.
        instances (np.ndarray): (C, ) instances of each category, at least
            ``images``.
        num_images (int): Images of the split.

    Returns:
        np.ndarray: (P, 3) int64 rows (image index, category index,
        instances), one per (image, category) pair, sorted by image then
        category.
    """
    parts = []
    for k, (n, m) in enumerate(zip(images.tolist(), instances.tolist())):
        where = rng.choice(num_images, n, replace=False)
        counts = 1 + spread(rng, m - n, np.ones(n))
        parts.append(np.stack([where, np.full(n, k), counts], axis=1))
    pairs = np.concatenate(parts)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def val_pairs(rng: np.random.Generator, cats: List[Dict],
              num_images: int, num_instances: int) -> np.ndarray:
    """Deal categories into validation images as in training.

    Category ``k`` is in a share ``image_count_k / 100170`` of the images
    (stochastically rounded, so a category expected in 0.3 images is in
    one with probability 0.3), and the instances beyond one per pair go
    to pairs in proportion to the category's training instances per image.

    Args:
        rng (np.random.Generator): Random generator.
        cats (List[Dict]): Category statistics.
        num_images (int): Validation images.
        num_instances (int): Instances wanted (at least one per pair).

    Returns:
        np.ndarray: (P, 3) int64 rows as :func:`train_pairs` gives.
    """
    image_count = np.array([c['image_count'] for c in cats], dtype=np.float64)
    per_image = np.array([c['instance_count'] for c in cats]) / np.maximum(
        image_count, 1)
    expected = image_count * num_images / LVIS_V1_TRAIN_IMAGES
    counts = np.floor(expected) + (rng.random(len(cats)) <
                                   expected - np.floor(expected))
    counts = np.minimum(counts, num_images).astype(np.int64)
    parts = [
        np.stack([rng.choice(num_images, n, replace=False),
                  np.full(n, k)], axis=1)
        for k, n in enumerate(counts.tolist()) if n
    ]
    pairs = np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)
    extra = spread(rng, max(0, num_instances - len(pairs)),
                   np.maximum(per_image[pairs[:, 1]] - 1, 0)) if len(
                       pairs) else np.zeros(0, np.int64)
    pairs = np.concatenate([pairs, 1 + extra[:, None]], axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def federated_fields(rng: np.random.Generator, pairs: np.ndarray,
                     num_images: int,
                     num_cats: int) -> Tuple[List[List[int]], List[List[int]]]:
    """Per image the negative and not-exhaustive category indices.

    An image judges ``J`` categories, ``J`` uniform in 1% of ``num_cats``
    +-25% (at least one): its present ones, then negatives drawn
    uniformly from the absent ones (at least one where any is absent). Each
    present category is not exhaustively annotated with probability
    :data:`NOT_EXHAUSTIVE_SHARE`.

    Args:
        rng (np.random.Generator): Random generator.
        pairs (np.ndarray): (P, 3) rows of :func:`train_pairs`.
        num_images (int): Images of the split.
        num_cats (int): Categories.

    Returns:
        Tuple[List[List[int]], List[List[int]]]: Per image the sorted
        category indices of ``neg_category_ids`` and of
        ``not_exhaustive_category_ids``.
    """
    judged_mean = JUDGED_SHARE * num_cats
    judged = np.maximum(
        1, np.rint(rng.uniform(0.75, 1.25, num_images) * judged_mean))
    starts = np.searchsorted(pairs[:, 0], np.arange(num_images + 1))
    present_all = pairs[:, 1]
    not_exhaustive_mask = rng.random(len(pairs)) < NOT_EXHAUSTIVE_SHARE
    negs, not_exhaustive = [], []
    for i in range(num_images):
        present = present_all[starts[i]:starts[i + 1]]
        num_neg = min(max(1, int(judged[i]) - len(present)),
                      num_cats - len(present))
        # as many more draws as present categories: num_neg are absent
        draw = rng.choice(num_cats, min(num_cats, num_neg + len(present)),
                          replace=False)
        negs.append(sorted(draw[~np.isin(draw, present)][:num_neg].tolist()))
        not_exhaustive.append(
            present[not_exhaustive_mask[starts[i]:starts[i + 1]]].tolist())
    return negs, not_exhaustive


def draw_polygons(rng: np.random.Generator, widths: np.ndarray,
                  heights: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """One random star-shaped polygon per object, inside its image.

    A polygon samples a rotated ellipse whose radius varies smoothly with
    the angle (three random harmonics), at increasing angles, so it never
    crosses itself. Its size is log-normal (:data:`OBJECT_SIDE_MEDIAN`),
    its vertex count grows with the square root of the size.

    Args:
        rng (np.random.Generator): Random generator.
        widths (np.ndarray): (M, ) width of each object's image.
        heights (np.ndarray): (M, ) height of each object's image.

    Returns:
        Tuple[np.ndarray, np.ndarray]: The vertices (V, 2) float64, rounded
        to 2 decimals, and the (M + 1, ) int64 start of each polygon's
        vertices (and the end of the last).
    """
    num = len(widths)
    side = np.minimum(
        np.exp(rng.normal(np.log(OBJECT_SIDE_MEDIAN), OBJECT_SIDE_SIGMA,
                          num)), 0.95 * np.minimum(widths, heights))
    side = np.maximum(side, 2.0)
    num_vertices = np.rint(VERTICES_AT_MEDIAN *
                           np.sqrt(side / OBJECT_SIDE_MEDIAN) *
                           np.exp(rng.normal(0, 0.35, num)))
    num_vertices = np.clip(num_vertices, 4, MAX_VERTICES).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(num_vertices)])
    owner = np.repeat(np.arange(num), num_vertices)
    index = np.arange(starts[-1]) - starts[owner]
    # evenly spaced angles, each jittered within its own slot
    theta = (rng.uniform(0, 2 * np.pi, num)[owner] + 2 * np.pi *
             (index + rng.uniform(0.15, 0.85, len(owner))) /
             num_vertices[owner])
    radius = 1 + rng.normal(0, 0.02, len(owner))
    amplitude = rng.uniform(0, 0.12, (num, 3))
    phase = rng.uniform(0, 2 * np.pi, (num, 3))
    for h, freq in enumerate((2, 3, 5)):
        radius += amplitude[owner, h] * np.sin(freq * theta +
                                               phase[owner, h])
    aspect = np.exp(rng.normal(0, 0.45, num))
    ex = radius * np.cos(theta) * (side * np.sqrt(aspect) / 2)[owner]
    ey = radius * np.sin(theta) * (side / np.sqrt(aspect) / 2)[owner]
    turn = rng.uniform(0, np.pi, num)[owner]
    x = ex * np.cos(turn) - ey * np.sin(turn)
    y = ex * np.sin(turn) + ey * np.cos(turn)
    # shrink what the image cannot hold, then place it inside at random
    x_min, x_max = (np.minimum.reduceat(x, starts[:-1]),
                    np.maximum.reduceat(x, starts[:-1]))
    y_min, y_max = (np.minimum.reduceat(y, starts[:-1]),
                    np.maximum.reduceat(y, starts[:-1]))
    fit = np.minimum(1, np.minimum((widths - 1) / (x_max - x_min),
                                   (heights - 1) / (y_max - y_min)))
    cx = -x_min * fit + rng.random(num) * (widths - (x_max - x_min) * fit)
    cy = -y_min * fit + rng.random(num) * (heights - (y_max - y_min) * fit)
    xy = np.stack([x * fit[owner] + cx[owner], y * fit[owner] + cy[owner]],
                  axis=1)
    xy = np.clip(xy.round(2), 0,
                 np.stack([widths, heights], axis=1)[owner])
    return xy, starts


def polygon_stats(xy: np.ndarray, starts: np.ndarray) -> Tuple[np.ndarray,
                                                               np.ndarray]:
    """Shoelace areas and xywh boxes of packed polygons.

    Args:
        xy (np.ndarray): (V, 2) vertices.
        starts (np.ndarray): (M + 1, ) start of each polygon's vertices.

    Returns:
        Tuple[np.ndarray, np.ndarray]: Areas (M, ) and boxes (M, 4) xywh,
        both rounded to 2 decimals.
    """
    following = np.arange(1, len(xy) + 1)
    following[starts[1:] - 1] = starts[:-1]  # each polygon closes on itself
    x, y = xy[:, 0], xy[:, 1]
    cross = x * y[following] - x[following] * y
    area = np.abs(np.add.reduceat(cross, starts[:-1])) / 2
    low = np.minimum.reduceat(xy, starts[:-1])
    high = np.maximum.reduceat(xy, starts[:-1])
    boxes = np.concatenate([low, high - low], axis=1)
    return area.round(2), boxes.round(2)


def annotation_chunks(rng: np.random.Generator, pairs: np.ndarray,
                      sizes: np.ndarray, img_ids: np.ndarray,
                      cat_ids: np.ndarray,
                      first_ann_id: int) -> Iterator[List[Dict]]:
    """The annotations of (image, category, instances) pairs, by chunk.

    Args:
        rng (np.random.Generator): Random generator.
        pairs (np.ndarray): (P, 3) rows of :func:`train_pairs`.
        sizes (np.ndarray): (N, 2) (width, height) of each image.
        img_ids (np.ndarray): (N, ) id of each image.
        cat_ids (np.ndarray): (C, ) id of each category.
        first_ann_id (int): Id of the first annotation.

    Yields:
        List[Dict]: LVIS annotations (one polygon each, ``area``, ``bbox``;
        no ``iscrowd``, as on LVIS) of :data:`CHUNK_IMAGES` images.
    """
    img_index = np.repeat(pairs[:, 0], pairs[:, 2])
    cat_index = np.repeat(pairs[:, 1], pairs[:, 2])
    bounds = np.searchsorted(img_index,
                             np.arange(0, len(sizes) + CHUNK_IMAGES,
                                       CHUNK_IMAGES))
    ann_id = first_ann_id
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo == hi:
            continue
        objects = img_index[lo:hi]
        xy, starts = draw_polygons(rng, sizes[objects, 0], sizes[objects, 1])
        areas, boxes = polygon_stats(xy, starts)
        coords = xy.ravel().tolist()
        ends = (2 * starts).tolist()
        chunk = []
        for k, (img_id, cat_id, area, box) in enumerate(
                zip(img_ids[objects].tolist(),
                    cat_ids[cat_index[lo:hi]].tolist(), areas.tolist(),
                    boxes.tolist())):
            chunk.append(
                dict(id=ann_id + k, image_id=img_id, category_id=cat_id,
                     segmentation=[coords[ends[k]:ends[k + 1]]], area=area,
                     bbox=box))
        ann_id += len(chunk)
        yield chunk


def image_records(split: str, first_id: int, sizes: np.ndarray,
                  negs: List[List[int]], not_exhaustive: List[List[int]],
                  cat_ids: np.ndarray) -> List[Dict]:
    """LVIS image entries (``coco_url`` names ``<split>2017/<id>.jpg``).

    Args:
        split (str): 'train' or 'val'.
        first_id (int): Id of the first image.
        sizes (np.ndarray): (N, 2) (width, height) of each image.
        negs (List[List[int]]): Per image, negative category indices.
        not_exhaustive (List[List[int]]): Per image, not exhaustively
            annotated category indices.
        cat_ids (np.ndarray): (C, ) id of each category index.

    Returns:
        List[Dict]: The image entries.
    """
    ids = cat_ids.tolist()
    records = []
    for i, ((w, h), neg, ne) in enumerate(
            zip(sizes.tolist(), negs, not_exhaustive)):
        img_id = first_id + i
        records.append(
            image_record(img_id, (w, h), f'{split}2017/{img_id:012d}.jpg',
                         [ids[k] for k in neg], [ids[k] for k in ne]))
    return records


def make_lvis_scale(stats: Union[str, List[Dict]],
                    out_dir: str,
                    scale: float = 1.0,
                    seed: int = 0,
                    splits: Sequence[str] = ('train', 'val')
                    ) -> Dict[str, Dict]:
    """Write LVIS v1-shaped ``annotations/lvis_v1_{train,val}.json``.

    The training file has every count of the statistics file scaled by
    ``scale`` (see the module's docstring), the validation file LVIS v1
    val's size and federated fields; both list the statistics file's
    categories, with ``image_count`` and ``instance_count`` of the
    training file written. Each split has its own random streams, so a
    split's bytes do not depend on which other splits are written.

    Args:
        stats (str | List[Dict]): Path of the LVIS v1 training-set
            category statistics JSON, or its categories.
        out_dir (str): Dataset folder; the files go to its
            ``annotations``.
        scale (float): Fraction of LVIS v1's size, in (0, 1].
        seed (int): Random seed; the same seed gives the same bytes.
        splits (Sequence[str]): Splits to write, of 'train' and 'val'.

    Returns:
        Dict[str, Dict]: Per split written its ``path``, ``images`` and
        ``annotations`` (counts).
    """
    check_scale(scale)
    unknown = set(splits) - {'train', 'val'}
    if unknown:
        raise ValueError(f'unknown splits {sorted(unknown)}: give train '
                         'and/or val.')
    cats = (load_category_stats(stats) if isinstance(stats, str) else
            check_category_stats(stats, 'the given categories'))
    cat_ids = np.array([c['id'] for c in cats], dtype=np.int64)
    images, instances = train_counts(cats, scale)
    categories = [
        dict(c, image_count=int(n), instance_count=int(m))
        for c, n, m in zip(cats, images, instances)
    ]
    # one stream per split and purpose: a split does not depend on others
    streams = dict(
        zip(('train', 'val'),
            (np.random.SeedSequence([seed, k]).spawn(3) for k in range(2))))
    summary = {}
    for split in ('train', 'val'):
        if split not in splits:
            continue
        deal_rng, field_rng, shape_rng = (np.random.default_rng(s)
                                          for s in streams[split])
        if split == 'train':
            num_images = round(LVIS_V1_TRAIN_IMAGES * scale)
            first_img, first_ann = 1, 1
            sizes = draw_sizes(deal_rng, num_images)
            pairs = train_pairs(deal_rng, images, instances, num_images)
        else:
            num_images = round(LVIS_V1_VAL_IMAGES * scale)
            first_img, first_ann = VAL_FIRST_IMAGE_ID, int(instances.sum()) + 1
            sizes = draw_sizes(deal_rng, num_images)
            pairs = val_pairs(deal_rng, cats, num_images,
                              round(LVIS_V1_VAL_ANNOTATIONS * scale))
        negs, not_exhaustive = federated_fields(field_rng, pairs, num_images,
                                                len(cats))
        records = image_records(split, first_img, sizes, negs, not_exhaustive,
                                cat_ids)
        img_ids = np.arange(first_img, first_img + num_images)
        chunks = annotation_chunks(shape_rng, pairs, sizes, img_ids, cat_ids,
                                   first_ann)
        path = write_lvis_files(out_dir, {split: (records, chunks)},
                                categories,
                                f'LVIS v1-shaped, scale {scale} '
                                '(mmdet-droploss)')[split]
        summary[split] = dict(path=path, images=num_images,
                              annotations=int(pairs[:, 2].sum()))
    return summary


def _rle_number(x: int) -> str:
    """One count of a compressed COCO RLE string (pycocotools' rleToString:
    5 bits a character, from the lowest, 0x20 flagging that more follow)."""
    chars = []
    more = True
    while more:
        c = x & 0x1f
        x >>= 5
        more = x != -1 if c & 0x10 else x != 0
        chars.append(chr(c + 48 + (0x20 if more else 0)))
    return ''.join(chars)


def rectangle_rles(boxes: np.ndarray, height: int,
                   width: int) -> List[Dict]:
    """Compressed COCO RLEs of filled whole-pixel rectangles.

    The bytes of ``pycocotools.mask.encode`` of the dense masks, written
    directly: a rectangle's counts are its offset, then (height, gap)
    pairs whose deltas after the third count are all 0 (one character
    each), then the rest of the image. Four times faster than
    ``frPyObjects`` on boxes plus ``area``, which dominated.

    Args:
        boxes (np.ndarray): (n, 4) int xyxy, 0 <= x1 < x2 <= width and
            0 <= y1 < y2 <= height (the rectangle holds pixels x1..x2-1).
        height (int): Image height.
        width (int): Image width.

    Returns:
        List[Dict]: n RLEs, ``size`` [height, width] and ``counts`` bytes.
    """
    out = []
    total = height * width
    for x1, y1, x2, y2 in np.asarray(boxes).tolist():
        cols, rows = x2 - x1, y2 - y1
        start = x1 * height + y1
        tail = total - start - cols * height + (height - rows)
        if rows == height or cols == 1:  # one run of ones
            counts = _rle_number(start) + _rle_number(cols * rows) + (
                _rle_number(tail) if tail else '')
        else:
            gap = height - rows
            counts = (_rle_number(start) + _rle_number(rows) +
                      _rle_number(gap) + '0' * (2 * cols - 3) +
                      (_rle_number(tail - gap) if tail else ''))
        out.append(dict(size=[height, width], counts=counts.encode()))
    return out


def iter_lvis_scale_detections(ann: Union[str, Dict],
                               dets_per_image: int = 300,
                               seed: int = 0,
                               recall: float = 0.8,
                               right_label: float = 0.8,
                               judged_share: float = 0.1) -> Iterator[Dict]:
    """Detections on an LVIS file's images, one record per image.

    As a detector's: each object is found with probability ``recall``, by
    a box jittered around its own (its polygon moved along as the mask)
    with a high score and mostly (``right_label``) its category, else a
    category drawn as below. The image is filled up to ``dets_per_image``
    with lower-scored random boxes (rectangle masks): ``judged_share`` of
    them on the categories the image judges (present or negative), the
    rest on categories it does not judge, drawn in proportion to the square
    root of their training image counts. LVIS ignores the latter, so most
    of an image's detections are ignored, as on LVIS.

    Args:
        ann (str | Dict): An LVIS annotation file, or its loaded dict.
        dets_per_image (int): Detections per image. Defaults to 300.
        seed (int): Random seed. Defaults to 0.
        recall (float): Share of objects detected. Defaults to 0.8.
        right_label (float): Share of those with their own category.
            Defaults to 0.8.
        judged_share (float): Share of the false positives on judged
            categories. Defaults to 0.1.

    Yields:
        Dict: The record ``FastLVISMetric.process`` keeps for an image:
        ``img_id`` (int), ``bboxes`` (n, 4) float32 xyxy, ``scores`` (n, )
        float32 descending, ``labels`` (n, ) int64 indices into the
        file's category list, ``masks`` (n RLE dicts with ``size`` [h, w]
        and ``counts`` bytes) and ``mask_areas`` (n, ) float32.
    """
    # faster-coco-eval's: pycocotools' area fails on >255 masks on numpy 2
    from faster_coco_eval.core import mask as mask_api
    if isinstance(ann, str):
        with open(ann, encoding='utf-8') as f:
            ann = json.load(f)
    rng = np.random.default_rng(seed)
    cats = ann['categories']
    label_of = {c['id']: k for k, c in enumerate(cats)}
    weights = np.sqrt([max(c.get('image_count', 1), 1) for c in cats])
    by_img: Dict[int, List[Dict]] = {}
    for a in ann['annotations']:
        by_img.setdefault(a['image_id'], []).append(a)
    for img in ann['images']:
        h, w = img['height'], img['width']
        objects = by_img.get(img['id'], [])
        present = np.array([label_of[a['category_id']] for a in objects],
                           dtype=np.int64)
        judged = np.union1d(present, [
            label_of[c] for c in img.get('neg_category_ids', [])
        ]).astype(np.int64)
        unjudged_p = weights.copy()
        unjudged_p[judged] = 0
        if not unjudged_p.sum() > 0:
            unjudged_p = weights.copy()
        unjudged_p /= unjudged_p.sum()

        found = np.flatnonzero(rng.random(len(objects)) < recall)
        found = found[:dets_per_image]
        gt = np.array([objects[k]['bbox'] for k in found],
                      dtype=np.float64).reshape(-1, 4)
        grow = np.exp(rng.normal(0, 0.08, (len(found), 2)))
        shift = rng.normal(0, 0.06, (len(found), 2)) * gt[:, 2:]
        centre = gt[:, :2] + gt[:, 2:] / 2
        tp_xy = np.clip(centre + shift - gt[:, 2:] * grow / 2, 0, [w, h])
        tp_end = np.clip(centre + shift + gt[:, 2:] * grow / 2, 0, [w, h])
        tp_labels = np.where(
            rng.random(len(found)) < right_label, present[found],
            rng.choice(len(cats), len(found), p=unjudged_p))
        parts, owner = [], []
        for j, (k, g, s, c) in enumerate(
                zip(found.tolist(), grow, shift, centre)):
            for part in objects[k]['segmentation']:
                poly = np.asarray(part, dtype=np.float64).reshape(-1, 2)
                moved = np.clip((poly - c) * g + c + s, 0, [w, h])
                parts.append(moved.ravel().tolist())
                owner.append(j)
        tp_masks = mask_api.frPyObjects(parts, h, w) if parts else []
        if len(parts) > len(found):  # objects of several polygons
            tp_masks = [
                mask_api.merge([tp_masks[i] for i in np.flatnonzero(
                    np.equal(owner, j))]) for j in range(len(found))
            ]

        num_fp = dets_per_image - len(found)
        num_judged = (rng.binomial(num_fp, judged_share)
                      if len(judged) else 0)
        fp_labels = np.concatenate([
            rng.choice(judged, num_judged) if num_judged else
            np.zeros(0, np.int64),
            rng.choice(len(cats), num_fp - num_judged, p=unjudged_p)
        ])
        # whole-pixel boxes: a box and its rectangle mask agree exactly
        side = np.exp(rng.normal(np.log(OBJECT_SIDE_MEDIAN * 1.5), 0.9,
                                 (num_fp, 2)))
        side = np.clip(np.rint(side), 1, [w, h]).astype(np.int64)
        fp_xy = (rng.random((num_fp, 2)) * ([w + 1, h + 1] - side)).astype(
            np.int64)
        fp_boxes = np.concatenate([fp_xy, fp_xy + side], axis=1)
        fp_masks = rectangle_rles(fp_boxes, h, w)

        scores = np.concatenate(
            [rng.beta(5, 2, len(found)),
             rng.beta(1.2, 6, num_fp)]).astype(np.float32)
        order = np.argsort(-scores, kind='stable')
        boxes = np.concatenate(
            [np.concatenate([tp_xy, tp_end], axis=1), fp_boxes]).astype(
                np.float32)
        masks = list(tp_masks) + fp_masks
        areas = np.concatenate([
            mask_api.area(tp_masks) if tp_masks else np.zeros(0),
            side.prod(1)
        ]).astype(np.float32)
        yield dict(
            img_id=int(img['id']),
            bboxes=boxes[order],
            scores=scores[order],
            labels=np.concatenate([tp_labels, fp_labels
                                   ]).astype(np.int64)[order],
            masks=[masks[k] for k in order],
            mask_areas=areas[order])


def lvis_scale_detections(ann: Union[str, Dict],
                          dets_per_image: int = 300,
                          seed: int = 0,
                          **kwargs) -> List[Dict]:
    """The records of :func:`iter_lvis_scale_detections`, as a list.

    Args:
        ann (str | Dict): An LVIS annotation file, or its loaded dict.
        dets_per_image (int): Detections per image. Defaults to 300.
        seed (int): Random seed. Defaults to 0.
        **kwargs: ``recall``, ``right_label``, ``judged_share`` of
            :func:`iter_lvis_scale_detections`.

    Returns:
        List[Dict]: One record per image, in the file's image order.
    """
    return list(
        iter_lvis_scale_detections(ann, dets_per_image, seed, **kwargs))
