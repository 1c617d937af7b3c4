"""LVIS v1-shaped files at a scale: LVIS's counts, federated fields and a
detector's detections, from a category statistics file."""
import json
import runpy
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from lvis import LVIS
from mmdet.datasets import LVISV1Dataset
from pycocotools import mask as mask_util

from mmdet_droploss.testing.lvis_scale import (
    LVIS_V1_TRAIN_IMAGES,
    LVIS_V1_VAL_ANNOTATIONS,
    LVIS_V1_VAL_IMAGES,
    iter_lvis_scale_detections,
    lvis_scale_detections,
    make_lvis_scale,
    rectangle_rles,
)
from mmdet_droploss.testing.synthetic_lvis import polygon_area

REPO = Path(__file__).resolve().parents[2]
TINY_SCALE = 0.01
# the real statistics at this scale: 501 training and 99 validation images
REAL_SCALE = 0.005


def tiny_categories() -> list:
    """24 categories, ids not contiguous and listed out of order, with
    1 to 20,000 training images and 1 to 4 instances per image."""
    image_counts = [1, 2, 4, 9, 10, 11, 30, 60, 99, 100, 101, 180, 300, 550,
                    700, 1000, 1500, 2400, 3000, 4500, 6000, 9000, 14000,
                    20000]
    cats = []
    for k, count in enumerate(image_counts):
        cat_id = 3 * k + 2
        cats.append(dict(
            id=cat_id, name=f'thing_{cat_id}', synset=f'thing.n.{k:02d}',
            synonyms=[f'thing_{cat_id}'], frequency='r' if count <= 10 else
            'c' if count <= 100 else 'f', image_count=count,
            instance_count=count * (1 + k % 4), **{'def': 'a thing'}))
    return cats[::-1]


def write_stats(path: Path, cats: list) -> str:
    path.write_text(json.dumps(dict(dataset='tiny', categories=cats)))
    return str(path)


def generate(stats, root: Path, scale: float) -> dict:
    """Both files (loaded) and the detections of the validation file."""
    info = make_lvis_scale(stats, str(root), scale=scale, seed=0)
    files = {split: json.loads(Path(v['path']).read_text())
             for split, v in info.items()}
    return dict(info=info, root=root, dets=lvis_scale_detections(
        files['val'], 300, seed=0), **files)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp('lvis_scale_tiny')
    stats = write_stats(root / 'stats.json', tiny_categories())
    return dict(generate(stats, root, TINY_SCALE), stats=stats)


_REAL = {}


@pytest.fixture
def real(lvis_stats, tmp_path_factory) -> dict:
    """The real LVIS v1 statistics at REAL_SCALE, generated once."""
    if not _REAL:
        root = tmp_path_factory.mktemp('lvis_scale_real')
        _REAL.update(
            generate(lvis_stats('v1')['categories'], root, REAL_SCALE))
    return _REAL


def per_category(ann: dict) -> tuple:
    """Images and instances of each category id."""
    images, instances = defaultdict(set), defaultdict(int)
    for a in ann['annotations']:
        images[a['category_id']].add(a['image_id'])
        instances[a['category_id']] += 1
    return images, instances


def present_by_image(ann: dict) -> dict:
    present = defaultdict(set)
    for a in ann['annotations']:
        present[a['image_id']].add(a['category_id'])
    return present


@pytest.mark.parametrize('which', ['tiny', 'real'])
def test_train_counts_are_the_scaled_statistics(which, request):
    data = request.getfixturevalue(which)
    scale = TINY_SCALE if which == 'tiny' else REAL_SCALE
    stats = (tiny_categories() if which == 'tiny' else
             request.getfixturevalue('lvis_stats')('v1')['categories'])
    train = data['train']
    assert len(train['images']) == round(LVIS_V1_TRAIN_IMAGES * scale)
    images, instances = per_category(train)
    listed = {c['id']: c for c in train['categories']}
    assert [c['id'] for c in train['categories']] == sorted(
        c['id'] for c in stats)
    for cat in stats:
        num_images = max(1, round(cat['image_count'] * scale))
        num_instances = max(num_images, round(cat['instance_count'] * scale))
        assert len(images[cat['id']]) == num_images
        assert instances[cat['id']] == num_instances
        # the file's statistics are its own; the rest is the stats file's
        assert listed[cat['id']] == dict(cat, image_count=num_images,
                                         instance_count=num_instances)
    assert data['info']['train']['annotations'] == len(train['annotations'])


def test_val_counts(tiny):
    val = tiny['val']
    assert len(val['images']) == round(LVIS_V1_VAL_IMAGES * TINY_SCALE)
    assert len(val['annotations']) == round(LVIS_V1_VAL_ANNOTATIONS *
                                            TINY_SCALE)
    assert val['categories'] == tiny['train']['categories']
    # ids: validation's apart from training's
    train_ids = {a['id'] for a in tiny['train']['annotations']}
    val_ids = [a['id'] for a in val['annotations']]
    assert len(set(val_ids)) == len(val_ids) and not train_ids & set(val_ids)
    assert not ({i['id'] for i in tiny['train']['images']}
                & {i['id'] for i in val['images']})


@pytest.mark.parametrize('split', ['train', 'val'])
def test_polygons_boxes_and_areas_agree(tiny, split):
    sizes = {i['id']: (i['width'], i['height']) for i in tiny[split]['images']}
    assert set(sizes.values()) <= {(640, 480), (640, 427), (480, 640),
                                   (427, 640), (640, 426), (640, 424),
                                   (640, 640), (500, 375), (612, 612),
                                   (375, 500), (640, 428), (640, 360),
                                   (640, 512)}
    for a in tiny[split]['annotations']:
        assert 'iscrowd' not in a and len(a['segmentation']) == 1
        coords = a['segmentation'][0]
        assert all(round(v, 2) == v for v in coords)
        poly = np.array(coords).reshape(-1, 2)
        assert len(poly) >= 4
        x, y, w, h = a['bbox']
        assert (x, y) == tuple(poly.min(0))
        assert (w, h) == tuple((poly.max(0) - poly.min(0)).round(2))
        assert abs(a['area'] - polygon_area(poly)) <= 0.01 + 1e-9 * a['area']
        assert a['area'] > 0
        width, height = sizes[a['image_id']]
        assert 0 <= x and x + w <= width + 1e-9
        assert 0 <= y and y + h <= height + 1e-9


def test_polygons_have_lvis_vertex_counts(real):
    """A few tens of vertices, more on larger objects: the training file
    then has LVIS v1's size (1.1 GB) at full scale."""
    anns = real['train']['annotations']
    vertices = np.array([len(a['segmentation'][0]) // 2 for a in anns])
    area = np.array([a['area'] for a in anns])
    assert 38 < vertices.mean() < 50
    assert np.median(vertices[area < 32**2]) < np.median(
        vertices[area > 96**2])
    size = Path(real['info']['train']['path']).stat().st_size
    assert 1.0e9 < size / len(anns) * 1_270_141 < 1.2e9


def test_files_load_with_lvis_and_mmdet(real):
    for split, info in real['info'].items():
        lvis = LVIS(info['path'])
        assert len(lvis.get_img_ids()) == info['images']
        assert len(lvis.get_ann_ids()) == info['annotations']
    dataset = LVISV1Dataset(
        data_root=str(real['root']), ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''), pipeline=[])
    assert dataset.metainfo['classes'] == LVISV1Dataset.METAINFO['classes']
    assert len(dataset) == real['info']['val']['images']
    sample = dataset.get_data_info(0)
    img = real['val']['images'][0]
    assert sample['img_path'].endswith(f'val2017/{img["id"]:012d}.jpg')
    assert (sample['width'], sample['height']) == (img['width'],
                                                   img['height'])
    assert len(sample['instances']) == sum(
        a['image_id'] == img['id'] for a in real['val']['annotations'])


def test_val_judges_about_one_percent(real):
    val = real['val']
    present = present_by_image(val)
    judged = []
    for img in val['images']:
        here = present[img['id']]
        negs = set(img['neg_category_ids'])
        assert not negs & here and negs and len(negs) == len(
            img['neg_category_ids'])
        assert set(img['not_exhaustive_category_ids']) <= here
        judged.append(len(here | negs) / len(val['categories']))
    assert 0.009 < np.mean(judged) < 0.011
    assert max(judged) < 0.02
    # LVIS lists a few negatives per image, and marks a few images
    assert 5 < np.mean([len(i['neg_category_ids'])
                        for i in val['images']]) < 11
    marked = np.mean([bool(i['not_exhaustive_category_ids'])
                      for i in val['images']])
    assert 0.05 < marked < 0.4


def test_val_has_categories_in_their_training_share(real, lvis_stats):
    """Each category is in its LVIS training share of the validation images
    rounded down or up (at random): one expected in an image or more is
    always there, a rare one often not, as on LVIS v1 val."""
    images, _ = per_category(real['val'])
    num_val = len(real['val']['images'])
    missing = 0
    for cat in lvis_stats('v1')['categories']:
        expected = cat['image_count'] * num_val / LVIS_V1_TRAIN_IMAGES
        assert np.floor(expected) <= len(images[cat['id']]) <= np.ceil(
            expected)
        missing += not images[cat['id']]
    assert 0 < missing < 1203


def test_detections_format(tiny):
    sizes = {i['id']: (i['height'], i['width']) for i in tiny['val']['images']}
    assert [r['img_id'] for r in tiny['dets']] == [
        i['id'] for i in tiny['val']['images']]
    for r in tiny['dets']:
        h, w = sizes[r['img_id']]
        assert isinstance(r['img_id'], int)
        assert r['bboxes'].dtype == np.float32 and r['bboxes'].shape == (300,
                                                                         4)
        assert r['scores'].dtype == np.float32 and r['scores'].shape == (300, )
        assert r['labels'].dtype == np.int64 and r['labels'].shape == (300, )
        assert r['mask_areas'].dtype == np.float32
        assert np.all(np.diff(r['scores']) <= 0)
        assert 0 <= r['labels'].min()
        assert r['labels'].max() < len(tiny['val']['categories'])
        x1, y1, x2, y2 = r['bboxes'].T
        assert np.all((0 <= x1) & (x1 < x2) & (x2 <= w))
        assert np.all((0 <= y1) & (y1 < y2) & (y2 <= h))
        assert len(r['masks']) == 300
        assert all(m['size'] == [h, w] and isinstance(m['counts'], bytes)
                   for m in r['masks'])
    r = tiny['dets'][0]
    dense = mask_util.decode(r['masks'])
    assert np.array_equal(dense.sum((0, 1)), r['mask_areas'])


@pytest.mark.parametrize('dets_per_image', [0, 1, 7])
def test_detections_per_image(tiny, dets_per_image):
    for r in iter_lvis_scale_detections(tiny['val'], dets_per_image):
        assert len(r['scores']) == len(r['masks']) == len(
            r['mask_areas']) == r['bboxes'].shape[0] == dets_per_image


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes, (n, m)."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None] - inter)


def test_detections_are_a_detectors(real):
    """Most detections are on categories the image does not judge; about
    recall x right_label (0.64) of the objects have a detection of their
    category at IoU 0.5, with a high score."""
    val = real['val']
    label_of = {c['id']: k for k, c in enumerate(val['categories'])}
    objects = defaultdict(list)
    for a in val['annotations']:
        objects[a['image_id']].append(a)
    unjudged, found, total = [], 0, 0
    for img, r in zip(val['images'], real['dets']):
        judged = {label_of[a['category_id']] for a in objects[img['id']]}
        judged |= {label_of[c] for c in img['neg_category_ids']}
        unjudged.append(np.mean([k not in judged for k in r['labels']]))
        for a in objects[img['id']]:
            x, y, w, h = a['bbox']
            iou = box_iou(np.array([[x, y, x + w, y + h]]), r['bboxes'])[0]
            hit = (iou >= 0.5) & (r['labels'] == label_of[a['category_id']])
            found += bool(np.any(hit & (r['scores'] > 0.3)))
            total += 1
    assert 0.8 < np.mean(unjudged) < 0.95 and min(unjudged) > 0.6
    assert 0.5 < found / total < 0.8


def test_same_seed_same_bytes(tiny, tmp_path, tree_digest):
    for name, seed, splits in (('a', 0, ['train', 'val']),
                               ('b', 0, ['train', 'val']),
                               ('c', 1, ['train', 'val']),
                               ('val_only', 0, ['val'])):
        make_lvis_scale(tiny['stats'], str(tmp_path / name), scale=0.003,
                        seed=seed, splits=splits)
    assert tree_digest(tmp_path / 'a') == tree_digest(tmp_path / 'b')
    assert tree_digest(tmp_path / 'a') != tree_digest(tmp_path / 'c')
    # a split's bytes do not depend on the others being written
    val = 'annotations/lvis_v1_val.json'
    assert ((tmp_path / 'a' / val).read_bytes() ==
            (tmp_path / 'val_only' / val).read_bytes())


def test_same_seed_same_detections(tiny):
    a = lvis_scale_detections(tiny['val'], 20, seed=5)
    b = list(iter_lvis_scale_detections(tiny['val'], 20, seed=5))
    c = lvis_scale_detections(tiny['val'], 20, seed=6)
    for ra, rb in zip(a, b):
        assert ra['masks'] == rb['masks']
        for key in ('bboxes', 'scores', 'labels', 'mask_areas'):
            assert np.array_equal(ra[key], rb[key])
    assert not np.array_equal(a[0]['scores'], c[0]['scores'])


@pytest.mark.parametrize('height, width', [(480, 640), (7, 5), (1, 1),
                                           (3, 9)])
def test_rectangle_rles_are_pycocotools_bytes(height, width):
    rng = np.random.default_rng(height * width)
    x1 = rng.integers(0, width, 200)
    y1 = rng.integers(0, height, 200)
    x2 = x1 + 1 + (rng.random(200) * (width - x1)).astype(int)
    y2 = y1 + 1 + (rng.random(200) * (height - y1)).astype(int)
    # full-height and full-image boxes too (one run of ones)
    boxes = np.concatenate([np.stack([x1, y1, x2, y2], axis=1),
                            [[0, 0, width, height], [0, 0, 1, height]]])
    dense = np.zeros((height, width, len(boxes)), np.uint8, order='F')
    for k, (a, b, c, d) in enumerate(boxes):
        dense[b:d, a:c, k] = 1
    assert rectangle_rles(boxes, height, width) == mask_util.encode(dense)


@pytest.mark.parametrize('scale, problem', [
    (0, r'scale must be in \(0, 1\]'),
    (-0.1, r'scale must be in \(0, 1\]'),
    (1.5, r'scale must be in \(0, 1\].*pass e\.g\. 0\.1'),
    (float('nan'), r'scale must be in \(0, 1\]'),
    (1e-6, 'leaves no validation image; pass at least'),
])
def test_bad_scale(tiny, tmp_path, scale, problem):
    with pytest.raises(ValueError, match=problem):
        make_lvis_scale(tiny['stats'], str(tmp_path), scale=scale)
    assert not (tmp_path / 'annotations').exists()


@pytest.mark.parametrize('content, problem', [
    ('not json', 'cannot read .* as JSON'),
    ('[1, 2]', 'has no "categories" list'),
    ('{"categories": []}', 'has no "categories" list'),
    ('{"categories": [{"id": 4, "name": "x"}]}',
     'category 4 of .* lacks frequency, image_count, instance_count'),
    ('{"categories": [{"id": 4, "name": "x", "frequency": "r", '
     '"image_count": 5, "instance_count": 3}]}',
     'image_count 5 must be in'),
])
def test_bad_stats_file(tmp_path, content, problem):
    path = tmp_path / 'stats.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=problem):
        make_lvis_scale(str(path), str(tmp_path / 'out'), scale=0.01)


def test_missing_stats_file(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='not found: pass the path of the LVIS v1'):
        make_lvis_scale(str(tmp_path / 'absent.json'), str(tmp_path))


def run_tool(monkeypatch, *args: str) -> None:
    monkeypatch.setattr('sys.argv', ['make_lvis_scale.py', *args])
    runpy.run_path(str(REPO / 'tools/misc/make_lvis_scale.py'),
                   run_name='__main__')


def test_tool_reports_what_it_wrote(tiny, tmp_path, monkeypatch, capsys):
    run_tool(monkeypatch, tiny['stats'], '--out', str(tmp_path), '--scale',
             '0.002', '--dets-per-image', '10', '--save-dets')
    out = capsys.readouterr().out
    val = json.loads((tmp_path / 'annotations/lvis_v1_val.json').read_text())
    assert (f'train: {tmp_path}/annotations/lvis_v1_train.json: 200 images, '
            in out)
    assert (f'val: {tmp_path}/annotations/lvis_v1_val.json: 40 images, '
            f'{len(val["annotations"])} annotations, ') in out
    assert 'detections: 400 on 40 validation images' in out
    assert (tmp_path / 'lvis_v1_val_dets.pkl').is_file()


@pytest.mark.parametrize('args, problem', [
    (['--scale', '2'], r'error: scale must be in \(0, 1\]'),
    (['--dets-per-image', '-1'], 'error: --dets-per-image must be >= 0'),
])
def test_tool_errors(tiny, tmp_path, monkeypatch, args, problem):
    with pytest.raises(SystemExit, match=problem):
        run_tool(monkeypatch, tiny['stats'], '--out', str(tmp_path), *args)


def test_tool_missing_stats_file(tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match='error: category statistics file '
                       '.* not found'):
        run_tool(monkeypatch, str(tmp_path / 'absent.json'), '--out',
                 str(tmp_path))
