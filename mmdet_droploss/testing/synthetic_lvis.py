# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""A small synthetic dataset in LVIS v1 format, for demos and tests.

Images hold filled polygons on a textured background; each category has its
own shape and colour, and categories occur with a long-tailed (Zipf)
frequency, so that the rare / common / frequent groups of LVIS appear. The
annotation files carry the LVIS v1 category names and the federated
per-image fields (``neg_category_ids``, ``not_exhaustive_category_ids``).
"""
import json
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmdet.datasets import LVISV1Dataset

COCO_HOST = 'http://images.cocodataset.org/'
# a split's annotations: a list, or an iterator of lists written as they come
Annotations = Union[List[Dict], Iterator[List[Dict]]]


def category_appearance(label: int) -> Tuple[int, Tuple[int, int, int]]:
    """Number of polygon sides (0 for an ellipse) and BGR colour."""
    rng = np.random.default_rng(10_000 + label)
    sides = int(rng.integers(3, 9))
    colour = tuple(int(c) for c in rng.integers(30, 256, size=3))
    return (0 if sides == 8 else sides), colour


def object_polygon(rng: np.random.Generator, sides: int, cx: float,
                   cy: float, radius: float) -> np.ndarray:
    """Vertices (K, 2) of a regular polygon, or a 16-gon ellipse."""
    if sides == 0:
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        rx, ry = radius, radius * rng.uniform(0.5, 0.9)
        return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)],
                        axis=1)
    start = rng.uniform(0, 2 * np.pi)
    angles = start + np.linspace(0, 2 * np.pi, sides, endpoint=False)
    return np.stack(
        [cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)


def polygon_area(poly: np.ndarray) -> float:
    """Shoelace area of a (K, 2) polygon."""
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def make_image(rng: np.random.Generator, label_probs: np.ndarray,
               size: int, max_objects: int) -> Tuple[np.ndarray, List[Dict]]:
    """Draw one image and return it with its objects (label, polygon)."""
    img = rng.normal(110, 25, size=(size, size, 3)).clip(0, 255)
    img = cv2.GaussianBlur(img.astype(np.uint8), (5, 5), 0)
    objects, boxes = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.choice(len(label_probs), p=label_probs))
        sides, colour = category_appearance(label)
        for _try in range(20):
            radius = rng.uniform(0.08, 0.22) * size
            cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
            poly = object_polygon(rng, sides, cx, cy, radius)
            box = np.concatenate([poly.min(0), poly.max(0)])
            if all(box[0] > b[2] or box[2] < b[0] or box[1] > b[3]
                   or box[3] < b[1] for b in boxes):
                break
        else:
            continue
        cv2.fillPoly(img, [np.round(poly).astype(np.int32)], colour)
        boxes.append(box)
        objects.append(dict(label=label, polygon=poly))
    return img, objects


def image_record(img_id: int, size: Union[int, Tuple[int, int]], name: str,
                 neg: List[int], not_exhaustive: List[int]) -> Dict:
    """An LVIS v1 image entry for a synthetic image.

    Args:
        img_id (int): Image id.
        size (int | Tuple[int, int]): Side of a square image, or the
            image's (width, height).
        name (str): ``<split>2017/<id>.jpg``, the path below ``coco_url``'s
            host (where LVISV1Dataset looks for the file).
        neg (List[int]): Verified-absent category ids.
        not_exhaustive (List[int]): Category ids not exhaustively annotated.

    Returns:
        Dict: The image entry.
    """
    width, height = (size, size) if isinstance(size, int) else size
    return dict(
        id=img_id,
        width=width,
        height=height,
        coco_url=COCO_HOST + name,
        flickr_url='',
        date_captured='2013-11-14 11:18:45',
        license=1,
        neg_category_ids=neg,
        not_exhaustive_category_ids=not_exhaustive)


def polygon_annotation(ann_id: int, img_id: int, cat_id: int,
                       poly: np.ndarray) -> Dict:
    """An LVIS annotation of one (K, 2) polygon: segmentation, area, box."""
    x1, y1 = poly.min(0)
    x2, y2 = poly.max(0)
    return dict(
        id=ann_id,
        image_id=img_id,
        category_id=cat_id,
        segmentation=[[round(float(v), 2) for v in poly.ravel()]],
        area=round(polygon_area(poly), 2),
        bbox=[round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)])


def write_lvis_files(out_dir: str, splits: Dict[str, Tuple[List, Annotations]],
                     categories: List[Dict],
                     description: str) -> Dict[str, str]:
    """Write ``annotations/lvis_v1_<split>.json`` for each split.

    The annotations of a split may come as an iterator of lists, written
    as they come, so that a file larger than memory allows can be written;
    the bytes are those of ``json.dump`` of the whole file either way.

    Args:
        out_dir (str): Dataset folder.
        splits (Dict[str, Tuple[List, List | Iterator[List]]]): Per split
            its image entries and its annotations: a list, or an iterator
            of lists (chunks, in file order).
        categories (List[Dict]): The category entries, shared by all splits.
        description (str): ``info.description`` of the files.

    Returns:
        Dict[str, str]: The path of each split's file.
    """
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    paths = {}
    for split, (images, anns) in splits.items():
        paths[split] = osp.join(out_dir, 'annotations',
                                f'lvis_v1_{split}.json')
        head = dict(
            info=dict(description=description, version='1.0', year=2026),
            licenses=[dict(id=1, name='CC0', url='')],
            images=images)
        chunks = [anns] if isinstance(anns, list) else anns
        with open(paths[split], 'w', encoding='utf-8') as f:
            # json.dump's separators (', ', ': '), piece by piece
            f.write(json.dumps(head)[:-1] + ', "annotations": [')
            first = True
            for chunk in chunks:
                if chunk:
                    f.write(('' if first else ', ') + json.dumps(chunk)[1:-1])
                    first = False
            f.write('], "categories": ' + json.dumps(categories) + '}')
    return paths


def generate_split(rng: np.random.Generator, out_dir: str, split: str,
                   num_images: int, first_id: int, label_probs: np.ndarray,
                   image_size: int, max_objects: int) -> Tuple[List, List]:
    """Write one split's images; return its image and annotation dicts."""
    folder = f'{split}2017'
    os.makedirs(osp.join(out_dir, folder), exist_ok=True)
    active = np.flatnonzero(label_probs)
    images, anns = [], []
    for img_id in range(first_id, first_id + num_images):
        img, objects = make_image(rng, label_probs, image_size, max_objects)
        name = f'{folder}/{img_id:012d}.jpg'
        cv2.imwrite(osp.join(out_dir, name), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        present = sorted({o['label'] + 1 for o in objects})
        absent = [int(c) + 1 for c in active if c + 1 not in present]
        neg = sorted(int(c) for c in rng.permutation(absent)[:5])
        not_exhaustive = ([int(rng.choice(present))]
                          if rng.random() < 0.1 else [])
        images.append(image_record(img_id, image_size, name, neg,
                                   not_exhaustive))
        # ids are given over both splits once all are drawn
        anns += [
            polygon_annotation(0, img_id, obj['label'] + 1, obj['polygon'])
            for obj in objects
        ]
    return images, anns


def make_synthetic_lvis(out_dir: str,
                        seed: int = 0,
                        num_train: int = 40,
                        num_val: int = 16,
                        image_size: int = 160,
                        num_active: int = 60,
                        max_objects: int = 5,
                        zipf_exponent: float = 1.1,
                        rare_max: int = 0,
                        common_max: int = 0,
                        only_active: bool = False) -> Dict[str, str]:
    """Write ``annotations/lvis_v1_{train,val}.json`` and the images.

    Args:
        out_dir (str): Output folder (``data_root`` of the configs).
        seed (int): Random seed; the same seed gives the same bytes.
        num_train (int): Training images.
        num_val (int): Validation images.
        image_size (int): Side of the square images.
        num_active (int): Categories that occur; the other LVIS v1
            categories have no instance.
        max_objects (int): Most objects per image.
        zipf_exponent (float): Exponent of the long-tailed category
            distribution.
        rare_max (int): Training-image count up to which a category is
            'r'; 0 chooses 5% of ``num_train`` (LVIS uses 10 images).
        common_max (int): Count up to which it is 'c'; 0 chooses 20% of
            ``num_train`` (LVIS uses 100).
        only_active (bool): List only the ``num_active`` occurring
            categories in the files, which makes a ``num_active``-class
            dataset; otherwise all 1203 LVIS v1 categories are listed.

    Returns:
        Dict[str, str]: Paths of the ``train`` and ``val`` annotation files.
    """
    names = LVISV1Dataset.METAINFO['classes']
    num_classes = len(names)
    if not 0 < num_active <= num_classes:
        raise ValueError(f'num_active must be in [1, {num_classes}].')
    rng = np.random.default_rng(seed)
    active = np.sort(rng.choice(num_classes, num_active, replace=False))
    ranks = rng.permutation(num_active) + 1
    label_probs = np.zeros(num_classes)
    label_probs[active] = ranks**-float(zipf_exponent)
    label_probs /= label_probs.sum()

    splits = {}
    for split, num, first_id in (('train', num_train, 1),
                                 ('val', num_val, 1_000_001)):
        splits[split] = generate_split(rng, out_dir, split, num, first_id,
                                       label_probs, image_size, max_objects)

    train_anns = splits['train'][1]
    image_count = np.zeros(num_classes, dtype=np.int64)
    for cat_id, _ in {(a['category_id'], a['image_id']) for a in train_anns}:
        image_count[cat_id - 1] += 1
    instance_count = np.bincount([a['category_id'] - 1 for a in train_anns],
                                 minlength=num_classes)
    rare_max = rare_max or max(1, round(0.05 * num_train))
    common_max = common_max or max(rare_max + 1, round(0.2 * num_train))
    active_set = set(active.tolist())
    categories = []
    for i, name in enumerate(names):
        if only_active and i not in active_set:
            continue
        count = int(image_count[i])
        freq = 'r' if count <= rare_max else (
            'c' if count <= common_max else 'f')
        categories.append({
            'id': i + 1,
            'name': name,
            'synset': f'{name}.n.01',
            'synonyms': [name],
            'def': f'synthetic category {name}',
            'frequency': freq,
            'image_count': count,
            'instance_count': int(instance_count[i]),
        })

    next_ann_id = 1
    for _images, anns in splits.values():
        for ann in anns:
            ann['id'] = next_ann_id
            next_ann_id += 1
    return write_lvis_files(out_dir, splits, categories,
                            'synthetic LVIS v1 (mmdet-droploss)')


def synthetic_detections(ann: dict,
                         dets_per_image: int,
                         seed: int = 0,
                         with_masks: bool = True) -> List[Dict]:
    """Detections near an LVIS file's ground truth, for metric checks.

    Each object is detected with a jittered box (80% with its own category),
    and the image is filled up to ``dets_per_image`` with false positives
    on its annotated, negative and random categories. Masks are the boxes,
    RLE-encoded.

    Args:
        ann (dict): An LVIS-format annotation dict.
        dets_per_image (int): Detections per image.
        seed (int): Random seed.
        with_masks (bool): Add RLE masks. Defaults to True.

    Returns:
        List[Dict]: Per image ``img_id``, ``bboxes`` (xyxy), ``scores``,
        ``labels`` (label indices) and, with masks, ``masks`` (RLEs): the
        records ``FastLVISMetric.process`` keeps, with ``mask_areas``.
    """
    from pycocotools import mask as mask_util
    rng = np.random.default_rng(seed)
    cat_ids = sorted(c['id'] for c in ann['categories'])
    cat2label = {c: i for i, c in enumerate(cat_ids)}
    by_img: Dict[int, List[Dict]] = {}
    for a in ann['annotations']:
        by_img.setdefault(a['image_id'], []).append(a)
    results = []
    for img in ann['images']:
        height, width = img['height'], img['width']
        objects = by_img.get(img['id'], [])
        cats = img.get('neg_category_ids', []) + [
            a['category_id'] for a in objects
        ]
        boxes, labels, scores = [], [], []
        for a in objects[:dets_per_image]:
            x, y, w, h = a['bbox']
            j = rng.normal(0, 0.05 * max(w, h, 1.0), 4)
            boxes.append([x + j[0], y + j[1], x + w + j[2], y + h + j[3]])
            labels.append(cat2label[a['category_id']] if rng.random() < 0.8
                          else int(rng.integers(len(cat_ids))))
            scores.append(rng.random())
        num_fp = dets_per_image - len(boxes)
        xy = rng.uniform(0, 1, (num_fp, 2)) * [width - 4, height - 4]
        wh = rng.uniform(0.03, 0.4, (num_fp, 2)) * [width, height]
        fp_boxes = np.concatenate([xy, np.minimum(xy + wh, [width, height])],
                                  axis=1)
        use_present = rng.random(num_fp) < 0.7 if cats else np.zeros(
            num_fp, dtype=bool)
        fp_labels = np.where(
            use_present,
            [cat2label[c] for c in rng.choice(cats or [cat_ids[0]], num_fp)],
            rng.integers(len(cat_ids), size=num_fp))
        result = dict(
            img_id=img['id'],
            bboxes=np.concatenate([np.array(boxes).reshape(-1, 4),
                                   fp_boxes]).astype(np.float32),
            scores=np.concatenate([scores,
                                   rng.random(num_fp) * 0.6]).astype(
                                       np.float32),
            labels=np.concatenate([labels, fp_labels]).astype(np.int64))
        if with_masks:
            masks = np.zeros((height, width, len(result['bboxes'])),
                             dtype=np.uint8, order='F')
            for k, (x1, y1, x2, y2) in enumerate(
                    result['bboxes'].round().astype(int)):
                masks[max(y1, 0):y2, max(x1, 0):x2, k] = 1
            result['masks'] = mask_util.encode(masks)
            result['mask_areas'] = masks.sum((0, 1)).astype(np.float32)
        results.append(result)
    return results


def make_synthetic_coco(out_dir: str,
                        classes: Sequence[str],
                        seed: int = 0,
                        num_train: int = 40,
                        num_val: int = 16,
                        image_size: int = 160,
                        max_objects: int = 5) -> Dict[str, str]:
    """A long-tailed COCO-format dataset with its own class list.

    The images and objects of :func:`make_synthetic_lvis` with
    ``len(classes)`` occurring categories, renamed, and the annotation files
    reduced to plain COCO (``file_name``, no LVIS fields) in
    ``annotations/instances_{train,val}.json``.

    Args:
        out_dir (str): Output folder.
        classes (Sequence[str]): Category names, most frequent first.
        seed (int): Random seed.
        num_train (int): Training images.
        num_val (int): Validation images.
        image_size (int): Side of the square images.
        max_objects (int): Most objects per image.

    Returns:
        Dict[str, str]: Paths of the ``train`` and ``val`` annotation files.
    """
    lvis_paths = make_synthetic_lvis(
        out_dir, seed=seed, num_train=num_train, num_val=num_val,
        image_size=image_size, num_active=len(classes),
        max_objects=max_objects)
    with open(lvis_paths['train'], encoding='utf-8') as f:
        train = json.load(f)
    # the most frequent training category becomes classes[0], and so on
    by_count = sorted((c for c in train['categories'] if c['image_count']),
                      key=lambda c: -c['image_count'])
    paths = {}
    for split, lvis_path in lvis_paths.items():
        with open(lvis_path, encoding='utf-8') as f:
            ann = json.load(f)
        os.remove(lvis_path)
        used = {a['category_id'] for a in ann['annotations']}
        ids = [c['id'] for c in by_count]
        ids += sorted(used - set(ids))  # val-only categories, if any
        new_id = {old: i + 1 for i, old in enumerate(ids[:len(classes)])}
        paths[split] = osp.join(out_dir, 'annotations',
                                f'instances_{split}.json')
        with open(paths[split], 'w', encoding='utf-8') as f:
            json.dump(
                dict(
                    images=[
                        dict(id=img['id'], width=img['width'],
                             height=img['height'],
                             file_name=img['coco_url'].replace(
                                 COCO_HOST, ''))
                        for img in ann['images']
                    ],
                    annotations=[
                        dict(a, category_id=new_id[a['category_id']],
                             iscrowd=0) for a in ann['annotations']
                        if a['category_id'] in new_id
                    ],
                    categories=[
                        dict(id=i + 1, name=name)
                        for i, name in enumerate(classes)
                    ]), f)
    return paths


def synthetic_train_batch(root: str,
                          num_images: int = 2,
                          with_mask: bool = True,
                          scale: Optional[Tuple[int, int]] = None) -> dict:
    """The first training images of a synthetic LVIS tree, loaded as the
    training pipeline does and collated: a batch for tests and benchmarks.

    Args:
        root (str): Folder written by :func:`make_synthetic_lvis`.
        num_images (int): Images in the batch. Defaults to 2.
        with_mask (bool): Load the masks too. Defaults to True.
        scale (Tuple[int, int], optional): Resize (keeping the ratio) to
            this scale; None keeps the images' size.

    Returns:
        dict: ``inputs`` and ``data_samples`` for ``data_preprocessor``.
    """
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask)
    ]
    if scale is not None:
        pipeline.append(dict(type='Resize', scale=scale, keep_ratio=True))
    pipeline.append(dict(type='PackDetInputs'))
    dataset = DATASETS.build(
        dict(
            type='LVISV1Dataset',
            data_root=root,
            ann_file='annotations/lvis_v1_train.json',
            data_prefix=dict(img=''),
            pipeline=pipeline))
    return pseudo_collate([dataset[i] for i in range(num_images)])
