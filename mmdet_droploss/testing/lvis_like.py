# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Synthetic data with LVIS's shape, for the end-to-end long-tail experiment.

What :func:`make_synthetic_lvis` lacks and LVIS has:

- hundreds of categories whose training image counts fall in LVIS's groups
  by LVIS's own thresholds: rare (1-10 images), common (11-100) and
  frequent (over 100), with a long (Zipf-like) tail;
- validation images that judge few categories: the annotated ones plus a
  few verified-absent ones (``neg_category_ids``) cover at most
  ``max_judged`` categories (3% of 200 here; LVIS judges about 1%);
- look-alike categories: a category is a combination of a shape, a colour
  and a texture, and each of these is shared by many categories of every
  group, so a rare category competes with frequent ones that differ from
  it in one attribute.

Image counts are assigned exactly (not drawn), so every seed gives the same
groups and the same number of training images; the seed changes which
combination is which category, the images and the negatives.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from mmdet.datasets import LVISV1Dataset

from .synthetic_lvis import (
    image_record,
    object_polygon,
    polygon_annotation,
    write_lvis_files,
)

# sides of each shape (0: ellipse); 5 and 4 twice: a star and a cross are
# drawn from the pentagon and the square by ``shape_polygon``
SHAPES = ('triangle', 'square', 'pentagon', 'hexagon', 'ellipse', 'star',
          'cross', 'diamond')
COLOURS = ((40, 40, 220), (40, 160, 240), (40, 220, 220), (60, 200, 60),
           (220, 200, 40), (220, 80, 40), (200, 60, 200), (235, 235, 235))
TEXTURES = ('solid', 'stripes', 'dots', 'checker')


def lvis_like_image_counts(num_categories: int, num_rare: int,
                           num_frequent: int, rare_max: int,
                           common_max: int, frequent_max: int) -> np.ndarray:
    """Training image counts by rank, most frequent first.

    Each group's counts fall log-linearly from its top to its bottom, and
    the common group's fall fast (a quadratic exponent), so that most
    common categories sit near the bottom of their range, as on LVIS.

    Args:
        num_categories (int): All categories.
        num_rare (int): Categories with 1 to ``rare_max`` images.
        num_frequent (int): Categories with more than ``common_max``.
        rare_max (int): Most images of a rare category.
        common_max (int): Most images of a common category.
        frequent_max (int): Images of the most frequent category.

    Returns:
        np.ndarray: (num_categories, ) int64 counts, non-increasing.
    """
    num_common = num_categories - num_rare - num_frequent
    if min(num_rare, num_common, num_frequent) < 1:
        raise ValueError('each frequency group needs at least one category: '
                         f'{num_rare} rare, {num_common} common, '
                         f'{num_frequent} frequent.')

    if not 0 < rare_max < common_max < frequent_max:
        raise ValueError('the thresholds must grow: 0 < rare_max < '
                         f'common_max < frequent_max, got {rare_max}, '
                         f'{common_max}, {frequent_max}.')

    def ramp(n: int, top: float, bottom: float, power: float) -> np.ndarray:
        u = np.linspace(0, 1, n) if n > 1 else np.zeros(1)
        return np.exp(np.log(top) + (np.log(bottom) - np.log(top)) *
                      (1 - (1 - u)**power))

    counts = np.concatenate([
        ramp(num_frequent, frequent_max,
             min(common_max + 5, frequent_max), 1.0),
        ramp(num_common, common_max, rare_max + 1, 3.0),
        ramp(num_rare, rare_max, 1, 1.0)
    ])
    return np.round(counts).astype(np.int64)


def shape_polygon(rng: np.random.Generator, shape: int, cx: float, cy: float,
                  radius: float) -> np.ndarray:
    """Vertices (K, 2) of one of :data:`SHAPES`, randomly rotated."""
    name = SHAPES[shape]
    if name in ('triangle', 'square', 'pentagon', 'hexagon'):
        return object_polygon(rng, SHAPES.index(name) + 3, cx, cy, radius)
    if name == 'ellipse':
        return object_polygon(rng, 0, cx, cy, radius)
    start = rng.uniform(0, 2 * np.pi)
    if name == 'star':
        angles = start + np.linspace(0, 2 * np.pi, 10, endpoint=False)
        r = np.where(np.arange(10) % 2 == 0, radius, 0.45 * radius)
    elif name == 'cross':
        # a plus sign with arms 0.7 radius wide
        w = 0.35
        corners = np.array([(w, 1), (w, w), (1, w), (1, -w), (w, -w),
                            (w, -1), (-w, -1), (-w, -w), (-1, -w), (-1, w),
                            (-w, w), (-w, 1)])
        angles = start + np.arctan2(corners[:, 1], corners[:, 0])
        r = radius * np.hypot(corners[:, 0], corners[:, 1]) / np.sqrt(1 + w**2)
    else:  # diamond: a rhombus, long along one axis
        angles = start + np.arange(4) * np.pi / 2
        r = np.tile([radius, 0.55 * radius], 2)
    return np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)],
                    axis=1)


def paint(img: np.ndarray, poly: np.ndarray, colour: Sequence[int],
          texture: int) -> None:
    """Fill ``poly`` on ``img`` (H, W, 3, uint8) with a colour and texture.

    The texture darkens a pattern (stripes, dots, checks) fixed to the
    image grid inside the polygon.
    """
    pts = np.round(poly).astype(np.int32)
    x1, y1 = np.maximum(pts.min(0), 0)
    x2, y2 = np.minimum(pts.max(0) + 1, img.shape[1::-1])
    # work on the polygon's box; the pattern stays fixed to the image grid
    mask = np.zeros((y2 - y1, x2 - x1), np.uint8)
    cv2.fillPoly(mask, [pts - (x1, y1)], 1)
    yy, xx = np.mgrid[y1:y2, x1:x2]
    dark = {
        'solid': np.zeros(mask.shape, dtype=bool),
        'stripes': (yy // 3) % 2 == 1,
        'dots': ((yy % 5) < 2) & ((xx % 5) < 2),
        'checker': ((yy // 4 + xx // 4) % 2) == 1,
    }[TEXTURES[texture]]
    base = np.array(colour, np.float64)
    inside = mask.astype(bool)
    crop = img[y1:y2, x1:x2]
    crop[inside & ~dark] = base
    crop[inside & dark] = (0.4 * base).astype(np.uint8)


def draw_image(rng: np.random.Generator, size: int, categories: List[int],
               looks: np.ndarray) -> Tuple[np.ndarray, List[Dict]]:
    """One image with one object of each of ``categories`` (0-based).

    Returns:
        Tuple[np.ndarray, List[Dict]]: The BGR image and its objects
        (``label``, ``polygon``); an object that finds no free place after
        50 tries is left out (rare with at most 8 objects).
    """
    img = rng.normal(110, 20, size=(size, size, 3)).clip(0, 255)
    img = cv2.GaussianBlur(img.astype(np.uint8), (5, 5), 0)
    objects, boxes = [], []
    for label in categories:
        shape, colour, texture = looks[label]
        for _try in range(50):
            radius = rng.uniform(0.06, 0.13) * size
            cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
            poly = shape_polygon(rng, shape, cx, cy, radius)
            box = np.concatenate([poly.min(0), poly.max(0)])
            if all(box[0] > b[2] + 1 or box[2] + 1 < b[0] or box[1] > b[3] + 1
                   or box[3] + 1 < b[1] for b in boxes):
                break
        else:
            continue
        paint(img, poly, COLOURS[colour], texture)
        boxes.append(box)
        objects.append(dict(label=label, polygon=poly))
    return img, objects


def assign_images(rng: np.random.Generator, counts: np.ndarray,
                  num_images: int, max_per_image: int) -> List[List[int]]:
    """Deal each category into exactly ``counts[k]`` distinct images.

    Categories are dealt most frequent first, each to the images with the
    most room left (ties broken at random), so that every image gets at
    least one category and none more than ``max_per_image``.

    Returns:
        List[List[int]]: The 0-based categories of each image.
    """
    if counts.sum() > num_images * max_per_image or counts.max() > num_images:
        raise ValueError(f'{counts.sum()} category-image pairs do not fit '
                         f'{num_images} images of at most {max_per_image}.')
    images: List[List[int]] = [[] for _ in range(num_images)]
    room = np.full(num_images, max_per_image)
    for k in np.argsort(-counts, kind='stable'):
        order = np.lexsort((rng.random(num_images), -room))
        for i in order[:counts[k]]:
            images[i].append(int(k))
            room[i] -= 1
    empty = [i for i, cats in enumerate(images) if not cats]
    if empty:
        raise ValueError(f'{len(empty)} images got no category; give fewer '
                         'images or more category-image pairs.')
    return images


def write_split(rng: np.random.Generator, out_dir: str, split: str,
                first_id: int, image_cats: List[List[int]], looks: np.ndarray,
                cat_ids: np.ndarray, size: int,
                max_judged: int) -> Tuple[List[Dict], List[Dict]]:
    """Draw and write one split's images; return image and object records.

    Validation images list verified-absent categories (drawn uniformly
    from the absent ones) up to ``max_judged`` judged categories in all,
    and one in ten marks a present category as not exhaustively annotated.
    """
    folder = f'{split}2017'
    os.makedirs(osp.join(out_dir, folder), exist_ok=True)
    num_cats = len(looks)
    images, anns = [], []
    for offset, cats in enumerate(image_cats):
        img_id = first_id + offset
        img, objects = draw_image(rng, size, cats, looks)
        name = f'{folder}/{img_id:012d}.jpg'
        cv2.imwrite(osp.join(out_dir, name), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        present = sorted({int(cat_ids[o['label']]) for o in objects})
        neg: List[int] = []
        not_exhaustive: List[int] = []
        if split == 'val':
            absent = np.setdiff1d(np.arange(num_cats), cats)
            num_neg = max(0, max_judged - len(present))
            neg = sorted(int(cat_ids[k])
                         for k in rng.permutation(absent)[:num_neg])
            if present and rng.random() < 0.1:
                not_exhaustive = [int(rng.choice(present))]
        images.append(image_record(img_id, size, name, neg, not_exhaustive))
        anns += [
            polygon_annotation(first_id + len(anns) + k, img_id,
                               int(cat_ids[obj['label']]), obj['polygon'])
            for k, obj in enumerate(objects)
        ]
    return images, anns


def assign_looks(rng: np.random.Generator, num_categories: int,
                 num_rare: int, num_frequent: int) -> np.ndarray:
    """A distinct (shape, colour, texture) for each category by rank.

    Frequent categories draw theirs first; each rare category then gets a
    look one attribute away from some frequent category's (its look-alike),
    and the common categories take random others.

    Args:
        num_categories (int): All categories, most frequent first.
        num_rare (int): The last ``num_rare`` are rare.
        num_frequent (int): The first ``num_frequent`` are frequent.

    Returns:
        np.ndarray: (num_categories, 3) int64 indices into :data:`SHAPES`,
        :data:`COLOURS` and :data:`TEXTURES`.
    """
    grid = (len(SHAPES), len(COLOURS), len(TEXTURES))
    all_looks = np.stack(np.unravel_index(np.arange(np.prod(grid)), grid),
                         axis=1)
    order = rng.permutation(len(all_looks))
    frequent = order[:num_frequent]
    differ = (all_looks[:, None, :] != all_looks[None, frequent, :]).sum(-1)
    near = np.flatnonzero((differ == 1).any(1))
    near = rng.permutation(np.setdiff1d(near, frequent))
    if len(near) < num_rare:
        raise ValueError(f'only {len(near)} looks are one attribute away '
                         f'from the {num_frequent} frequent categories\' '
                         f'looks; give fewer than {num_rare} rare '
                         'categories or more frequent ones.')
    rare = near[:num_rare]
    common = np.setdiff1d(order, np.concatenate([frequent, rare]))
    common = rng.permutation(common)[:num_categories - num_frequent -
                                     num_rare]
    return all_looks[np.concatenate([frequent, common, rare])]


def random_looks(rng: np.random.Generator, num_categories: int) -> np.ndarray:
    """A distinct (shape, colour, texture) for each category, at random.

    Returns:
        np.ndarray: (num_categories, 3) int64 indices into :data:`SHAPES`,
        :data:`COLOURS` and :data:`TEXTURES`.
    """
    grid = (len(SHAPES), len(COLOURS), len(TEXTURES))
    picked = rng.permutation(np.prod(grid))[:num_categories]
    return np.stack(np.unravel_index(picked, grid), axis=1)


def make_lvis_like(out_dir: str,
                   seed: int = 0,
                   num_categories: int = 200,
                   num_rare: int = 50,
                   num_frequent: int = 20,
                   rare_max: int = 10,
                   common_max: int = 100,
                   frequent_max: int = 190,
                   num_train: int = 1400,
                   max_cats_per_image: int = 8,
                   max_judged: int = 6,
                   image_size: int = 160,
                   lookalike: bool = True) -> Dict[str, str]:
    """Write an LVIS v1-format dataset with LVIS's long-tail shape.

    Its defaults are the ``lvis-like`` preset of
    ``tools/misc/make_synthetic_lvis.py``. Training: each category is in
    exactly as many images as
    :func:`lvis_like_image_counts` gives it. Validation: every category is
    in at least 3 images (more for frequent ones), with at most
    ``max_judged - 2`` categories per image, so that each image judges at
    most ``max_judged`` categories including two or more negatives.

    Args:
        out_dir (str): Output folder (``data_root`` of the configs).
        seed (int): Random seed; the same seed gives the same bytes.
        num_categories (int): Categories, all listed and all occurring.
        num_rare (int): Rare categories (1 to ``rare_max`` images).
        num_frequent (int): Frequent categories (over ``common_max``).
        rare_max (int): Rare / common threshold in training images.
        common_max (int): Common / frequent threshold.
        frequent_max (int): Images of the most frequent category.
        num_train (int): Training images.
        max_cats_per_image (int): Most categories (objects) per training
            image.
        max_judged (int): Most judged categories per validation image.
        image_size (int): Side of the square images.
        lookalike (bool): Give each rare category a look one attribute away
            from a frequent one's (:func:`assign_looks`); False: every
            category a distinct look drawn at random.

    Returns:
        Dict[str, str]: Paths of the ``train`` and ``val`` annotation files.
    """
    num_looks = len(SHAPES) * len(COLOURS) * len(TEXTURES)
    if not 0 < num_categories <= min(num_looks,
                                     len(LVISV1Dataset.METAINFO['classes'])):
        raise ValueError(f'num_categories must be in [1, {num_looks}] (one '
                         f'shape x colour x texture each), got '
                         f'{num_categories}.')
    if max_judged < 3:
        raise ValueError('max_judged must be at least 3 (one present and '
                         f'two verified-absent categories), got '
                         f'{max_judged}.')
    rng = np.random.default_rng(seed)
    counts = lvis_like_image_counts(num_categories, num_rare, num_frequent,
                                    rare_max, common_max, frequent_max)
    # category k (0-based rank, most frequent first) gets a look and an id
    looks = assign_looks(rng, num_categories, num_rare, num_frequent) \
        if lookalike else random_looks(rng, num_categories)
    cat_ids = np.sort(
        rng.choice(len(LVISV1Dataset.METAINFO['classes']), num_categories,
                   replace=False)) + 1
    cat_ids = rng.permutation(cat_ids)

    train_cats = assign_images(rng, counts, num_train, max_cats_per_image)
    val_counts = np.minimum(3 + counts // 30, 9)
    max_val_cats = max_judged - 2
    num_val = int(np.ceil(val_counts.sum() / (0.75 * max_val_cats)))
    val_cats = assign_images(rng, val_counts, num_val, max_val_cats)

    splits = {
        'train':
        write_split(rng, out_dir, 'train', 1, train_cats, looks, cat_ids,
                    image_size, max_judged),
        'val':
        write_split(rng, out_dir, 'val', 1_000_001, val_cats, looks, cat_ids,
                    image_size, max_judged),
    }
    train_anns = splits['train'][1]
    image_count = dict.fromkeys(cat_ids.tolist(), 0)
    for cat_id, _ in {(a['category_id'], a['image_id']) for a in train_anns}:
        image_count[cat_id] += 1
    instance_count = dict.fromkeys(cat_ids.tolist(), 0)
    for a in train_anns:
        instance_count[a['category_id']] += 1
    names = LVISV1Dataset.METAINFO['classes']
    categories = []
    for k in np.argsort(cat_ids):
        cat_id = int(cat_ids[k])
        count = image_count[cat_id]
        shape, colour, texture = looks[k]
        categories.append({
            'id': cat_id,
            'name': names[cat_id - 1],
            'synset': f'{names[cat_id - 1]}.n.01',
            'synonyms': [names[cat_id - 1]],
            'def': (f'synthetic: {TEXTURES[texture]} {SHAPES[shape]}, '
                    f'colour {colour}'),
            'look': dict(shape=SHAPES[shape], colour=int(colour),
                         texture=TEXTURES[texture]),
            'frequency': ('r' if count <= rare_max else
                          'c' if count <= common_max else 'f'),
            'image_count': count,
            'instance_count': instance_count[cat_id],
        })

    return write_lvis_files(out_dir, splits, categories,
                            'synthetic LVIS-like (mmdet-droploss)')


def make_lvis_regime(out_dir: str,
                     seed: int = 0,
                     num_train: int = 10_000,
                     lookalike: bool = False) -> Dict[str, str]:
    """The ``lvis-regime`` preset: LVIS v1's imbalance at 200 categories.

    What the ``lvis-like`` preset lacks: many training images per image of
    a rare category (2,600 at 10,000 images; LVIS v1: about 22,000) and a
    tail set that holds a small share of the instances (about 6% at
    ``lambda_ = (num_train // 100 + 0.5) / num_train``, which makes the rare
    and common groups the tail; LVIS v1 at 0.00177: 8.6%). 50 rare (1-10
    images, 25%), 80 common and 70 frequent categories, the most frequent
    in 15% of the images; looks drawn at random unless ``lookalike``.

    Args:
        out_dir (str): Output folder.
        seed (int): Random seed.
        num_train (int): Training images; the common / frequent threshold
            is ``num_train // 100`` images (100 at 10,000, LVIS's).
        lookalike (bool): Rare categories one attribute away from frequent
            ones (the ``lvis-like`` construction).

    Returns:
        Dict[str, str]: Paths of the ``train`` and ``val`` annotation files.
    """
    return make_lvis_like(
        out_dir, seed=seed, num_categories=200, num_rare=50,
        num_frequent=70, rare_max=10, common_max=num_train // 100,
        frequent_max=int(0.15 * num_train), num_train=num_train,
        max_cats_per_image=8, max_judged=6, image_size=160,
        lookalike=lookalike)
